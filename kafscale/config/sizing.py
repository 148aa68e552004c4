"""Quota and memory-mode sizing from a write rate, using the measured backend growth.

The growth figure comes from `bench/capacity.py` (docs/capacity.md): KafScale's offset writes
cost 112 bytes of bbolt backend per revision on etcd 3.4.23 and 3.5.1 alike, one member or three.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kafscale.config import keys
from kafscale.config.compaction import compaction_interval_s
from kafscale.config.durations import human_seconds, periodic_retention_nanos
from kafscale.config.quantities import format_binary_si
from kafscale.config.rules import MAX_BACKEND_BYTES
from kafscale.config.settings import EtcdSettings
from kafscale.config.tmpfs_footprint import (
    DEFRAG_COPY_DIVISOR,
    MEASURED_HEAP_BYTES,
    MEASURED_SNAPSHOT_BYTES,
    MEASURED_WAL_BYTES,
    defrag_copy_bytes,
)

MEASURED_BYTES_PER_REVISION = 112
SAFETY_FACTOR = 2.0  # bursts, fragmentation that compaction leaves until a defrag, larger values
MINIMUM_QUOTA_BYTES = 2 * 1024**3  # etcd's own default quota: never recommend less
MIB = 1024**2
DEFRAG_COPY_SHOWN = f"x{1 + 1 / DEFRAG_COPY_DIVISOR:g}"


@dataclass(frozen=True)
class Recommendation:
    write_rate: float
    mode: str
    retention: str
    history_revisions: int
    history_bytes: int
    quota_bytes: int
    memory_headroom_bytes: int

    @property
    def memory_request(self) -> str:
        return format_binary_si(self.quota_bytes)

    @property
    def memory_limit(self) -> str:
        return format_binary_si(self.quota_bytes + self.memory_headroom_bytes)

    def lines(self) -> list[str]:
        floor = format_binary_si(MINIMUM_QUOTA_BYTES)
        return [
            f"write rate: {self.write_rate:g} writes/s, {self.mode} compaction, retention {self.retention}",
            f"history kept just before a compaction: {self.history_revisions:,} revisions x "
            f"{MEASURED_BYTES_PER_REVISION} B = {self.history_bytes / MIB:,.0f} MiB",
            f"recommended quota (x{SAFETY_FACTOR:g} safety, at least {floor}): "
            f"{self.quota_bytes} bytes ({format_binary_si(self.quota_bytes)})",
            f"  pulumi config set kafscale:etcdQuotaBackendBytes {format_binary_si(self.quota_bytes)}",
            f"memory mode: request {self.memory_request}, limit {self.memory_limit} "
            f"(quota + {format_binary_si(self.memory_headroom_bytes)} headroom)",
        ]


def history_revisions(write_rate: float, mode: str, retention: str) -> int:
    """Revisions the backend holds just before a compaction frees the oldest."""
    interval_s = compaction_interval_s(mode, retention)
    if interval_s is None:
        raise ValueError(f"periodic retention {retention!r} does not compact: no size holds")
    if mode == "periodic":
        retention_s = (periodic_retention_nanos(retention) or 0) / 1e9
        return math.ceil(write_rate * (retention_s + interval_s))
    return int(retention) + math.ceil(write_rate * interval_s)


def recommend(
    write_rate: float,
    mode: str,
    retention: str,
    memory_headroom_bytes: int = keys.MEMORY_HEADROOM.default_value,
) -> Recommendation:
    if write_rate <= 0:
        raise ValueError("the write rate must be positive")
    revisions = history_revisions(write_rate, mode, retention)
    history_bytes = revisions * MEASURED_BYTES_PER_REVISION
    quota = max(MINIMUM_QUOTA_BYTES, math.ceil(history_bytes * SAFETY_FACTOR / MIB) * MIB)
    return Recommendation(write_rate, mode, retention, revisions, history_bytes, quota, memory_headroom_bytes)


def beyond_one_member(recommendation: Recommendation) -> str:
    """What is possible when the recommended quota is past what one member holds (render refuses
    such a quota): the most history that fits, as a write rate for this retention or as a share
    of the history this retention keeps."""
    most = format_binary_si(MAX_BACKEND_BYTES)
    fits = int(MAX_BACKEND_BYTES / (SAFETY_FACTOR * MEASURED_BYTES_PER_REVISION))
    share = fits / recommendation.history_revisions
    return (
        f"{recommendation.write_rate:g} writes/s with {recommendation.mode} retention "
        f"{recommendation.retention} keeps {recommendation.history_revisions:,} revisions, which need a "
        f"quota of {format_binary_si(recommendation.quota_bytes)}, above the {most} one member holds: "
        f"at most {fits:,} revisions fit (x{SAFETY_FACTOR:g} safety), that is about "
        f"{recommendation.write_rate * share:,.0f} writes/s with this retention, or a retention that keeps "
        f"{share:.2%} of this history"
    )


def quota_warning(settings: EtcdSettings) -> str | None:
    """A preview warning when the configured quota is below what the expected rate needs."""
    if settings.expected_write_rate is None or not settings.managed:
        return None
    if compaction_interval_s(settings.auto_compaction_mode, settings.auto_compaction_retention) is None:
        return None  # compaction is off: the retention's own warning says no quota holds
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


@dataclass(frozen=True)
class TmpfsWorstCase:
    """What one memory-mode member can need at once, against its container's memory limit.

    The backend file at the quota, plus the copy a defrag writes beside it (the live data), plus
    the WAL, the snapshot files and etcd's own heap, using the figures measured by
    `bench/tmpfs_footprint.py`.
    """

    quota_bytes: int
    live_set_bytes: int
    live_set_basis: str
    limit_bytes: int
    wal_bytes: int = MEASURED_WAL_BYTES
    snapshot_bytes: int = MEASURED_SNAPSHOT_BYTES
    heap_bytes: int = MEASURED_HEAP_BYTES

    @property
    def copy_bytes(self) -> int:
        return defrag_copy_bytes(self.live_set_bytes)

    @property
    def total_bytes(self) -> int:
        return self.quota_bytes + self.copy_bytes + self.wal_bytes + self.snapshot_bytes + self.heap_bytes

    @property
    def covered(self) -> bool:
        return self.limit_bytes >= self.total_bytes

    @property
    def headroom_needed_bytes(self) -> int:
        """The smallest etcdMemoryHeadroomBytes, in whole MiB, whose limit holds the worst case."""
        return math.ceil((self.total_bytes - self.quota_bytes) / MIB) * MIB

    def lines(self) -> list[str]:
        verdict = (
            f"the limit {format_binary_si(self.limit_bytes)} covers it"
            if self.covered
            else f"the limit {format_binary_si(self.limit_bytes)} does NOT cover it: set "
            f"kafscale:etcdMemoryHeadroomBytes to at least {format_binary_si(self.headroom_needed_bytes)}"
        )
        return [
            "memory mode, worst case of one member (tmpfs data dir + heap) during a defrag:",
            f"  backend at the quota     {self.quota_bytes / MIB:>9,.0f} MiB",
            f"  defrag copy of live data {self.copy_bytes / MIB:>9,.0f} MiB "
            f"({self.live_set_basis}, {DEFRAG_COPY_SHOWN})",
            f"  WAL                      {self.wal_bytes / MIB:>9,.0f} MiB (open + next segment)",
            f"  snapshot files           {self.snapshot_bytes / MIB:>9,.0f} MiB",
            f"  etcd heap                {self.heap_bytes / MIB:>9,.0f} MiB",
            f"  total                    {self.total_bytes / MIB:>9,.0f} MiB: {verdict}",
        ]


def tmpfs_worst_case(
    quota_bytes: int, limit_bytes: int, write_rate: float | None, mode: str, retention: str
) -> TmpfsWorstCase:
    """The live data a defrag copies is the history compaction keeps at the write rate, never more
    than the quota; with no rate, only the quota bounds it. The backend file itself can be at the
    quota whatever the live data: the rest is free pages only a defrag gives back."""
    if write_rate is None:
        return TmpfsWorstCase(quota_bytes, quota_bytes, "the quota: no write rate given", limit_bytes)
    if compaction_interval_s(mode, retention) is None:
        return TmpfsWorstCase(quota_bytes, quota_bytes, "the quota: compaction is off", limit_bytes)
    history = history_revisions(write_rate, mode, retention) * MEASURED_BYTES_PER_REVISION
    live = min(quota_bytes, history)
    basis = f"the history at {write_rate:g} writes/s"
    if live == quota_bytes:
        basis += ", capped at the quota"
    return TmpfsWorstCase(quota_bytes, live, basis, limit_bytes)


def tmpfs_warning(settings: EtcdSettings) -> str | None:
    """A preview warning when a memory-mode member cannot hold its worst case under its limit."""
    if not settings.managed or not settings.storage_memory:
        return None
    worst = tmpfs_worst_case(
        settings.quota_backend_bytes,
        settings.memory_limit_bytes,
        settings.expected_write_rate,
        settings.auto_compaction_mode,
        settings.auto_compaction_retention,
    )
    if worst.covered:
        return None
    return (
        f"kafscale:etcdMemoryHeadroomBytes: memory limit {format_binary_si(worst.limit_bytes)} "
        f"(quota {format_binary_si(worst.quota_bytes)} + headroom "
        f"{format_binary_si(settings.memory_headroom_bytes)}) cannot hold a defrag's worst case of "
        f"{worst.total_bytes / MIB:,.0f} MiB (backend at quota + a copy of {worst.copy_bytes / MIB:,.0f} "
        f"MiB of live data ({worst.live_set_basis}) + WAL, snapshots and heap); the maintenance job "
        f"will skip such a defrag. Set the headroom to at least "
        f"{format_binary_si(worst.headroom_needed_bytes)}"
        + ("" if settings.expected_write_rate else ", or set kafscale:etcdExpectedWriteRate")
    )
