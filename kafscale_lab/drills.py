"""Membership drills on a local cluster: KafScale's offset load in the background, a member lost,
emptied or restarted the way Kubernetes does it, and every acknowledged write checked after."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from kafscale.objects.auth import KAFSCALE_USER, PASSWORD_KEY, ROOT_USER, USERNAME_KEY
from kafscale_lab.etcd_http import EtcdError, EtcdHttpClient, Member
from kafscale_lab.load import LoadPlan, LoadResult, SecondSample, run_load, unreadable_acknowledged_writes
from kafscale_lab.local_cluster import LocalCluster
from kafscale_lab.manifests import Manifest

DRILL_LOAD = LoadPlan(rate=100, duration_s=1800, partitions=64, concurrency=4)


@dataclass
class BackgroundLoad:
    """A load run on its own thread; `stop()` ends it and returns what it acknowledged."""

    thread: threading.Thread
    done: threading.Event
    outcome: list[LoadResult]
    started: float

    def elapsed(self) -> float:
        """Seconds since the load started: marks a step for `failed_writes`."""
        return time.monotonic() - self.started

    def stop(self) -> LoadResult:
        self.done.set()
        self.thread.join()
        return self.outcome[0]


@contextmanager
def background_load(cluster: LocalCluster, plan: LoadPlan = DRILL_LOAD) -> Iterator[BackgroundLoad]:
    """Drive `plan` against every member of the cluster (as it is when the load starts) until
    the block ends; the block reads the result from `stop()`."""
    done = threading.Event()
    outcome: list[LoadResult] = []

    def until(_: list[SecondSample]) -> bool:
        return done.is_set()

    urls = dict(cluster.client_urls_by_pod)
    thread = threading.Thread(target=lambda: outcome.append(run_load(urls, plan, until=until)), daemon=True)
    started = time.monotonic()
    thread.start()
    load = BackgroundLoad(thread, done, outcome, started)
    try:
        yield load
    finally:
        if thread.is_alive():
            load.stop()


def lost_writes(
    cluster: LocalCluster, result: LoadResult, credentials: tuple[str, str] | None = None
) -> dict[str, list[str]]:
    """Per member of the cluster: acknowledged writes it does not return (read as the user of
    `credentials`, by default the cluster's client's)."""
    lost = {}
    for pod, url in cluster.client_urls_by_pod.items():
        with EtcdHttpClient(url, credentials=credentials or cluster.client_credentials) as client:
            lost[pod] = unreadable_acknowledged_writes(client, result)
    return lost


def auth_secrets(manifests: Sequence[Manifest]) -> dict[str, dict[str, str]]:
    """The etcd users' Secrets of a render (etcdAuth), as the lab's `secrets` takes them."""
    return {m["metadata"]["name"]: dict(m["stringData"]) for m in manifests if m["kind"] == "Secret"}


def user_credentials(manifests: Sequence[Manifest], user: str) -> tuple[str, str]:
    """(user, password) from the user's Secret in a render."""
    for data in auth_secrets(manifests).values():
        if data.get(USERNAME_KEY) == user:
            return user, data[PASSWORD_KEY]
    raise KeyError(f"no Secret of the etcd user {user!r} in the render")


def auth_job_manifest(manifests: Sequence[Manifest]) -> Manifest:
    """The auth Job of a render (etcdAuth on or disabling)."""
    return next(m for m in manifests if m["kind"] == "Job" and m["metadata"]["name"].endswith("-etcd-auth"))


def turn_auth_on(cluster: LocalCluster, manifests: Sequence[Manifest]) -> tuple[str, str]:
    """What `pulumi up` with etcdAuth=on does once the members are ready: the auth Job. From then
    on the cluster's client logs in as root, as the program's steps do; returns the credentials
    of the `kafscale` user (KafScale's clients)."""
    log = cluster.run_job(auth_job_manifest(manifests))
    if "auth enabled" not in log:
        raise AssertionError(f"the auth Job did not enable auth:\n{log}")
    cluster.client_credentials = user_credentials(manifests, ROOT_USER)
    return user_credentials(manifests, KAFSCALE_USER)


def membership(cluster: LocalCluster) -> list[Member]:
    """The member list, from the first member that answers it."""
    for url in cluster.client_urls_by_pod.values():
        try:
            with EtcdHttpClient(url, timeout_s=3.0) as client:
                return client.members()
        except (OSError, EtcdError):
            continue
    raise RuntimeError("no member answered the member list")


def wait_for(condition: Callable[[], bool], what: str, deadline_s: float = 180.0) -> float:
    """Poll `condition` until it holds; the seconds it took, or AssertionError at the deadline."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > deadline_s:
            raise AssertionError(f"{what}: not within {deadline_s:.0f}s")
        time.sleep(0.2)
    return time.monotonic() - start


def failed_writes(result: LoadResult, since_s: float = 0.0, until_s: float | None = None) -> int:
    """Puts that failed between two offsets from the start of the load."""
    return sum(
        s.nospace_errors + s.other_errors
        for s in result.samples
        if s.second >= since_s and (until_s is None or s.second < until_s)
    )


def raise_alarm_on_every_member(cluster: LocalCluster, kind: str) -> None:
    """Raise `kind` for every running member through etcd's maintenance API.

    Each member raises NOSPACE for itself only when its own backend crosses the quota, and the
    members' files differ by a few pages, so which of them do varies from run to run. Raising it
    for each gives the state of a cluster whose members have all filled up, every time.
    """
    with cluster.client(0) as client:
        for status in cluster.statuses().values():
            client.call(
                "/v3/maintenance/alarm",
                {"action": "ACTIVATE", "memberID": str(status.member_id), "alarm": kind},
            )


def put_offsets(cluster: LocalCluster, tag: str, count: int) -> dict[str, str]:
    """`count` offset keys under /kafscale/topics/<tag>/, written through member 0; what was
    acknowledged (key -> value)."""
    acked = {}
    with cluster.client(0) as client:
        for index in range(count):
            key = f"/kafscale/topics/{tag}/partitions/{index}/next_offset"
            client.put(key, f"{tag}-{index}")
            acked[key] = f"{tag}-{index}"
    return acked
