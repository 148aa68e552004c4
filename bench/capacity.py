"""Backend growth per revision and sustained put rate for KafScale's offset writes, measured on the
installed etcd builds, next to the seed change's back-of-envelope figures.

    venv/bin/python bench/capacity.py [--puts 30000] [--plot docs/capacity.png]

Prints a Markdown table (docs/capacity.md holds the last run). No compaction during the runs
(retention 1h), a quota far above what they write, so every revision stays in the backend.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from kafscale.offline.render import render_stack  # noqa: E402
from kafscale_lab.etcd_binaries import known_etcd_binaries  # noqa: E402
from kafscale_lab.load import LoadPlan, LoadResult, run_load  # noqa: E402
from kafscale_lab.local_cluster import LocalCluster  # noqa: E402

GIB = 2**30
MIB = 2**20
SEED_BYTES_PER_REVISION = 1024
PRODUCE_RATE = 5000  # writes/s, the seed's example
RETENTION_S = 300  # 5m


@dataclass(frozen=True)
class Growth:
    build: str
    version: str
    members: int
    revisions: int
    db_size_bytes: int
    in_use_bytes: int
    result: LoadResult

    @property
    def bytes_per_revision(self) -> float:
        return self.db_size_bytes / self.revisions

    @property
    def in_use_per_revision(self) -> float:
        return self.in_use_bytes / self.revisions


def _manifests(replicas: int) -> list[dict]:
    overrides = [
        f"etcdReplicas={replicas}",
        "etcdStorageMemory=false",
        "etcdQuotaBackendBytes=8Gi",
        "etcdAutoCompactionRetention=1h",
    ]
    return render_stack(PROJECT_DIR, "dev", overrides).manifests


def measure_growth(build: str, binary: str, replicas: int, puts: int, rate: float) -> Growth:
    with LocalCluster(_manifests(replicas), binary) as cluster:
        before = cluster.statuses()
        version = next(iter(before.values())).version
        members = cluster.client_urls_by_pod
        result = run_load(members, LoadPlan(rate=rate, duration_s=puts / rate, partitions=64, concurrency=16))
        after = cluster.statuses()
    revisions = max(s.revision for s in after.values()) - max(s.revision for s in before.values())
    grown = [after[pod].db_size - before[pod].db_size for pod in after]
    in_use = [after[pod].db_size_in_use - before[pod].db_size_in_use for pod in after]
    return Growth(build, version, replicas, revisions, max(grown), max(in_use), result)


def measure_rate(binary: str, asked: float, seconds: float) -> float:
    with LocalCluster(_manifests(3), binary) as cluster:
        members = cluster.client_urls_by_pod
        result = run_load(members, LoadPlan(rate=asked, duration_s=seconds, partitions=256, concurrency=32))
    return result.achieved_rate


def _table(header: list[str], rows: list[list[object]]) -> None:
    """Print a Markdown table."""
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
    print()


def _seconds(value: float) -> str:
    return f"{value:,.0f} s ({value / 60:,.1f} min)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--puts", type=int, default=30000, help="puts per growth measurement")
    parser.add_argument("--rate", type=float, default=1500, help="puts/s during growth measurements")
    parser.add_argument("--plot", type=Path, help="write a PNG of dbSize against revisions")
    args = parser.parse_args()

    builds = known_etcd_binaries()
    if not builds:
        print("error: no etcd installed (make setup)", file=sys.stderr)
        return 1
    growths: list[Growth] = []
    rates: dict[str, float] = {}
    for build, binary in builds.items():
        for replicas in (1, 3):
            print(f"measuring {build}, {replicas} member(s)...", file=sys.stderr, flush=True)
            growths.append(measure_growth(build, str(binary), replicas, args.puts, args.rate))
        print(f"measuring {build} sustained put rate...", file=sys.stderr, flush=True)
        rates[build] = measure_rate(str(binary), asked=20000, seconds=10)

    _table(
        [
            "etcd",
            "members",
            "revisions",
            "dbSize growth",
            "bytes/revision (dbSize)",
            "bytes/revision (in use)",
        ],
        [
            [
                f"{g.version} ({g.build})",
                g.members,
                f"{g.revisions:,}",
                f"{g.db_size_bytes / MIB:.2f} MiB",
                f"{g.bytes_per_revision:.0f}",
                f"{g.in_use_per_revision:.0f}",
            ]
            for g in growths
        ],
    )
    versions = {g.build: g.version for g in growths}
    _table(
        ["etcd", "sustained puts/s here (3 members, 32 writers)"],
        [[f"{versions[build]} ({build})", f"{achieved:,.0f}"] for build, achieved in rates.items()],
    )
    worst = max(g.bytes_per_revision for g in growths if g.members == 3)
    measured = PRODUCE_RATE * worst
    seed = PRODUCE_RATE * SEED_BYTES_PER_REVISION
    _table(
        [
            f"at {PRODUCE_RATE:,} writes/s",
            "seed (1 KiB/revision, estimated)",
            f"measured ({worst:.0f} B/revision)",
        ],
        [
            ["backend growth", f"{seed / MIB:.1f} MiB/s", f"{measured / MIB:.2f} MiB/s"],
            ["time to fill 2 GiB, no compaction", _seconds(2 * GIB / seed), _seconds(2 * GIB / measured)],
            ["time to fill 4 GiB, no compaction", _seconds(4 * GIB / seed), _seconds(4 * GIB / measured)],
            [
                "live set of a 5m retention window",
                f"{seed * RETENTION_S / GIB:.2f} GiB",
                f"{measured * RETENTION_S / MIB:.0f} MiB",
            ],
            [
                "history just before a compaction (2 windows)",
                f"{2 * seed * RETENTION_S / GIB:.2f} GiB",
                f"{2 * measured * RETENTION_S / MIB:.0f} MiB",
            ],
        ],
    )

    if args.plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(9, 5))
        for g in growths:
            member = g.result.member_names[0]
            acked = 0
            xs, ys = [], []
            for sample in g.result.samples:
                acked += sample.acked
                if member in sample.members:
                    xs.append(acked)
                    ys.append(sample.members[member].db_size / MIB)
            axes.plot(xs, ys, marker=".", label=f"etcd {g.version}, {g.members} member(s)")
        seed_line = [0, args.puts * SEED_BYTES_PER_REVISION / MIB]
        axes.plot([0, args.puts], seed_line, linestyle=":", label="seed: 1 KiB/revision")
        axes.set_xlabel("offset writes (revisions)")
        axes.set_ylabel("dbSize, MiB")
        axes.set_title("Backend growth per revision, KafScale offset pattern, no compaction")
        axes.grid(alpha=0.3)
        axes.legend()
        figure.tight_layout()
        figure.savefig(args.plot, dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main())
