"""The data dir scan the tmpfs measurements rest on."""

import os
from pathlib import Path

from kafscale_lab.tmpfs_usage import DirUsage, data_dir_usage, rss_anon_bytes


def _write(path: Path, size: int) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return path.stat().st_blocks * 512  # what the filesystem allocated


def test_files_are_counted_by_kind_at_their_allocated_size(tmp_path):
    expected = {
        "db": _write(tmp_path / "member" / "snap" / "db", 64 * 1024),
        "db_tmp": _write(tmp_path / "member" / "snap" / "db.tmp.123456", 32 * 1024),
        "wal": _write(tmp_path / "member" / "wal" / "0000000000000000-0000000000000000.wal", 16 * 1024)
        + _write(tmp_path / "member" / "wal" / "0.tmp", 8 * 1024),
        "snap": _write(tmp_path / "member" / "snap" / "0000000000000002-00000000000186a1.snap", 4096),
        "other": _write(tmp_path / "member" / "lock", 100),
    }
    usage = data_dir_usage(tmp_path)
    assert usage == DirUsage(**expected)
    assert usage.total == sum(expected.values()) > 0


def test_an_empty_or_missing_dir_holds_nothing(tmp_path):
    assert data_dir_usage(tmp_path).total == 0
    assert data_dir_usage(tmp_path / "absent").total == 0


def test_rss_anon_of_this_process_and_of_none():
    assert (rss_anon_bytes(os.getpid()) or 0) > 1024 * 1024
    assert rss_anon_bytes(2**22 + 12345) is None
