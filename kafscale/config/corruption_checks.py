"""etcd's corruption checks, in the config-file keys the image's etcd version reads. Pure.

etcd compares members' hashes only when asked (etcd.io/docs/v3.5/op-guide/data_corruption):
- the initial check: a member whose data differs from its peers' refuses to start;
- the periodic check, run by the leader over the latest revision: raises the CORRUPT alarm;
- the compacted-revision check (3.5.5 on), run by the leader after each compaction: the cheap
  one, which also raises CORRUPT.

The names changed across versions (etcd's CHANGELOG-3.3/3.5/3.6/3.7 and config.go):
- 3.4 and 3.5: `experimental-initial-corrupt-check`, `experimental-corrupt-check-time`, and from
  3.5.5 `experimental-compact-hash-check-enabled`;
- 3.6 on: the `InitialCorruptCheck` and `CompactHashCheck` feature gates and `corrupt-check-time`.
  3.6 still reads the experimental names (deprecated); 3.7 removed them, and its config file
  ignores what it does not know.

A config file is not checked for unknown keys (measured on 3.4.23 and 3.5.1: a misspelled key is
ignored and etcd starts without the check), so the tests prove each rendered key by its effect,
etcd's own log line, not by a successful start.
"""

from __future__ import annotations

from kafscale.config.etcd_versions import EtcdVersion

FEATURE_GATES_SINCE: EtcdVersion = (3, 6, 0)
COMPACT_HASH_CHECK_SINCE: EtcdVersion = (3, 5, 5)

ConfigValue = str | int | bool


def _nanoseconds(seconds: int) -> int:
    """A Go time.Duration in a config file is an integer of nanoseconds (a "15m" string is refused
    by 3.4.23 and 3.5.1: `cannot unmarshal string into ... of type time.Duration`)."""
    return seconds * 1_000_000_000


def corruption_check_config(version: EtcdVersion | None, interval_s: int) -> dict[str, ConfigValue]:
    """The config-file keys that turn the checks on for `version` (None: the tag names no
    version; the names 3.4 to 3.6 all read, see `UNVERSIONED_CAVEAT`), the leader's periodic
    full-hash check every `interval_s` (it scans every member's backend at the leader's revision:
    small for KafScale's compacted offsets; a divergence is seen within one interval)."""
    interval = _nanoseconds(interval_s)
    if version is not None and version >= FEATURE_GATES_SINCE:
        return {
            "feature-gates": "InitialCorruptCheck=true,CompactHashCheck=true",
            "corrupt-check-time": interval,
        }
    config: dict[str, ConfigValue] = {
        "experimental-initial-corrupt-check": True,
        "experimental-corrupt-check-time": interval,
    }
    if version is not None and version >= COMPACT_HASH_CHECK_SINCE:
        config["experimental-compact-hash-check-enabled"] = True
    return config


UNVERSIONED_CAVEAT = (
    "names no etcd version, so the corruption checks use the names etcd 3.4 to 3.6 read "
    "(experimental-initial-corrupt-check, experimental-corrupt-check-time); etcd 3.7 ignores them "
    "and would run without checks: use a versioned tag"
)
