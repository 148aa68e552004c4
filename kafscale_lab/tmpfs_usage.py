"""Measuring a memory-mode member: what its data dir allocates by kind, and its heap."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path


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
    totals = dict.fromkeys((field.name for field in fields(DirUsage)), 0)
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
