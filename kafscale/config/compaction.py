"""When etcd's automatic compaction runs, per mode (the same in etcd 3.4 to 3.6)."""

from __future__ import annotations

from kafscale.config.durations import periodic_retention_nanos

# Revision mode: the compactor looks every 5 minutes and keeps the last `retention` revisions.
REVISION_POLL_S = 300
# Periodic mode: every retention period while it is under an hour, hourly from an hour on.
PERIODIC_MAX_INTERVAL_S = 3600


def compaction_interval_s(mode: str, retention: str) -> float | None:
    """Seconds between two automatic compactions; None when a periodic retention of 0 disables
    compaction (or the retention is not one etcd reads)."""
    if mode == "revision":
        return float(REVISION_POLL_S)
    nanos = periodic_retention_nanos(retention)
    if not nanos:
        return None
    return min(nanos / 1e9, PERIODIC_MAX_INTERVAL_S)
