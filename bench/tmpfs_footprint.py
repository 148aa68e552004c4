"""What a memory-mode member's tmpfs really holds: data dir bytes over time under KafScale's write
load and through a defrag, on every installed etcd build.

    venv/bin/python bench/tmpfs_footprint.py [--plot docs/tmpfs.png]

One member of the dev stack's rendered StatefulSet (memory mode: its data dir on /dev/shm), because
a pod's tmpfs holds one member's data dir. Phase 1 (steady): 90 s of offset writes at 1,500/s with
the default 5m periodic compaction, for the WAL and snapshot footprint. Phase 2 (defrag): 40,000
keys of 4 KiB written, half of them overwritten, compacted, then a defrag, with the data dir scanned
every 10 ms to catch the `db.tmp` copy. Prints a Markdown table (docs/capacity.md holds the last
run) and draws the data dir's allocated bytes against time.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from kafscale.offline.render import render_stack  # noqa: E402
from kafscale_lab.etcd_binaries import known_etcd_binaries  # noqa: E402
from kafscale_lab.etcd_http import EtcdHttpClient  # noqa: E402
from kafscale_lab.load import LoadPlan, run_load  # noqa: E402
from kafscale_lab.local_cluster import LocalCluster  # noqa: E402
from kafscale_lab.tmpfs_usage import DirUsage, data_dir_usage, rss_anon_bytes  # noqa: E402

MIB = 2**20
STEADY_RATE, STEADY_S = 1500, 90
KEYS, VALUE_BYTES = 40_000, 4096


@dataclass
class Sample:
    at: float
    usage: DirUsage
    rss_anon: int


@dataclass
class Trace:
    build: str
    version: str = ""
    samples: list[Sample] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)
    figures: dict[str, int] = field(default_factory=dict)

    def last_before(self, mark: str) -> Sample:
        return [s for s in self.samples if s.at <= self.marks[mark]][-1]


def _sampler(trace: Trace, data_dir: Path, pid: int, stop: threading.Event, start: float) -> None:
    while not stop.is_set():
        rss = rss_anon_bytes(pid) or 0
        trace.samples.append(Sample(time.monotonic() - start, data_dir_usage(data_dir), rss))
        time.sleep(0.01)


def measure(build: str, binary: str) -> Trace:
    manifests = render_stack(
        PROJECT_DIR, "dev", ["etcdReplicas=1", "etcdQuotaBackendBytes=2Gi", "etcdStorageMemory=true"]
    ).manifests
    trace = Trace(build)
    with LocalCluster(manifests, binary) as cluster:
        (member,) = cluster.members
        data_dir = cluster.data_dir(member.pod_name)
        pid = cluster.process_ids()[member.pod_name]
        stop = threading.Event()
        start = time.monotonic()
        sampler = threading.Thread(target=_sampler, args=(trace, data_dir, pid, stop, start), daemon=True)
        sampler.start()
        try:
            with EtcdHttpClient(member.client_url, timeout_s=120) as client:
                trace.version = client.status().version
                trace.marks["steady_start"] = time.monotonic() - start
                plan = LoadPlan(rate=STEADY_RATE, duration_s=STEADY_S)
                run_load({member.pod_name: member.client_url}, plan)
                trace.marks["steady_end"] = time.monotonic() - start
                # A defrag of KafScale's own history: half of it compacted away first.
                client.call(
                    "/v3/kv/compaction", {"revision": client.status().revision // 2, "physical": True}
                )
                trace.marks["offsets_defrag_start"] = time.monotonic() - start
                client.call("/v3/maintenance/defragment", {})
                trace.marks["offsets_defrag_end"] = time.monotonic() - start
                value = "v" * VALUE_BYTES
                for index in range(KEYS):
                    client.put(f"/bench/live/{index:06d}", value)
                for index in range(0, KEYS, 2):
                    client.put(f"/bench/live/{index:06d}", value.upper())
                client.call("/v3/kv/compaction", {"revision": client.status().revision, "physical": True})
                status = client.status()
                trace.figures.update(db_size=status.db_size, in_use=status.db_size_in_use)
                time.sleep(0.2)  # a few scans of the data dir before the defrag starts
                trace.marks["defrag_start"] = time.monotonic() - start
                client.call("/v3/maintenance/defragment", {})
                trace.marks["defrag_end"] = time.monotonic() - start
                time.sleep(0.2)
                trace.figures["db_size_after"] = client.status().db_size
        finally:
            stop.set()
            sampler.join()
    return trace


def _window(trace: Trace, start: str, end: str) -> list[Sample]:
    return [s for s in trace.samples if trace.marks[start] <= s.at <= trace.marks[end]]


def table(traces: list[Trace]) -> str:
    rows = [
        f"Steady state: KafScale offset writes, {STEADY_RATE:,}/s for {STEADY_S} s, 5m periodic compaction",
        "",
        "| etcd | data dir (peak) | db | WAL | snapshot files | etcd heap (RssAnon, peak) | "
        "defrag of that history: heap before | heap peak |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for trace in traces:
        window = _window(trace, "steady_start", "steady_end")
        peak = max(window, key=lambda s: s.usage.total)
        defrag = _window(trace, "offsets_defrag_start", "offsets_defrag_end")
        rows.append(
            f"| {trace.version} ({trace.build}) | {peak.usage.total / MIB:.1f} MiB | "
            f"{peak.usage.db / MIB:.1f} MiB | {peak.usage.wal / MIB:.1f} MiB | "
            f"{max(s.usage.snap for s in window) / 1024:.0f} KiB | "
            f"{max(s.rss_anon for s in window) / MIB:.0f} MiB | "
            f"{trace.last_before('offsets_defrag_start').rss_anon / MIB:.0f} MiB | "
            f"{max(s.rss_anon for s in defrag) / MIB:.0f} MiB |"
        )
    rows += [
        "",
        f"Defrag: {KEYS:,} keys of {VALUE_BYTES // 1024} KiB, half overwritten, compacted, then defragmented",
        "",
        "| etcd | dbSize | dbSizeInUse | data dir before | data dir peak | db + db.tmp peak | "
        "peak / (dbSize + in use) | WAL | heap before | heap peak |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for trace in traces:
        before = trace.last_before("defrag_start")
        window = _window(trace, "defrag_start", "defrag_end")
        peak = max(window, key=lambda s: s.usage.total)
        both = peak.usage.db + peak.usage.db_tmp
        rows.append(
            f"| {trace.version} ({trace.build}) | {trace.figures['db_size'] / MIB:.1f} MiB | "
            f"{trace.figures['in_use'] / MIB:.1f} MiB | {before.usage.total / MIB:.1f} MiB | "
            f"{peak.usage.total / MIB:.1f} MiB | {both / MIB:.1f} MiB | "
            f"{both / (trace.figures['db_size'] + trace.figures['in_use']):.3f} | "
            f"{peak.usage.wal / MIB:.1f} MiB | {before.rss_anon / MIB:.0f} MiB | "
            f"{max(s.rss_anon for s in window) / MIB:.0f} MiB |"
        )
    return "\n".join(rows)


def plot(traces: list[Trace], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, grid = plt.subplots(2, len(traces), figsize=(7 * len(traces), 9), squeeze=False)
    for column, trace in enumerate(traces):
        for row, zoom in enumerate((False, True)):
            axes = grid[row][column]
            samples = trace.samples
            if zoom:  # the defrag, from a second before it to the end
                samples = [s for s in samples if s.at >= trace.marks["defrag_start"] - 1]
            seconds = [s.at for s in samples]
            for label, values in (
                ("data dir (allocated)", [s.usage.total for s in samples]),
                ("db", [s.usage.db for s in samples]),
                ("db.tmp (defrag copy)", [s.usage.db_tmp for s in samples]),
                ("WAL", [s.usage.wal for s in samples]),
                ("etcd heap (RssAnon)", [s.rss_anon for s in samples]),
            ):
                axes.plot(seconds, [v / MIB for v in values], label=label)
            axes.axvline(trace.marks["defrag_start"], color="red", linestyle=":", label="defrag start")
            axes.axvline(trace.marks["defrag_end"], color="red", linestyle="--", label="defrag end")
            if not zoom:
                steady = (trace.marks["steady_start"], trace.marks["steady_end"])
                axes.axvspan(*steady, alpha=0.08, color="green")
                axes.set_xlabel(f"seconds (shaded: offset writes at {STEADY_RATE:,}/s; then the 4 KiB puts)")
                axes.set_title(f"etcd {trace.version} ({trace.build}), one memory-mode member")
            else:
                axes.set_xlabel("seconds (zoomed on the defrag)")
                axes.set_title("the defrag: db.tmp is written beside db, then replaces it")
            axes.set_ylabel("MiB")
            axes.legend(fontsize="small", loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=80)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args()
    binaries = known_etcd_binaries()
    if not binaries:
        print("error: no etcd build installed (make setup)", file=sys.stderr)
        return 2
    traces = []
    for build, binary in binaries.items():
        print(f"measuring {build} ...", file=sys.stderr)
        traces.append(measure(build, str(binary)))
    print(table(traces))
    if args.plot:
        plot(traces, args.plot)
        print(f"plot: {args.plot}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
