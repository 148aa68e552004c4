import pytest

from tests.support import render_objects

DEFAULT_ARGS = [
    "--name=$(POD_NAME)",
    "--data-dir=/var/lib/etcd",
    "--listen-peer-urls=http://0.0.0.0:2380",
    "--listen-client-urls=http://0.0.0.0:2379",
    "--advertise-client-urls=http://$(POD_NAME).kafscale-etcd.$(POD_NAMESPACE).svc.cluster.local:2379",
    "--initial-advertise-peer-urls=http://$(POD_NAME).kafscale-etcd.$(POD_NAMESPACE).svc.cluster.local:2380",
    "--initial-cluster="
    "kafscale-etcd-0=http://kafscale-etcd-0.kafscale-etcd.$(POD_NAMESPACE).svc.cluster.local:2380,"
    "kafscale-etcd-1=http://kafscale-etcd-1.kafscale-etcd.$(POD_NAMESPACE).svc.cluster.local:2380,"
    "kafscale-etcd-2=http://kafscale-etcd-2.kafscale-etcd.$(POD_NAMESPACE).svc.cluster.local:2380",
    "--initial-cluster-state=new",
    "--initial-cluster-token=kafscale-etcd",
    "--auto-compaction-mode=periodic",
    "--auto-compaction-retention=5m",
    "--quota-backend-bytes=4294967296",
]


def test_default_args_in_the_operators_order():
    assert render_objects().etcd_container()["args"] == DEFAULT_ARGS


@pytest.mark.parametrize(
    ("raw", "changed"),
    [
        (
            {"etcdAutoCompactionMode": "revision"},
            {9: "--auto-compaction-mode=revision", 10: "--auto-compaction-retention=1000000"},
        ),
        (
            {"etcdAutoCompactionMode": "Revision", "etcdAutoCompactionRetention": "50000"},
            {9: "--auto-compaction-mode=revision", 10: "--auto-compaction-retention=50000"},
        ),
        ({"etcdAutoCompactionRetention": "1h30m"}, {10: "--auto-compaction-retention=1h30m"}),
        ({"etcdAutoCompactionRetention": "2"}, {10: "--auto-compaction-retention=2"}),
        ({"etcdQuotaBackendBytes": "8Gi"}, {11: "--quota-backend-bytes=8589934592"}),
        ({"etcdQuotaBackendBytes": "3000000000"}, {11: "--quota-backend-bytes=3000000000"}),
        ({"etcdQuotaBackendBytes": "banana"}, {}),
        ({"etcdAutoCompactionRetention": "five minutes"}, {}),
    ],
)
def test_each_tuning_knob_changes_only_its_own_flag(raw, changed):
    expected = list(DEFAULT_ARGS)
    for index, arg in changed.items():
        expected[index] = arg
    assert render_objects(**raw).etcd_container()["args"] == expected


@pytest.mark.parametrize("replicas", [1, 3, 5])
def test_initial_cluster_lists_one_peer_url_per_replica(replicas):
    objects = render_objects(etcdReplicas=str(replicas), clusterName="prod", namespace="streaming")
    statefulset = objects.get("StatefulSet", "prod-etcd")
    assert statefulset["spec"]["replicas"] == replicas
    args = objects.etcd_container("prod-etcd")["args"]
    initial_cluster = next(a for a in args if a.startswith("--initial-cluster="))
    assert initial_cluster == "--initial-cluster=" + ",".join(
        f"prod-etcd-{i}=http://prod-etcd-{i}.prod-etcd.$(POD_NAMESPACE).svc.cluster.local:2380"
        for i in range(replicas)
    )
    assert "--initial-cluster-token=prod-etcd" in args


def test_container_shape_matches_the_operator():
    container = render_objects().etcd_container()
    assert container["name"] == "etcd"
    assert container["image"] == "kubesphere/etcd:3.6.4-0"
    assert container["command"] == ["etcd"]
    assert container["ports"] == [
        {"name": "client", "containerPort": 2379},
        {"name": "peer", "containerPort": 2380},
    ]
    assert container["env"] == [
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
    ]
    assert container["volumeMounts"] == [{"name": "data", "mountPath": "/var/lib/etcd"}]


def test_statefulset_identity_selector_and_soft_anti_affinity():
    spec = render_objects().get("StatefulSet", "kafscale-etcd")["spec"]
    labels = {"app": "kafscale-etcd", "cluster": "kafscale"}
    assert spec["serviceName"] == "kafscale-etcd"
    assert spec["selector"] == {"matchLabels": labels}
    assert spec["template"]["metadata"]["labels"] == labels
    assert spec["template"]["spec"]["affinity"] == {
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 100,
                    "podAffinityTerm": {
                        "topologyKey": "kubernetes.io/hostname",
                        "labelSelector": {"matchLabels": labels},
                    },
                }
            ]
        }
    }


@pytest.mark.parametrize(
    ("quota", "request_", "limit"),
    [
        ("4294967296", "4Gi", "4608Mi"),
        ("4Gi", "4Gi", "4608Mi"),
        ("1Gi", "1Gi", "1536Mi"),
        ("1073741824", "1Gi", "1536Mi"),
        ("3000000000", "3000000000", "3536870912"),
    ],
)
def test_memory_mode_sizes_request_limit_and_tmpfs_from_the_quota(quota, request_, limit):
    objects = render_objects(etcdStorageMemory="true", etcdQuotaBackendBytes=quota)
    spec = objects.get("StatefulSet", "kafscale-etcd")["spec"]
    assert objects.etcd_container()["resources"] == {
        "requests": {"memory": request_},
        "limits": {"memory": limit},
    }
    assert spec["template"]["spec"]["volumes"] == [
        {"name": "snapshots", "emptyDir": {}},
        {"name": "data", "emptyDir": {"medium": "Memory", "sizeLimit": limit}},
    ]
    assert "volumeClaimTemplates" not in spec


def test_disk_mode_has_no_resources_and_a_claim_template_without_class():
    objects = render_objects()
    spec = objects.get("StatefulSet", "kafscale-etcd")["spec"]
    assert "resources" not in objects.etcd_container()
    assert spec["template"]["spec"]["volumes"] == [{"name": "snapshots", "emptyDir": {}}]
    assert spec["volumeClaimTemplates"] == [
        {
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}},
        }
    ]


def test_disk_mode_names_the_storage_class_only_when_set():
    spec = render_objects(etcdStorageSize="50Gi", etcdStorageClass="fast-ssd").get(
        "StatefulSet", "kafscale-etcd"
    )["spec"]
    assert spec["volumeClaimTemplates"][0]["spec"] == {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "50Gi"}},
        "storageClassName": "fast-ssd",
    }
