"""NOSPACE reproduced without compaction, and prevented by it, at the same write rate on real etcd."""

import pytest

from kafscale.etcd_http import EtcdHttpClient
from kafscale.load import LoadPlan, LoadResult, run_load, unreadable_acknowledged_writes
from kafscale.local_cluster import LocalCluster
from tests.conftest import rendered_statefulset

pytestmark = pytest.mark.etcd

QUOTA = "1Mi"
QUOTA_BYTES = 1024 * 1024
RATE = 1000  # puts/s: fills 1 MiB in about 10 s without compaction


def _drive(cluster: LocalCluster, duration_s: float) -> LoadResult:
    members = {member.pod_name: member.client_url for member in cluster.members}
    return run_load(members, LoadPlan(rate=RATE, duration_s=duration_s, partitions=64))


def test_without_compaction_a_small_quota_trips_nospace_and_loses_no_acknowledged_write(etcd_binary):
    statefulset = rendered_statefulset(f"etcdQuotaBackendBytes={QUOTA}", "etcdAutoCompactionRetention=1h")
    with LocalCluster(statefulset, etcd_binary) as cluster:
        result = _drive(cluster, duration_s=14)
        assert result.total_nospace > 0, f"no NOSPACE after {result.total_acked} puts"
        assert result.first_error is not None and "database space exceeded" in result.first_error
        assert result.first_nospace_second() is not None
        with cluster.client(0) as client:
            assert {alarm.kind for alarm in client.alarms()} == {"NOSPACE"}
        for member in cluster.members:
            with EtcdHttpClient(member.client_url) as client:
                assert unreadable_acknowledged_writes(client, result) == [], member.pod_name
        assert result.total_acked > 1000


def test_periodic_compaction_keeps_the_same_load_out_of_nospace(etcd_binary):
    retention_s = 2
    statefulset = rendered_statefulset(
        f"etcdQuotaBackendBytes={QUOTA}", f"etcdAutoCompactionRetention={retention_s}s"
    )
    with LocalCluster(statefulset, etcd_binary) as cluster:
        result = _drive(cluster, duration_s=10 * retention_s + 2)  # ten retention windows
        assert result.total_nospace == 0
        assert sum(s.other_errors for s in result.samples) == 0, result.first_error
        assert result.achieved_rate > 0.8 * RATE
        with cluster.client(0) as client:
            assert client.alarms() == []
        for member in result.member_names:
            sizes = result.series(member, "db_size")
            # The compaction sawtooth, from the samples: in-use space falls again and again,
            # and the file stays well below the quota it would have filled without compaction.
            assert result.compactions_seen(member) >= 2, (member, result.series(member, "db_size_in_use"))
            assert max(sizes) < QUOTA_BYTES * 3 // 4, (member, sizes)
        with cluster.client(0) as client:
            assert unreadable_acknowledged_writes(client, result) == []


REVISION_POLL_S = 300  # etcd's revision compactor looks every 5 minutes (3.4 to 3.6)


def test_revision_mode_compacts_on_etcds_five_minute_poll():
    """Both builds at once (the wait is etcd's fixed poll, not work): no NOSPACE, and in-use space
    falls to about the retained revisions after the poll."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.conftest import ETCD_BUILD_LABELS, require_etcd_binary

    binaries = [require_etcd_binary(label) for label in ETCD_BUILD_LABELS]
    rate, retention = 100, 1000
    statefulset = rendered_statefulset(
        "etcdAutoCompactionMode=revision",
        f"etcdAutoCompactionRetention={retention}",
        "etcdQuotaBackendBytes=64Mi",
    )

    def drive(binary: str) -> LoadResult:
        with LocalCluster(statefulset, binary) as cluster:
            members = {member.pod_name: member.client_url for member in cluster.members}
            return run_load(members, LoadPlan(rate=rate, duration_s=REVISION_POLL_S + 25, partitions=64))

    with ThreadPoolExecutor(len(binaries)) as pool:
        results = list(pool.map(drive, binaries))
    for binary, result in zip(binaries, results, strict=True):
        assert result.total_nospace == 0, binary
        for member in result.member_names:
            in_use = result.series(member, "db_size_in_use")
            peak_before_poll = max(in_use[: REVISION_POLL_S - 5])
            after_poll = in_use[REVISION_POLL_S + 10 :]
            assert min(after_poll) < peak_before_poll / 2, (binary, member, in_use[REVISION_POLL_S - 10 :])
            assert result.compactions_seen(member) >= 1
