import re

import pytest
import yaml

from kafscale.config import keys
from kafscale.config.settings import parse_settings
from kafscale.objects.membership import etcd_flags, member_script
from kafscale_lab.manifests import script_and_args
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
# The flags the member-join init container decides (from the members ConfigMap and the cluster).
MEMBERSHIP_FLAGS = ("initial-cluster", "initial-cluster-state")
TOOLS_IMAGE = "ghcr.io/kafscale/kafscale-etcd-tools:dev"
RESTRICTED = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
}
CONFIG_MOUNT = {"name": "etcd-config", "mountPath": "/etc/etcd", "readOnly": True}
CLUSTER_MOUNTS = [
    {"name": "etcd-cluster", "mountPath": "/etc/etcd-cluster", "readOnly": True},
    {"name": "etcd-bootstrapped", "mountPath": "/etc/etcd-bootstrapped", "readOnly": True},
]
SCRIPTS_MOUNT = {"name": "member-scripts", "mountPath": "/var/run/etcd-member-scripts", "readOnly": True}
MEMBERSHIP_VOLUMES = [
    {"name": "member-scripts", "emptyDir": {}},
    {"name": "etcd-config", "emptyDir": {}},
    {"name": "member-state", "emptyDir": {}},
    {"name": "etcd-cluster", "configMap": {"name": "kafscale-etcd-members"}},
    {"name": "etcd-bootstrapped", "configMap": {"name": "kafscale-etcd-bootstrapped", "optional": True}},
    # A person's decision on a lost cluster: never rendered as an object, read when it exists.
    {"name": "etcd-recovery", "configMap": {"name": "kafscale-etcd-recovery", "optional": True}},
    # Backups are on by default: the restore's download and the AWS CLI's HOME.
    {"name": "restore", "emptyDir": {}},
    {"name": "tmp", "emptyDir": {}},
]
PROMOTE_RESOURCES = {"requests": {"cpu": "5m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}}


def _flags(**raw):
    settings = parse_settings(raw).settings
    return etcd_flags(settings, settings.names)


def _as_args(flags):
    return [f"--{key}={value}" for key, value in flags.items()]


def _pod_spec(objects, statefulset_name="kafscale-etcd"):
    return objects.get("StatefulSet", statefulset_name)["spec"]["template"]["spec"]


def _join_container(objects, statefulset_name="kafscale-etcd"):
    init_containers = _pod_spec(objects, statefulset_name)["initContainers"]
    return next(c for c in init_containers if c["name"] == "member-join")


def _promote_container(objects):
    return next(c for c in _pod_spec(objects)["containers"] if c["name"] == "member-promote")


def _env(container, name):
    (value,) = [e["value"] for e in container["env"] if e["name"] == name]
    return value


def _config_file(objects, statefulset_name="kafscale-etcd"):
    """The fixed part of etcd's config file, as etcd reads it (YAML)."""
    return yaml.safe_load(_env(_join_container(objects, statefulset_name), "ETCD_CONFIG"))


# The default image, kubesphere/etcd:3.6.4-0: 3.6's names for the corruption checks.
CORRUPTION_CHECKS_3_6 = {
    "feature-gates": "InitialCorruptCheck=true,CompactHashCheck=true",
    "corrupt-check-time": 900_000_000_000,
}


def _expected_config(flags):
    return {
        **{key: value for key, value in flags.items() if key not in MEMBERSHIP_FLAGS},
        "enable-grpc-gateway": True,
        **CORRUPTION_CHECKS_3_6,
    }


def _assert_same_values_and_types(actual, expected):
    """Equal, key order included, and typed alike: 1 == True would pass a plain comparison."""
    assert list(actual.items()) == list(expected.items())
    assert {k: type(v) for k, v in actual.items()} == {k: type(v) for k, v in expected.items()}


def test_default_flags_are_the_operators_args_in_its_order():
    assert _as_args(_flags()) == DEFAULT_ARGS


def test_the_config_file_holds_every_flag_but_the_membership_ones():
    flags = _flags()
    config = _config_file(render_objects())
    _assert_same_values_and_types(config, _expected_config(flags))
    assert config["quota-backend-bytes"] == 4294967296
    assert type(config["quota-backend-bytes"]) is int
    assert config["enable-grpc-gateway"] is True
    assert not set(MEMBERSHIP_FLAGS) & set(config)


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
    flags = _flags(**raw)
    assert _as_args(flags) == expected
    _assert_same_values_and_types(_config_file(render_objects(**raw)), _expected_config(flags))


def test_retention_stays_a_string_and_the_quota_a_number_in_the_config_file():
    """etcd's config file is typed: a retention such as 1000000 must not become a number."""
    config = _config_file(render_objects(etcdAutoCompactionMode="revision", etcdQuotaBackendBytes="8Gi"))
    assert config["auto-compaction-retention"] == "1000000"
    assert config["quota-backend-bytes"] == 8589934592


def test_the_config_file_refers_only_to_env_defined_before_it():
    """The kubelet expands `$(VAR)` in an env value from the variables listed before it only."""
    container = _join_container(render_objects())
    names = [e["name"] for e in container["env"]]
    refs = set(re.findall(r"\$\(([A-Z_]+)\)", _env(container, "ETCD_CONFIG")))
    assert refs == {"POD_NAME", "POD_NAMESPACE"}
    assert all(names.index(ref) < names.index("ETCD_CONFIG") for ref in refs)
    assert container["env"][:2] == [
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
    ]


@pytest.mark.parametrize("replicas", [1, 3, 5])
def test_initial_cluster_lists_one_peer_url_per_replica(replicas):
    objects = render_objects(etcdReplicas=str(replicas), clusterName="prod", namespace="streaming")
    assert objects.get("StatefulSet", "prod-etcd")["spec"]["replicas"] == replicas
    flags = _flags(etcdReplicas=str(replicas), clusterName="prod", namespace="streaming")
    assert flags["initial-cluster"] == ",".join(
        f"prod-etcd-{i}=http://prod-etcd-{i}.prod-etcd.$(POD_NAMESPACE).svc.cluster.local:2380"
        for i in range(replicas)
    )
    assert flags["initial-cluster-state"] == "new"
    assert flags["initial-cluster-token"] == "prod-etcd"
    members = objects.get("ConfigMap", "prod-etcd-members")["data"]
    assert members["initial-cluster"] == flags["initial-cluster"].replace("$(POD_NAMESPACE)", "streaming")
    assert members["initial-cluster"].count("=http://") == replicas
    assert _config_file(objects, "prod-etcd")["initial-cluster-token"] == "prod-etcd"


def test_etcd_starts_from_the_config_file_the_init_container_writes():
    objects = render_objects()
    container = objects.etcd_container()
    assert container["name"] == "etcd"
    assert container["image"] == "kubesphere/etcd:3.6.4-0"
    assert container["command"] == ["etcd"]
    assert container["args"] == ["--config-file=/etc/etcd/etcd.conf.yml"]
    # Only what tells the sidecar which etcd of the shared process namespace is this pod's.
    pod_name = {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
    pod_ip = {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}
    assert container["env"] == [pod_name, pod_ip]
    assert _pod_spec(objects)["shareProcessNamespace"] is True
    assert container["ports"] == [
        {"name": "client", "containerPort": 2379},
        {"name": "peer", "containerPort": 2380},
    ]
    assert container["volumeMounts"] == [{"name": "data", "mountPath": "/var/lib/etcd"}, CONFIG_MOUNT]
    assert container["securityContext"] == RESTRICTED
    join = _join_container(objects)
    assert _env(join, "CONFIG_FILE") == "/etc/etcd/etcd.conf.yml"
    assert _env(join, "DATA_DIR") == "/var/lib/etcd"
    assert {"name": "etcd-config", "mountPath": "/etc/etcd"} in join["volumeMounts"]


@pytest.mark.parametrize(("container_name", "task"), [("member-join", "join"), ("member-promote", "promote")])
def test_membership_containers_run_the_member_script_in_the_tools_image(container_name, task):
    objects = render_objects()
    pod = _pod_spec(objects)
    assert [c["name"] for c in pod["initContainers"]] == [
        "member-scripts",
        "member-join",
        "snapshot-fetch",
        "member-restore",
    ]
    assert [c["name"] for c in pod["containers"]] == ["etcd", "member-promote"]
    container = next(c for c in pod["initContainers"] + pod["containers"] if c["name"] == container_name)
    assert container["image"] == TOOLS_IMAGE
    # The script as packaged, from the one copy the first init container wrote.
    assert container["command"] == ["/bin/sh", "/var/run/etcd-member-scripts/etcd-member.sh", task]
    assert SCRIPTS_MOUNT in container["volumeMounts"]
    assert script_and_args(container, pod) == (member_script(), ["etcd-member.sh", task])
    assert container["securityContext"] == RESTRICTED == objects.etcd_container()["securityContext"]
    assert "args" not in container
    # The sidecar answers the other members on the evidence port, whatever state etcd is in.
    expected_ports = [{"name": "evidence", "containerPort": 2382}] if task == "promote" else None
    assert container.get("ports") == expected_ports


def test_the_promote_container_is_ready_only_once_its_member_votes_when_probes_are_on():
    """A learner answers /health like a voter: the pod's readiness waits for the promotion, so
    neither the client Service nor a rolling update counts a learner as a member."""
    probe = _promote_container(render_objects())["readinessProbe"]
    assert probe == {
        "exec": {"command": ["/bin/sh", "-c", 'test -f "/var/run/etcd-member/voting"']},
        "periodSeconds": 5,
    }
    # Probes off (pods start in order): the same gate. A member that started `new` is ready at
    # once (tests/test_member_script.py), so a first bootstrap still creates every pod.
    assert _promote_container(render_objects(etcdProbes="false"))["readinessProbe"] == probe


def test_membership_containers_follow_the_tools_image_and_the_security_settings():
    objects = render_objects(
        etcdSnapshotEtcdctlImage="registry.example/tools:1.2", etcdReadOnlyRootFilesystem="false"
    )
    writable = {**RESTRICTED, "readOnlyRootFilesystem": False}
    for container in (_join_container(objects), _promote_container(objects)):
        assert container["image"] == "registry.example/tools:1.2"
        assert container["securityContext"] == writable
    assert objects.etcd_container()["securityContext"] == writable
    assert objects.etcd_container()["image"] == "kubesphere/etcd:3.6.4-0"


def test_join_and_promote_mount_what_the_script_reads():
    objects = render_objects()
    join, promote = _join_container(objects), _promote_container(objects)
    member_mounts = [
        SCRIPTS_MOUNT,
        *CLUSTER_MOUNTS,
        {"name": "etcd-recovery", "mountPath": "/etc/etcd-recovery", "readOnly": True},
        {"name": "member-state", "mountPath": "/var/run/etcd-member"},
    ]
    assert join["volumeMounts"] == [
        {"name": "data", "mountPath": "/var/lib/etcd"},
        {"name": "etcd-config", "mountPath": "/etc/etcd"},
        {"name": "restore", "mountPath": "/var/lib/etcd-restore"},
        *member_mounts,
    ]
    # The sidecar reads the data dir (it answers that this member holds data while etcd is down)
    # and rewrites etcd's config file for a recovery from this member's data.
    assert promote["volumeMounts"] == [
        *member_mounts,
        {"name": "data", "mountPath": "/var/lib/etcd", "readOnly": True},
        {"name": "etcd-config", "mountPath": "/etc/etcd"},
    ]
    assert _env(promote, "VOTING_FILE") == "/var/run/etcd-member/voting"
    assert _env(promote, "DATA_DIR") == "/var/lib/etcd"
    assert _env(promote, "CONFIG_FILE") == "/etc/etcd/etcd.conf.yml"
    for container in (join, promote):
        assert _env(container, "EVIDENCE_PORT") == "2382"
        assert _env(container, "EVIDENCE_FILE") == "/var/run/etcd-member/evidence"
        assert _env(container, "DECISION_FILE") == "/etc/etcd-recovery/decision"
        assert _env(container, "RECOVERY_CONFIGMAP") == "kafscale-etcd-recovery"
        pod_ip = {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}
        assert pod_ip in container["env"]
        assert _env(container, "CLUSTER_DIR") == "/etc/etcd-cluster"
        assert _env(container, "BOOTSTRAP_MARKER") == "/etc/etcd-bootstrapped/bootstrapped"
        assert _env(container, "MEMBER_PEER_URL") == (
            "http://$(POD_NAME).kafscale-etcd.$(POD_NAMESPACE).svc.cluster.local:2380"
        )
        assert _env(container, "MEMBER_CLIENT_URL") == (
            "http://$(POD_NAME).kafscale-etcd.$(POD_NAMESPACE).svc.cluster.local:2379"
        )
    # The member's own peer URL is the one etcd advertises: the script finds its entry by it.
    assert _env(join, "MEMBER_PEER_URL") == _config_file(objects)["initial-advertise-peer-urls"]
    assert _env(join, "MEMBER_CLIENT_URL") == _config_file(objects)["advertise-client-urls"]


@pytest.mark.parametrize("memory", ["true", "false"])
def test_every_mount_names_a_volume_of_the_pod(memory):
    statefulset = render_objects(etcdStorageMemory=memory).get("StatefulSet", "kafscale-etcd")
    pod = statefulset["spec"]["template"]["spec"]
    volumes = {v["name"] for v in pod["volumes"]}
    volumes |= {c["metadata"]["name"] for c in statefulset["spec"].get("volumeClaimTemplates", [])}
    mounts = {m["name"] for c in pod["initContainers"] + pod["containers"] for m in c["volumeMounts"]}
    assert mounts <= volumes


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
        "requests": {"cpu": keys.CPU_REQUEST.default, "memory": request_},
        "limits": {"memory": limit},
    }
    # The tmpfs reservation is etcd's alone: the membership containers keep their own sizes.
    assert "resources" not in _join_container(objects)
    assert _promote_container(objects)["resources"] == PROMOTE_RESOURCES
    assert spec["template"]["spec"]["volumes"] == [
        {"name": "snapshots", "emptyDir": {}},
        *MEMBERSHIP_VOLUMES,
        {"name": "data", "emptyDir": {"medium": "Memory", "sizeLimit": limit}},
    ]
    assert "volumeClaimTemplates" not in spec


def test_disk_mode_requests_cpu_and_memory_without_limits_and_a_claim_template_without_class():
    objects = render_objects()
    spec = objects.get("StatefulSet", "kafscale-etcd")["spec"]
    # Measured defaults (docs/capacity.md, "Requests"); no limit: a member may burst.
    assert objects.etcd_container()["resources"] == {
        "requests": {"cpu": keys.CPU_REQUEST.default, "memory": keys.MEMORY_REQUEST.default}
    }
    assert "resources" not in _join_container(objects)
    assert _promote_container(objects)["resources"] == PROMOTE_RESOURCES
    assert spec["template"]["spec"]["volumes"] == [{"name": "snapshots", "emptyDir": {}}, *MEMBERSHIP_VOLUMES]
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


@pytest.mark.parametrize("memory", ["true", "false"])
def test_guaranteed_qos_sets_every_containers_limits_to_its_requests(memory):
    """Kubernetes gives a pod the Guaranteed QoS class only when every container, init containers
    included, has CPU and memory limits equal to its requests (Kubernetes docs, "Pod Quality of
    Service Classes")."""
    objects = render_objects(
        etcdStorageMemory=memory, etcdGuaranteedQos="true", etcdCpuRequest="1", etcdMemoryRequest="2Gi"
    )
    pod = objects.get("StatefulSet", "kafscale-etcd")["spec"]["template"]["spec"]
    for container in [*pod["initContainers"], *pod["containers"]]:
        resources = container["resources"]
        assert resources["requests"] == resources["limits"], container["name"]
        assert set(resources["requests"]) == {"cpu", "memory"}, container["name"]
    etcd = objects.etcd_container()["resources"]["requests"]
    assert etcd["cpu"] == "1"
    # Memory mode requests the whole limit (quota + headroom), disk mode etcdMemoryRequest.
    assert etcd["memory"] == ("4608Mi" if memory == "true" else "2Gi")
