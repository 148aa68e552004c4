"""What an etcd image tag says about the etcd inside it. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

EtcdVersion = tuple[int, int, int]

_TAG_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:[-+._].*)?$")

# `/health?exclude=NOSPACE` ignores only the first NOSPACE alarm before 3.4.19 and 3.5.2, so with
# more than one member over quota it answers 503 (etcd-io/etcd#13475, #13476; measured on 3.5.1).
NOSPACE_EXCLUSION_FIXED: tuple[EtcdVersion, ...] = ((3, 4, 19), (3, 5, 2))


@dataclass(frozen=True)
class KnownDefect:
    """An etcd build range with a defect that loses data, diverges members or stops a member
    from starting, from etcd's changelogs."""

    first: EtcdVersion  # the first affected version
    fixed: EtcdVersion  # the first version with the fix
    link: str
    what: str

    def affects(self, version: EtcdVersion) -> bool:
        return self.first <= version < self.fixed


# From etcd's own changelogs (CHANGELOG/README.md: "minimum recommended ... in production are
# v3.4.22+ and v3.5.6+"). The first two reproduce as a member whose revision and hash part from
# the others' (tests/test_divergence_drill.py); the third is the sequence a rejoin and a
# scale-down produce (kafscale/scripts/etcd-member.sh).
KNOWN_DEFECTS: tuple[KnownDefect, ...] = (
    KnownDefect(
        (3, 5, 0),
        (3, 5, 3),
        "https://github.com/etcd-io/etcd/issues/13766",
        "a member killed under load can miss committed writes for good (data inconsistency)",
    ),
    KnownDefect(
        (3, 5, 0),
        (3, 5, 6),
        "https://github.com/etcd-io/etcd/issues/14685",
        "a member killed during a defragmentation (the maintenance CronJob's) can part from the "
        "others' revision and data for good",
    ),
    KnownDefect(
        (3, 6, 0),
        (3, 6, 4),
        "https://github.com/etcd-io/etcd/issues/20340",
        "a member can fail to start again after a member rejoined as a learner and another was removed",
    ),
)


def known_defects(version: EtcdVersion) -> list[KnownDefect]:
    return [defect for defect in KNOWN_DEFECTS if defect.affects(version)]


def image_etcd_version(image: str) -> EtcdVersion | None:
    """The etcd version in an image tag (`kubesphere/etcd:3.6.4-0`, `quay.io/coreos/etcd:v3.5.1`).

    None when the reference has no tag, is pinned by digest only, or its tag is not a version.
    """
    reference = image.split("@", 1)[0]
    last_segment = reference.rsplit("/", 1)[-1]
    if ":" not in last_segment:
        return None
    return parse_version(last_segment.rsplit(":", 1)[1])


def parse_version(text: str) -> EtcdVersion | None:
    """`3.5.1`, `v3.6.4`, `3.6.4-0` -> (major, minor, patch); None for anything else."""
    match = _TAG_VERSION.match(text)
    if match is None:
        return None
    major, minor, patch = (int(group) for group in match.groups())
    return major, minor, patch


def excludes_every_nospace_alarm(version: EtcdVersion) -> bool:
    """True when `/health?exclude=NOSPACE` stays healthy however many members raised NOSPACE."""
    fixed_in_3_4, fixed_in_3_5 = NOSPACE_EXCLUSION_FIXED
    return version >= fixed_in_3_5 or fixed_in_3_4 <= version < (3, 5, 0)


def format_version(version: EtcdVersion) -> str:
    return ".".join(str(part) for part in version)
