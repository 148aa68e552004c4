"""What a member's data dir holds on its tmpfs, and what etcd holds beside it in memory.

In memory mode every allocated page of the data dir counts against the etcd container's memory
limit: the backend file `member/snap/db`, the WAL segments (each preallocated to 64 MB), the
snapshot files, and during a defrag a `db.tmp*` copy of the live data. The figures below were
measured with `bench/tmpfs_footprint.py` (docs/capacity.md) on etcd 3.4.23 and 3.5.1.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

MIB = 1024**2

# Measured (docs/capacity.md, "Memory mode: what the tmpfs holds"): the largest of both versions.
WAL_SEGMENT_BYTES = 64 * 1000 * 1000  # etcd's wal.SegmentSizeBytes
MEASURED_WAL_BYTES = 2 * WAL_SEGMENT_BYTES  # the open segment plus the next, preallocated
MEASURED_SNAPSHOT_BYTES = 1 * MIB  # measured 8 KiB; etcd keeps up to 5 snapshot files
# etcd's anonymous memory (RssAnon) under KafScale's offset writes and their defrag: 49 MiB at
# most. Bigger values raise it: etcd holds the raft log since the last snapshot in memory.
MEASURED_HEAP_BYTES = 64 * MIB
DEFRAG_COPY_FACTOR = 1.05  # db.tmp measured up to 4% larger than the dbSizeInUse it copies
# What a defrag needs beside the two copies of the backend.
DEFRAG_RESERVE_BYTES = MEASURED_WAL_BYTES + MEASURED_SNAPSHOT_BYTES + MEASURED_HEAP_BYTES


@dataclass(frozen=True)
class DirUsage:
    """Allocated bytes (what tmpfs charges) by kind of file."""

    db: int = 0
    db_tmp: int = 0
    wal: int = 0
    snap: int = 0
    other: int = 0

    @property
    def total(self) -> int:
        return sum(getattr(self, field.name) for field in fields(self))


def _kind(path: Path) -> str:
    name = path.name
    if name == "db":
        return "db"
    if name.startswith("db.tmp"):
        return "db_tmp"
    if path.parent.name == "wal":
        return "wal"
    if name.endswith(".snap") or name.endswith(".snap.db"):
        return "snap"
    return "other"


def data_dir_usage(data_dir: Path) -> DirUsage:
    """Allocated bytes under `data_dir`, by kind; files that vanish mid-scan are skipped."""
    totals = dict.fromkeys(("db", "db_tmp", "wal", "snap", "other"), 0)
    for root, _, files in os.walk(data_dir):
        for name in files:
            path = Path(root) / name
            try:
                allocated = path.lstat().st_blocks * 512
            except FileNotFoundError:
                continue
            totals[_kind(path)] += allocated
    return DirUsage(**totals)


def rss_anon_bytes(pid: int) -> int | None:
    """A process's anonymous resident memory (its heap and stacks), or None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return None
    for line in status.splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024
    return None
