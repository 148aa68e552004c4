"""Quota and memory-mode sizing from a write rate, using the measured backend growth.

The growth figure comes from `bench/capacity.py` (docs/capacity.md): KafScale's offset writes
cost 112 bytes of bbolt backend per revision on etcd 3.4.23 and 3.5.1 alike, one member or three.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kafscale.durations import human_seconds, periodic_retention_nanos
from kafscale.objects.statefulset import MEMORY_HEADROOM_BYTES
from kafscale.quantities import format_binary_si
from kafscale.settings import EtcdSettings

MEASURED_BYTES_PER_REVISION = 112
SAFETY_FACTOR = 2.0  # bursts, fragmentation that compaction leaves until a defrag, larger values
MINIMUM_QUOTA_BYTES = 2 * 1024**3  # etcd's own default quota: never recommend less
PERIODIC_MAX_INTERVAL_S = 3600  # etcd compacts at least hourly in periodic mode
REVISION_POLL_S = 300  # etcd's revision compactor looks every 5 minutes
MIB = 1024**2


@dataclass(frozen=True)
class Recommendation:
    write_rate: float
    mode: str
    retention: str
    history_revisions: int
    history_bytes: int
    quota_bytes: int

    @property
    def memory_request(self) -> str:
        return format_binary_si(self.quota_bytes)

    @property
    def memory_limit(self) -> str:
        return format_binary_si(self.quota_bytes + MEMORY_HEADROOM_BYTES)

    def lines(self) -> list[str]:
        floor = format_binary_si(MINIMUM_QUOTA_BYTES)
        return [
            f"write rate: {self.write_rate:g} writes/s, {self.mode} compaction, retention {self.retention}",
            f"history kept just before a compaction: {self.history_revisions:,} revisions x "
            f"{MEASURED_BYTES_PER_REVISION} B = {self.history_bytes / MIB:,.0f} MiB",
            f"recommended quota (x{SAFETY_FACTOR:g} safety, at least {floor}): "
            f"{self.quota_bytes} bytes ({format_binary_si(self.quota_bytes)})",
            f"  pulumi config set kafscale:etcdQuotaBackendBytes {format_binary_si(self.quota_bytes)}",
            f"memory mode: request {self.memory_request}, limit {self.memory_limit}",
        ]


def history_revisions(write_rate: float, mode: str, retention: str) -> int:
    """Revisions the backend holds just before a compaction frees the oldest."""
    if mode == "periodic":
        nanos = periodic_retention_nanos(retention)
        if nanos is None or nanos == 0:
            raise ValueError(f"periodic retention {retention!r} does not compact: no size holds")
        retention_s = nanos / 1e9
        # Under an hour etcd compacts every retention; from an hour on, hourly.
        interval_s = min(retention_s, PERIODIC_MAX_INTERVAL_S)
        return math.ceil(write_rate * (retention_s + interval_s))
    return int(retention) + math.ceil(write_rate * REVISION_POLL_S)


def recommend(write_rate: float, mode: str, retention: str) -> Recommendation:
    if write_rate <= 0:
        raise ValueError("the write rate must be positive")
    revisions = history_revisions(write_rate, mode, retention)
    history_bytes = revisions * MEASURED_BYTES_PER_REVISION
    quota = max(MINIMUM_QUOTA_BYTES, math.ceil(history_bytes * SAFETY_FACTOR / MIB) * MIB)
    return Recommendation(write_rate, mode, retention, revisions, history_bytes, quota)


def quota_warning(settings: EtcdSettings) -> str | None:
    """A preview warning when the configured quota is below what the expected rate needs."""
    if settings.expected_write_rate is None or not settings.managed:
        return None
    needed = recommend(
        settings.expected_write_rate, settings.auto_compaction_mode, settings.auto_compaction_retention
    )
    if settings.quota_backend_bytes >= needed.quota_bytes:
        return None
    return (
        f"kafscale:etcdQuotaBackendBytes: {settings.quota_backend_bytes} is below the "
        f"{needed.quota_bytes} ({format_binary_si(needed.quota_bytes)}) recommended for "
        f"kafscale:etcdExpectedWriteRate {settings.expected_write_rate:g} writes/s with "
        f"{settings.auto_compaction_mode} retention {settings.auto_compaction_retention}; "
        f"without compaction it would fill in {human_seconds(_fill_seconds(settings))}"
    )


def _fill_seconds(settings: EtcdSettings) -> float:
    assert settings.expected_write_rate is not None
    return settings.quota_backend_bytes / (settings.expected_write_rate * MEASURED_BYTES_PER_REVISION)
