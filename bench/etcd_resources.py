"""What an etcd member uses in disk mode, at the default quota and compaction, under KafScale's
offset writes: the figures behind the etcd container's default CPU and memory requests.

    venv/bin/python bench/etcd_resources.py [--rate 1000] [--seconds 60]

Three members of the default stack in disk mode (the defaults: a 4 GiB quota, 5m periodic
compaction), on every installed etcd build, offset load at `--rate` writes/s for `--seconds`.
Every second it samples each etcd process's CPU time (utime + stime, /proc/<pid>/stat) and its
resident memory (VmRSS, /proc/<pid>/status: heap and the mapped backend pages it touched).
Prints a Markdown table per member role (leader, follower): mean and peak CPU in cores, peak RSS.
docs/capacity.md holds the last run and the requests chosen from it.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from kafscale.offline.render import render_stack  # noqa: E402
from kafscale_lab.etcd_binaries import known_etcd_binaries  # noqa: E402
from kafscale_lab.load import LoadPlan, run_load  # noqa: E402
from kafscale_lab.local_cluster import LocalCluster  # noqa: E402

MIB = 2**20
TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def _rss_bytes(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


@dataclass
class MemberTrace:
    cores: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)


def _sample(pids: dict[str, int], traces: dict[str, MemberTrace], stop: threading.Event) -> None:
    last = {pod: (_cpu_seconds(pid), time.monotonic()) for pod, pid in pids.items()}
    while not stop.wait(1.0):
        for pod, pid in pids.items():
            cpu, now = _cpu_seconds(pid), time.monotonic()
            before, then = last[pod]
            if cpu is not None and before is not None:
                traces[pod].cores.append((cpu - before) / (now - then))
            last[pod] = (cpu, now)
            rss = _rss_bytes(pid)
            if rss is not None:
                traces[pod].rss.append(rss)


def measure(binary: Path, rate: int, seconds: int) -> tuple[str, dict[str, MemberTrace], str, int]:
    manifests = render_stack(PROJECT_DIR, "dev", ["etcdStorageMemory=false"]).manifests
    with LocalCluster(manifests, str(binary)) as cluster:
        pids = cluster.process_ids()
        traces = {pod: MemberTrace() for pod in pids}
        stop = threading.Event()
        sampler = threading.Thread(target=_sample, args=(pids, traces, stop), daemon=True)
        sampler.start()
        try:
            result = run_load(cluster.client_urls_by_pod, LoadPlan(rate=rate, duration_s=seconds))
        finally:
            stop.set()
            sampler.join()
        leader = cluster.wait_for_leader()
        version = cluster.statuses()[leader].version
    return version, traces, leader, result.total_acked


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=int, default=1000, help="offset writes per second (default 1000)")
    parser.add_argument("--seconds", type=int, default=60, help="how long the load runs (default 60)")
    options = parser.parse_args()
    print(
        f"disk mode, 3 members, default quota and compaction, {options.rate:,} offset writes/s "
        f"for {options.seconds} s"
    )
    print()
    print("| etcd | member | puts acknowledged | CPU mean | CPU peak (1 s) | RSS peak |")
    print("|---|---|---|---|---|---|")
    for build, binary in known_etcd_binaries().items():
        version, traces, leader, acked = measure(binary, options.rate, options.seconds)
        for pod, trace in sorted(traces.items()):
            role = "leader" if pod == leader else "follower"
            mean = sum(trace.cores) / len(trace.cores) if trace.cores else 0.0
            print(
                f"| {version} ({build}) | {pod} ({role}) | {acked:,} | {mean:.2f} cores | "
                f"{max(trace.cores, default=0.0):.2f} cores | {max(trace.rss, default=0) / MIB:.0f} MiB |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
