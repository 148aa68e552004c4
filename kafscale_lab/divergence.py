"""A member that parts from the others for good: etcd 3.5.0 to 3.5.5 killed during a defrag.

etcd-io/etcd#14685 (fixed in 3.5.6): a defragmentation commits the backend's pending writes without
the consistent index they belong to. A member killed before its next commit restarts, replays
entries it had already applied, and its revision runs ahead of the others' with a different hash,
for good. `kill_during_defrag` does what a node failure or an OOM kill during the maintenance
CronJob's defrag does: it defragments one member, under writes to the others, and SIGKILLs it
right after it logged the start of the defrag, then restarts its container on the same data.
"""

from __future__ import annotations

import base64
import json
import subprocess
import threading
import time
from dataclasses import dataclass

from kafscale_lab.etcd_http import EtcdHttpClient
from kafscale_lab.local_cluster import LocalCluster

TXN_OPS = 100  # etcd's default limit is 128 operations per transaction
DEFRAG_LOG_LINE = "starting defragment"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def fill(cluster: LocalCluster, keys: int, value_bytes: int = 1024) -> int:
    """`keys` keys of `value_bytes`, in transactions of TXN_OPS puts, then a physical compaction at
    the revision reached, as KafScale's auto-compaction leaves a backend; the revision."""
    value = _b64("v" * value_bytes)
    with cluster.client(0) as client:
        for first in range(0, keys, TXN_OPS):
            puts = [
                {"requestPut": {"key": _b64(f"/kafscale/fill/{index}"), "value": value}}
                for index in range(first, min(keys, first + TXN_OPS))
            ]
            client.call("/v3/kv/txn", {"success": puts})
        revision = client.status().revision
        client.call("/v3/kv/compaction", {"revision": revision, "physical": True})
    return revision


@dataclass(frozen=True)
class Divergence:
    """Each member's revision and its hash at the revision all of them hold."""

    revisions: dict[str, int]
    hashes: dict[str, int]

    @property
    def diverged(self) -> bool:
        return len(set(self.revisions.values())) > 1 or len(set(self.hashes.values())) > 1


def compare_members(cluster: LocalCluster, etcdctl: str) -> Divergence:
    """Each member's revision, and its `HashKV` at the lowest of them (`etcdctl endpoint hashkv`:
    the gRPC gateway maps HashKV and Hash to one path)."""
    urls = cluster.client_urls_by_pod
    revisions = {}
    for pod, url in urls.items():
        with EtcdHttpClient(url) as client:
            revisions[pod] = client.status().revision
    common = min(revisions.values())
    hashes = {}
    for pod, url in urls.items():
        out = subprocess.run(
            [etcdctl, f"--endpoints={url}", "endpoint", "hashkv", f"--rev={common}", "-w", "json"],
            env={"ETCDCTL_API": "3"},
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        hashes[pod] = int(json.loads(out)[0]["HashKV"]["hash"])
    return Divergence(revisions, hashes)


def kill_during_defrag(
    cluster: LocalCluster, pod: str, etcdctl: str, kill_after_s: float = 0.1, deadline_s: float = 60.0
) -> None:
    """Defragment `pod`'s member while writers keep the others busy, SIGKILL it `kill_after_s` after
    it logged the start of the defrag, and restart its etcd on the same data."""
    log = cluster.log_path(pod)
    offset = len(log.read_bytes())
    others = [url for other, url in cluster.client_urls_by_pod.items() if other != pod]
    stop = threading.Event()

    def write(worker: int) -> None:
        count = 0
        while not stop.is_set():
            try:
                with EtcdHttpClient(others[count % len(others)], timeout_s=2.0) as client:
                    client.put(f"/kafscale/load/{worker}/{count % 100}", str(count))
            except Exception:  # a member busy or electing: the load goes on
                time.sleep(0.01)
            count += 1

    writers = [threading.Thread(target=write, args=(index,), daemon=True) for index in range(4)]
    for writer in writers:
        writer.start()
    try:
        time.sleep(1.0)  # writes in flight on every member when the defrag starts
        defrag = subprocess.Popen(
            [etcdctl, f"--endpoints={cluster.client_urls_by_pod[pod]}", "--command-timeout=60s", "defrag"],
            env={"ETCDCTL_API": "3"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started = time.monotonic()
        while DEFRAG_LOG_LINE.encode() not in log.read_bytes()[offset:]:
            if time.monotonic() - started > deadline_s:
                raise AssertionError(f"{pod} logged no '{DEFRAG_LOG_LINE}' in {deadline_s:.0f}s")
            time.sleep(0.005)
        time.sleep(kill_after_s)
        cluster.kill_member(pod)
        defrag.wait(deadline_s)
    finally:
        stop.set()
        for writer in writers:
            writer.join()
    cluster.stop_member(pod)  # its container restarts; the data stays
    cluster.start_member(pod)
