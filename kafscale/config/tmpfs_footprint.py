"""What a memory-mode member holds on its tmpfs and in its heap: the measured figures.

In memory mode every allocated page of the data dir counts against the etcd container's memory
limit: the backend file `member/snap/db`, the WAL segments (each preallocated to 64 MB), the
snapshot files, and during a defrag a `db.tmp*` copy of the live data. The figures below were
measured with `bench/tmpfs_footprint.py` (docs/capacity.md) on etcd 3.4.23 and 3.5.1; the
measuring code is the lab's (`kafscale_lab/tmpfs_usage.py`).
"""

from __future__ import annotations

MIB = 1024**2

# Measured (docs/capacity.md, "Memory mode: what the tmpfs holds"): the largest of both versions.
WAL_SEGMENT_BYTES = 64 * 1000 * 1000  # etcd's wal.SegmentSizeBytes
MEASURED_WAL_BYTES = 2 * WAL_SEGMENT_BYTES  # the open segment plus the next, preallocated
MEASURED_SNAPSHOT_BYTES = 1 * MIB  # measured 8 KiB; etcd keeps up to 5 snapshot files
# etcd's anonymous memory (RssAnon) under KafScale's offset writes and their defrag: 49 MiB at
# most. Bigger values raise it: etcd holds the raft log since the last snapshot in memory.
MEASURED_HEAP_BYTES = 64 * MIB
# db.tmp measured up to 4% larger than the dbSizeInUse it copies: the copy is taken as 1 + 1/20
# of it. The maintenance script computes the same (`used + used / 20`) from DEFRAG_COPY_DIVISOR,
# which the CronJob passes it, so the two cannot drift.
DEFRAG_COPY_DIVISOR = 20
# What a defrag needs beside the two copies of the backend.
DEFRAG_RESERVE_BYTES = MEASURED_WAL_BYTES + MEASURED_SNAPSHOT_BYTES + MEASURED_HEAP_BYTES


def defrag_copy_bytes(live_bytes: int) -> int:
    """The db.tmp a defrag writes for `live_bytes` of live data (integer maths, as the script)."""
    return live_bytes + live_bytes // DEFRAG_COPY_DIVISOR
