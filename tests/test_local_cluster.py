"""The rendered StatefulSet, booted as real etcd processes."""

import pytest

from kafscale_lab.local_cluster import LocalCluster, LocalClusterError, expand_kubernetes_refs, plan_members
from kafscale_lab.manifests import etcd_container
from tests.support import rendered_statefulset


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


def test_plan_maps_pod_dns_names_listeners_and_volumes_onto_this_machine(tmp_path):
    statefulset = rendered_statefulset("etcdReplicas=3", "etcdStorageMemory=false")
    plans = plan_members(
        statefulset, "/bin/etcd", ["127.9.9.1", "127.9.9.2", "127.9.9.3"], tmp_path / "disk", tmp_path / "mem"
    )
    assert plans[1].argv == (
        "/bin/etcd",
        "--name=kafscale-etcd-1",
        f"--data-dir={tmp_path}/disk/kafscale-etcd-1/data",
        "--listen-peer-urls=http://127.9.9.2:2380",
        "--listen-client-urls=http://127.9.9.2:2379",
        "--advertise-client-urls=http://127.9.9.2:2379",
        "--initial-advertise-peer-urls=http://127.9.9.2:2380",
        "--initial-cluster=kafscale-etcd-0=http://127.9.9.1:2380,"
        "kafscale-etcd-1=http://127.9.9.2:2380,kafscale-etcd-2=http://127.9.9.3:2380",
        "--initial-cluster-state=new",
        "--initial-cluster-token=kafscale-etcd",
        "--auto-compaction-mode=periodic",
        "--auto-compaction-retention=5m",
        "--quota-backend-bytes=2147483648",
    )


def test_memory_mode_puts_the_data_dir_on_the_tmpfs_directory(tmp_path):
    plans = plan_members(
        rendered_statefulset("etcdReplicas=1"), "etcd", ["127.9.9.1"], tmp_path / "d", tmp_path / "m"
    )
    assert f"--data-dir={tmp_path}/m/kafscale-etcd-0/data" in plans[0].argv


@pytest.mark.etcd
@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param((), id="dev-memory-3"),
        pytest.param(("etcdStorageMemory=false",), id="disk-3"),
        pytest.param(("etcdReplicas=1",), id="memory-1"),
        pytest.param(("etcdAutoCompactionMode=revision",), id="revision-3"),
    ],
)
def test_rendered_statefulset_boots_elects_a_leader_and_serves_writes(etcd_binary, overrides):
    statefulset = rendered_statefulset(*overrides)
    with LocalCluster(statefulset, etcd_binary) as cluster:
        leader = cluster.wait_for_leader()
        assert leader in [m.pod_name for m in cluster.members]
        assert len(cluster.members) == statefulset["spec"]["replicas"]
        with cluster.client(0) as client:
            client.put("/kafscale/topics/t/partitions/0/next_offset", "42")
        for index in range(len(cluster.members)):
            with cluster.client(index) as client:
                assert client.get("/kafscale/topics/t/partitions/0/next_offset") == "42"
        processes = list(cluster._processes.values())
    assert all(process.poll() is not None for process in processes), "members outlived the cluster"


@pytest.mark.etcd
def test_a_flag_etcd_rejects_fails_startup_with_etcds_own_message(etcd_binary):
    statefulset = rendered_statefulset("etcdReplicas=1")
    container = etcd_container(statefulset)
    # What the operator would pass for a typo: the raw, unvalidated retention.
    container["args"] = [
        "--auto-compaction-retention=5 minutes" if a.startswith("--auto-compaction-retention=") else a
        for a in container["args"]
    ]
    with pytest.raises(LocalClusterError, match="exited with code") as caught:
        with LocalCluster(statefulset, etcd_binary):
            pass
    assert "5 minutes" in str(caught.value) or "retention" in str(caught.value).lower()


@pytest.mark.etcd
def test_a_bad_retention_in_config_never_reaches_etcd(etcd_binary):
    statefulset = rendered_statefulset("etcdReplicas=1", "etcdAutoCompactionRetention=5 minutes")
    args = etcd_container(statefulset)["args"]
    assert "--auto-compaction-retention=5m" in args
    with LocalCluster(statefulset, etcd_binary) as cluster:
        assert cluster.wait_for_leader() == "kafscale-etcd-0"


def test_a_missing_etcd_binary_is_a_clear_error():
    with pytest.raises(LocalClusterError, match="not found: install Debian's etcd-server"):
        LocalCluster(rendered_statefulset("etcdReplicas=1"), "/nonexistent/etcd")
