"""The rendered objects, booted as real etcd processes in pods run the kubelet's way."""

import os
from pathlib import Path

import pytest
import yaml

from kafscale.objects.membership import CONFIG_FILE, CONFIG_VOLUME, STATE_VOLUME, VOTING_FILE
from kafscale_lab.drills import membership, wait_for
from kafscale_lab.etcd_binaries import tools_image_path
from kafscale_lab.local_cluster import LocalCluster, LocalClusterError, StandIns, plan_pods
from kafscale_lab.manifests import init_container, only, pod_spec
from kafscale_lab.pod_runner import expand_kubernetes_refs
from tests.support import other_build_in_soak, rendered_manifests


@pytest.mark.parametrize(
    ("text", "expanded"),
    [
        ("--name=$(POD_NAME)", "--name=etcd-0"),
        ("$(POD_NAME).$(POD_NAMESPACE)", "etcd-0.ns"),
        ("$$(POD_NAME)", "$(POD_NAME)"),
        ("$(UNDEFINED)", "$(UNDEFINED)"),
        ("$POD_NAME", "$POD_NAME"),
    ],
)
def test_kubernetes_env_expansion(text, expanded):
    assert expand_kubernetes_refs(text, {"POD_NAME": "etcd-0", "POD_NAMESPACE": "ns"}) == expanded


def test_plan_gives_each_pod_its_volumes_and_binds_the_config_listeners_to_its_address(tmp_path):
    statefulset = only(
        rendered_manifests("etcdReplicas=3", "etcdStorageMemory=false", "etcdSnapshotEnabled=true"),
        "StatefulSet",
    )
    stand_ins = StandIns("/bin/etcd", tmp_path / "tools")
    addresses = ["127.9.9.1", "127.9.9.2", "127.9.9.3"]
    (tmp_path / "disk").mkdir()
    plans = plan_pods(statefulset, addresses, tmp_path / "disk", tmp_path / "mem", stand_ins)
    member = plans[1]
    assert member.pod_name == "kafscale-etcd-1"
    assert [c.name for c in member.init_containers] == [
        "member-scripts",
        "member-join",
        "snapshot-fetch",
        "member-restore",
    ]
    assert [c.name for c in member.containers] == ["etcd", "member-promote"]
    assert member.argv[-2:] == ("/bin/etcd", "--config-file=/etc/etcd/etcd.conf.yml")
    join = next(c for c in member.init_containers if c.name == "member-join")
    config = yaml.safe_load(join.env["ETCD_CONFIG"])
    assert config["name"] == "kafscale-etcd-1"
    assert config["listen-client-urls"] == "http://127.9.9.2:2379"
    assert config["listen-peer-urls"] == "http://127.9.9.2:2380"
    # Everything else as rendered: the advertised URLs are DNS names /etc/hosts resolves.
    assert config["advertise-client-urls"] == (
        "http://kafscale-etcd-1.kafscale-etcd.kafscale-dev.svc.cluster.local:2379"
    )
    assert member.volume_dirs["data"] == tmp_path / "disk" / "kafscale-etcd-1" / "data"
    assert member.volume_dirs[CONFIG_VOLUME].parent == tmp_path / "disk" / "kafscale-etcd-1"
    hosts = (tmp_path / "disk" / "hosts").read_text()
    assert "127.9.9.3 kafscale-etcd-2.kafscale-etcd.kafscale-dev.svc.cluster.local" in hosts


def test_memory_mode_puts_the_data_dir_on_the_tmpfs_directory(tmp_path):
    statefulset = only(rendered_manifests("etcdReplicas=1", "etcdStorageMemory=true"), "StatefulSet")
    (tmp_path / "disk").mkdir()
    (member,) = plan_pods(
        statefulset, ["127.9.9.1"], tmp_path / "disk", tmp_path / "mem", StandIns("/bin/etcd", tmp_path)
    )
    assert member.volume_dirs["data"] == tmp_path / "mem" / "kafscale-etcd-0" / "data"
    assert "data" in member.empty_dir_volumes


@pytest.mark.etcd
@other_build_in_soak("debian")
def test_the_dev_stack_is_ready_with_three_voters_and_its_job_succeeds(etcd_binary):
    """The dev stack as a developer runs it on one node (every lab pod shares this machine): its
    first `pulumi up` order, the scale-down Job then the StatefulSet, ends with three voters, every
    pod Ready, and the Job's exit 0."""
    manifests = rendered_manifests()
    with LocalCluster(manifests, etcd_binary) as cluster:
        for member in cluster.members:
            cluster.wait_until_ready(member.pod_name)
        (job,) = [m for m in manifests if m["kind"] == "Job"]
        log = cluster.run_job(job)  # raises on a failed Job, as `pulumi up` fails
        assert "nothing to remove" in log, log
        members = membership(cluster)
        assert len(members) == 3 and not any(m.is_learner for m in members)
        assert all(cluster.pod_ready(m.pod_name) for m in cluster.members)
        # Every member bootstrapped under one token: the cluster's and the stack's identity.
        (configmap,) = [m for m in manifests if m["metadata"]["name"] == "kafscale-etcd-members"]
        token = f"kafscale-etcd-{configmap['data']['identity']}"
        for member in cluster.members:
            config_dir = cluster.volume_dir(member.pod_name, CONFIG_VOLUME)
            config = yaml.safe_load((config_dir / Path(CONFIG_FILE).name).read_text())
            assert config["initial-cluster-token"] == token, member.pod_name


@pytest.mark.etcd
@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param(("etcdStorageMemory=false",), id="disk-3"),
        pytest.param(("etcdReplicas=1",), id="memory-1"),
        pytest.param(("etcdAutoCompactionMode=revision",), id="revision-3"),
    ],
)
def test_rendered_objects_boot_elect_a_leader_and_serve_writes(etcd_binary, overrides):
    manifests = rendered_manifests(*overrides)
    with LocalCluster(manifests, etcd_binary) as cluster:
        leader = cluster.wait_for_leader()
        assert leader in [m.pod_name for m in cluster.members]
        assert len(cluster.members) == only(manifests, "StatefulSet")["spec"]["replicas"]
        with cluster.client(0) as client:
            client.put("/kafscale/topics/t/partitions/0/next_offset", "42")
            assert sorted(m.name for m in client.members()) == sorted(cluster.client_urls_by_pod)
        for index in range(len(cluster.members)):
            with cluster.client(index) as client:
                assert client.get("/kafscale/topics/t/partitions/0/next_offset") == "42"
        pids = list(cluster.process_ids().values())
        assert len(pids) == len(cluster.members)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@pytest.mark.etcd
def test_a_flag_etcd_rejects_fails_startup_with_etcds_own_message(etcd_binary):
    manifests = rendered_manifests("etcdReplicas=1")
    join = init_container(only(manifests, "StatefulSet"), "member-join")
    config = next(e for e in join["env"] if e["name"] == "ETCD_CONFIG")
    # What the operator would pass for a typo: the raw, unvalidated retention.
    config["value"] = config["value"].replace('"5m"', '"5 minutes"')
    with pytest.raises(LocalClusterError, match="exited with code") as caught:
        with LocalCluster(manifests, etcd_binary):
            pass
    assert "5 minutes" in str(caught.value) or "retention" in str(caught.value).lower()


@pytest.mark.etcd
def test_a_bad_retention_in_config_never_reaches_etcd(etcd_binary):
    manifests = rendered_manifests("etcdReplicas=1", "etcdAutoCompactionRetention=5 minutes")
    join = init_container(only(manifests, "StatefulSet"), "member-join")
    config = yaml.safe_load(next(e["value"] for e in join["env"] if e["name"] == "ETCD_CONFIG"))
    assert config["auto-compaction-retention"] == "5m"
    with LocalCluster(manifests, etcd_binary) as cluster:
        assert cluster.wait_for_leader() == "kafscale-etcd-0"


def test_a_missing_etcd_binary_is_a_clear_error():
    with pytest.raises(LocalClusterError, match="not found: install Debian's etcd-server"):
        LocalCluster(rendered_manifests("etcdReplicas=1"), "/nonexistent/etcd")


@pytest.mark.etcd
@pytest.mark.parametrize("etcd_binary", ["debian"], indirect=True)
def test_probes_act_as_rendered_readiness_gates_and_a_failing_liveness_probe_restarts_etcd(
    etcd_binary, tmp_path
):
    """The sidecar's exec readiness probe runs in its own mounts: it fails until the voting file
    is in the pod's state volume, then passes. A one-member pod is Ready once it serves. A
    liveness probe that can only fail (its path pointed where etcd serves nothing, one failure
    allowed) stops etcd, which the lab starts again after the kubelet's back-off."""
    manifests = rendered_manifests("etcdReplicas=1")
    statefulset = only(manifests, "StatefulSet")
    (tmp_path / "disk").mkdir()
    tools_image_path(tmp_path / "tools", etcd_binary)
    stand_ins = StandIns(etcd_binary, tmp_path / "tools")
    (plan,) = plan_pods(statefulset, ["127.9.9.1"], tmp_path / "disk", tmp_path / "mem", stand_ins)
    for directory in plan.volume_dirs.values():  # the pod's volumes, as the kubelet makes them
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o777)
    (gate,) = [probe for probe in plan.readiness if probe.container == "member-promote"]
    state = plan.volume_dirs[STATE_VOLUME]
    assert not gate.passes()
    (state / Path(VOTING_FILE).name).write_text("")
    assert gate.passes()
    with LocalCluster(manifests, etcd_binary) as cluster:
        (member,) = cluster.members
        cluster.wait_until_ready(member.pod_name)
    (etcd,) = [c for c in pod_spec(only(manifests, "StatefulSet"))["containers"] if c["name"] == "etcd"]
    liveness = etcd["livenessProbe"]
    liveness.update(
        periodSeconds=1, failureThreshold=1, httpGet={**liveness["httpGet"], "path": "/nothing-here"}
    )
    with LocalCluster(manifests, etcd_binary, restart_containers=True) as cluster:
        (member,) = cluster.members
        first = cluster.process_ids()[member.pod_name]
        log = cluster.log_path(member.pod_name)
        wait_for(
            lambda: "liveness probe failed 1 times in a row: restarting etcd" in log.read_text(),
            "the restart",
        )
        wait_for(lambda: cluster.process_ids().get(member.pod_name, first) != first, "etcd started again")
