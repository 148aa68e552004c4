"""Network partitions between the lab's pods: packet-filter rules (Debian's iptables) on loopback.

Every pod has its own loopback address, but on loopback a connection leaves from 127.0.0.1
whatever pod opens it (the kernel's source address for the `local 127.0.0.0/8` route), so a rule
cannot tell the sending pod by its address. Each pod's processes therefore live in a cgroup v2
group of their own, and a rule matches the sending pod's group (`-m cgroup --path`) and the
receiving pod's address: one rule each way per pair of pods, in the OUTPUT chain, which every
locally sent packet crosses. Dropped, not rejected: a partitioned peer is silent, as behind a
network fault, and connections time out. Every rule carries the cluster's own comment and is
removed when the partition heals, and again, whatever is left, when the cluster stops.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

COMMENT_PREFIX = "kafscale-lab-"


class PartitionError(RuntimeError):
    """The partition could not be made here (no iptables, no writable cgroup v2)."""


def cgroup2_root() -> Path | None:
    """Where the cgroup v2 hierarchy is mounted (`/sys/fs/cgroup` or, in a hybrid setup,
    `/sys/fs/cgroup/unified`); None without one."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/mounts").read_text().splitlines():
            fields = line.split()
            if len(fields) > 2 and fields[2] == "cgroup2":
                return Path(fields[1])
    return None


@dataclass
class PodGroups:
    """One cgroup per pod of one cluster, under `<cgroup2 root>/<tag>/<pod>`."""

    root: Path
    tag: str = field(default_factory=lambda: f"{COMMENT_PREFIX}{uuid.uuid4().hex[:12]}")

    @classmethod
    def create(cls) -> PodGroups | None:
        """None where no cgroup v2 hierarchy can be written (then no partition can be made)."""
        root = cgroup2_root()
        if root is None:
            return None
        groups = cls(root)
        try:
            groups.base.mkdir()
        except OSError:
            return None
        return groups

    @property
    def base(self) -> Path:
        return self.root / self.tag

    def path(self, pod: str) -> str:
        """The group's path as `-m cgroup --path` takes it: relative to the hierarchy's root."""
        return f"{self.tag}/{pod}"

    def procs_file(self, pod: str) -> Path:
        """Write a process ID here to move that process (and its later children) into the pod."""
        directory = self.base / pod
        directory.mkdir(exist_ok=True)
        return directory / "cgroup.procs"

    def remove(self, deadline_s: float = 10.0) -> None:
        """Remove every rule left with this tag, end every process still in a group (cgroup.kill),
        then the groups."""
        remove_rules(self.tag)
        with contextlib.suppress(OSError):
            (self.base / "cgroup.kill").write_text("1")
        deadline = time.monotonic() + deadline_s
        for directory in sorted(p for p in self.base.iterdir() if p.is_dir()):
            while (directory / "cgroup.procs").read_text().strip() and time.monotonic() < deadline:
                time.sleep(0.05)
            with contextlib.suppress(OSError):
                directory.rmdir()
        with contextlib.suppress(OSError):
            self.base.rmdir()


def _iptables() -> str:
    found = shutil.which("iptables")
    if found is None:
        raise PartitionError("iptables is missing (make setup installs Debian's iptables)")
    return found


def _rule(groups: PodGroups, sender: str, address: str, verdict: tuple[str, ...] = ("DROP",)) -> list[str]:
    """`verdict` for every packet `sender` sends to `address` (a TCP reset needs `-p tcp`)."""
    protocol = ["-p", "tcp"] if "tcp-reset" in verdict else []
    return [
        "OUTPUT",
        *protocol,
        "-m", "cgroup", "--path", groups.path(sender),
        "-d", f"{address}/32",
        "-m", "comment", "--comment", groups.tag,
        "-j", *verdict,
    ]  # fmt: skip


def remove_rules(tag: str) -> None:
    """Delete every rule whose comment is `tag`: the filter table's OUTPUT chain (partitions) and
    the nat table's POSTROUTING chain (own source addresses)."""
    iptables = shutil.which("iptables")
    if iptables is None:
        return
    for table, chain in (("filter", "OUTPUT"), ("nat", "POSTROUTING")):
        listed = subprocess.run(
            [iptables, "-t", table, "-S", chain], capture_output=True, text=True, check=False
        )
        for line in listed.stdout.splitlines():
            if f"--comment {tag}" in line and line.startswith("-A "):
                subprocess.run(
                    [iptables, "-t", table, "-D", *line.split()[1:]], capture_output=True, check=False
                )


@contextlib.contextmanager
def own_source_addresses(groups: PodGroups, pods: Sequence[tuple[str, str]]) -> Iterator[None]:
    """Each pod's connections leave from its own address (`(pod, address)` pairs), as from a pod's
    IP in a pod network, until the block ends: a SNAT rule per pod's group in the nat table's
    POSTROUTING chain, which every locally sent packet crosses after routing (so partitions,
    which match the destination in OUTPUT, are unchanged). What a peer sees as the remote address
    is then the sending pod's, as etcd's peer certificate check needs (its DNS names must resolve
    to the connecting address)."""
    rules = [_source_rule(groups, pod, address) for pod, address in pods]
    with _rules_in_place(groups, [pod for pod, _ in pods], rules, table="nat"):
        yield


def _source_rule(groups: PodGroups, pod: str, address: str) -> list[str]:
    return [
        "POSTROUTING", "-o", "lo",
        "-m", "cgroup", "--path", groups.path(pod),
        "-m", "comment", "--comment", groups.tag,
        "-j", "SNAT", "--to-source", address,
    ]  # fmt: skip


@contextlib.contextmanager
def partition(
    groups: PodGroups, side_a: Sequence[tuple[str, str]], side_b: Sequence[tuple[str, str]]
) -> Iterator[None]:
    """Cut every pod of `side_a` off from every pod of `side_b` ((pod, address) pairs), both
    ways, until the block ends."""
    rules = []
    for pod_a, address_a in side_a:
        for pod_b, address_b in side_b:
            rules += [_rule(groups, pod_a, address_b), _rule(groups, pod_b, address_a)]
    with _rules_in_place(groups, [pod for pod, _ in [*side_a, *side_b]], rules):
        yield


@contextlib.contextmanager
def refused(groups: PodGroups, pods: Sequence[str], address: str) -> Iterator[None]:
    """Every connection from `pods` to `address` refused (a TCP reset, as an egress firewall or
    a service that is down answers), until the block ends: the pods cannot reach a service
    outside them, such as the S3 endpoint, and learn so at once."""
    verdict = ("REJECT", "--reject-with", "tcp-reset")
    with _rules_in_place(groups, pods, [_rule(groups, pod, address, verdict) for pod in pods]):
        yield


@contextlib.contextmanager
def _rules_in_place(
    groups: PodGroups, pods: Sequence[str], rules: Sequence[list[str]], table: str = "filter"
) -> Iterator[None]:
    """`rules` inserted into `table` until the block ends, then deleted, whatever happened inside."""
    iptables = [_iptables(), "-t", table]
    for pod in pods:
        groups.procs_file(pod)  # iptables matches only a group that exists
    added: list[list[str]] = []
    try:
        for rule in rules:
            made = subprocess.run([*iptables, "-I", *rule], capture_output=True, text=True)
            if made.returncode != 0:
                raise PartitionError(f"iptables -t {table} -I {' '.join(rule)}: {made.stderr.strip()}")
            added.append(rule)
        yield
    finally:
        for rule in added:
            subprocess.run([*iptables, "-D", *rule], capture_output=True, check=False)
