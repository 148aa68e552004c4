"""The membership objects beside the StatefulSet: the members ConfigMap, the bootstrap marker and
the scale-down Job, and the rule they exist for: scaling changes them, never the pod template."""

import re
from typing import Any

import pytest

from kafscale.config.settings import parse_settings
from kafscale.objects.membership import scale_down_script
from kafscale.offline.engine import stand_in_hex
from kafscale_lab.manifests import container, pod_spec
from tests.support import MOCK_IDENTITY, render_objects, run_component

LABELS = {"app": "kafscale-etcd", "cluster": "prod"}
TOOLS_IMAGE = "ghcr.io/kafscale/kafscale-etcd-tools:dev"
CLUSTER_MOUNTS = [
    {"name": "etcd-cluster", "mountPath": "/etc/etcd-cluster", "readOnly": True},
    {"name": "etcd-bootstrapped", "mountPath": "/etc/etcd-bootstrapped", "readOnly": True},
]


def _objects(**raw):
    return render_objects(**{"clusterName": "prod", "namespace": "streaming", **raw})


def _job(**raw):
    return _objects(**raw).get("Job", "prod-etcd-scale-down")


def _shrink_container(job):
    (shrink,) = pod_spec(job)["containers"]
    assert shrink["name"] == "member-shrink"
    return shrink


def _env(container_, name):
    (value,) = [e["value"] for e in container_["env"] if e["name"] == name]
    return value


def _maintenance_pod(objects):
    return pod_spec(objects.get("CronJob", "prod-etcd-maintenance"))


def _member_hosts(replicas, namespace="streaming", cluster="prod"):
    return [f"{cluster}-etcd-{i}.{cluster}-etcd.{namespace}.svc.cluster.local" for i in range(replicas)]


# The scale-down Job


def test_the_scale_down_job_runs_once_and_gives_up_in_time():
    job = _job()
    assert job["apiVersion"] == "batch/v1"
    assert job["metadata"] == {
        "name": "prod-etcd-scale-down",
        "namespace": "streaming",
        "labels": {"app.kubernetes.io/component": "etcd-membership", **LABELS},
        "annotations": {"pulumi.com/replaceUnready": "true"},
    }
    spec = job["spec"]
    assert spec["backoffLimit"] == 0
    assert spec["activeDeadlineSeconds"] == 360
    assert pod_spec(job)["restartPolicy"] == "Never"
    # The script gives up (with its reason in the log) before Kubernetes kills the pod.
    assert int(_env(_shrink_container(job), "SHRINK_TIMEOUT_S")) < spec["activeDeadlineSeconds"]
    assert spec["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == "etcd-membership"


def test_a_failed_scale_down_job_is_run_again_by_the_next_pulumi_up():
    """pulumi-kubernetes awaits a Job that failed again on every later update unless it carries
    `pulumi.com/replaceUnready`: then Diff replaces a Job that is not ready (provider.go, Diff),
    so once the missing member is back, the next `pulumi up` runs the removal again."""
    job = render_objects(etcdReplicas="1").get("Job", "kafscale-etcd-scale-down")
    assert job["metadata"]["annotations"] == {"pulumi.com/replaceUnready": "true"}


def test_the_scale_down_job_runs_the_member_script_in_the_tools_image():
    shrink = _shrink_container(_job())
    assert shrink["image"] == TOOLS_IMAGE
    assert shrink["command"] == ["/bin/sh", "-c", scale_down_script(), "etcd-scale-down.sh"]
    assert shrink["env"] == [
        {"name": "CLUSTER_DIR", "value": "/etc/etcd-cluster"},
        {"name": "BOOTSTRAP_MARKER", "value": "/etc/etcd-bootstrapped/bootstrapped"},
        {"name": "TARGET_REPLICAS", "value": "3"},
        {
            "name": "CLIENT_URLS",
            "value": ",".join(
                f"http://prod-etcd-{i}.prod-etcd.streaming.svc.cluster.local:2379" for i in range(7)
            ),
        },
        {"name": "MEMBER_PREFIX", "value": "prod-etcd"},
        {"name": "SHRINK_TIMEOUT_S", "value": "300"},
    ]
    custom = _shrink_container(_job(etcdSnapshotEtcdctlImage="registry.example/tools:1.2"))
    assert custom["image"] == "registry.example/tools:1.2"


@pytest.mark.parametrize("replicas", [1, 3, 5])
def test_the_scale_down_job_targets_the_configured_replicas(replicas):
    objects = _objects(etcdReplicas=str(replicas))
    shrink = _shrink_container(objects.get("Job", "prod-etcd-scale-down"))
    assert _env(shrink, "TARGET_REPLICAS") == str(replicas)
    assert objects.get("StatefulSet", "prod-etcd")["spec"]["replicas"] == replicas
    # The members it removes are the StatefulSet's pods: `<MEMBER_PREFIX>-<ordinal>`.
    assert _env(shrink, "MEMBER_PREFIX") == objects.get("StatefulSet", "prod-etcd")["metadata"]["name"]


def test_the_scale_down_job_mounts_both_configmaps_read_only():
    job = _job()
    assert pod_spec(job)["volumes"] == [
        {"name": "etcd-cluster", "configMap": {"name": "prod-etcd-members"}},
        {"name": "etcd-bootstrapped", "configMap": {"name": "prod-etcd-bootstrapped", "optional": True}},
    ]
    assert _shrink_container(job)["volumeMounts"] == CLUSTER_MOUNTS


@pytest.mark.parametrize(
    "raw", [{}, {"etcdRunAsUser": "1001", "etcdReadOnlyRootFilesystem": "false"}], ids=["default", "custom"]
)
def test_the_scale_down_job_pod_is_secured_like_the_cronjobs(raw):
    objects = _objects(**raw)
    job = objects.get("Job", "prod-etcd-scale-down")
    job_pod, cronjob_pod = pod_spec(job), _maintenance_pod(objects)
    assert job_pod["securityContext"] == cronjob_pod["securityContext"]
    (maintenance,) = cronjob_pod["containers"]
    assert _shrink_container(job)["securityContext"] == maintenance["securityContext"]
    expected_user = int(raw.get("etcdRunAsUser", "65532"))
    assert job_pod["securityContext"]["runAsUser"] == expected_user
    assert job_pod["securityContext"]["runAsNonRoot"] is True
    assert maintenance["securityContext"]["readOnlyRootFilesystem"] is (
        raw.get("etcdReadOnlyRootFilesystem", "true") == "true"
    )


# The members ConfigMap


@pytest.mark.parametrize("replicas", [1, 3, 5])
def test_the_members_configmap_lists_every_member(replicas):
    configmap = _objects(etcdReplicas=str(replicas)).get("ConfigMap", "prod-etcd-members")
    assert configmap["apiVersion"] == "v1"
    assert configmap["metadata"] == {"name": "prod-etcd-members", "namespace": "streaming", "labels": LABELS}
    hosts = _member_hosts(replicas)
    assert configmap["data"] == {
        "initial-cluster": ",".join(f"prod-etcd-{i}=http://{host}:2380" for i, host in enumerate(hosts)),
        "client-urls": ",".join(f"http://{host}:2379" for host in hosts),
        "identity": MOCK_IDENTITY,
    }


def test_the_members_configmap_holds_the_identity_the_component_drew():
    """The identity is a RandomId's hex digits, one RandomId per component: a first bootstrap's
    token ends with it (etcd-member.sh `bootstrap_token`). Pulumi keeps its value in the stack's
    state; the random provider draws again only when an input changes (pulumi-random wraps
    terraform-provider-random: internal/provider/resource_id.go, every attribute
    `RequiresReplace`), so every `pulumi up` of a stack renders the same identity, and a stack
    created again after `pulumi destroy` gets a new one."""
    run, _ = run_component(clusterName="prod", namespace="streaming")
    (identity,) = run.of_type("random:index/randomId:RandomId")
    assert identity.name == "etcd-identity"
    assert identity.inputs == {"byteLength": 6}
    (configmap,) = [r for r in run.of_type("kubernetes:core/v1:ConfigMap") if r.name.endswith("-members")]
    assert configmap.inputs["data"]["identity"] == stand_in_hex("etcd-identity", 6) == MOCK_IDENTITY
    assert re.fullmatch(r"[0-9a-f]{12}", MOCK_IDENTITY)


def test_the_members_configmap_follows_cluster_name_and_namespace():
    configmap = render_objects(clusterName="orders-eu", namespace="kafka-prod").get(
        "ConfigMap", "orders-eu-etcd-members"
    )
    assert configmap["metadata"]["namespace"] == "kafka-prod"
    assert configmap["data"]["initial-cluster"] == (
        "orders-eu-etcd-0=http://orders-eu-etcd-0.orders-eu-etcd.kafka-prod.svc.cluster.local:2380,"
        "orders-eu-etcd-1=http://orders-eu-etcd-1.orders-eu-etcd.kafka-prod.svc.cluster.local:2380,"
        "orders-eu-etcd-2=http://orders-eu-etcd-2.orders-eu-etcd.kafka-prod.svc.cluster.local:2380"
    )
    assert configmap["data"]["client-urls"].split(",") == [
        f"http://{host}:2379" for host in _member_hosts(3, namespace="kafka-prod", cluster="orders-eu")
    ]


def test_the_members_configmap_lists_the_members_the_component_exports():
    _, etcd = run_component(clusterName="prod", namespace="streaming", etcdReplicas="5")
    configmap = _objects(etcdReplicas="5").get("ConfigMap", "prod-etcd-members")
    assert configmap["data"]["client-urls"].split(",") == etcd["member_endpoints"]


def test_the_pod_mounts_the_files_the_configmaps_hold():
    """The script reads `$CLUSTER_DIR/initial-cluster`, `$CLUSTER_DIR/client-urls` and
    `$BOOTSTRAP_MARKER`: each is a key of the ConfigMap mounted there."""
    objects = _objects()
    statefulset = objects.get("StatefulSet", "prod-etcd")
    join = next(c for c in pod_spec(statefulset)["initContainers"] if c["name"] == "member-join")
    promote = container(statefulset, "member-promote")
    volumes = {v["name"]: v for v in pod_spec(statefulset)["volumes"]}
    for container_ in (join, promote):
        mounts = {m["mountPath"]: volumes.get(m["name"], {}) for m in container_["volumeMounts"]}
        cluster_volume = mounts[_env(container_, "CLUSTER_DIR")]
        members = objects.get("ConfigMap", cluster_volume["configMap"]["name"])
        assert {"initial-cluster", "client-urls"} <= set(members["data"])
        marker_dir, marker_key = _env(container_, "BOOTSTRAP_MARKER").rsplit("/", 1)
        marker = objects.get("ConfigMap", mounts[marker_dir]["configMap"]["name"])
        assert marker_key in marker["data"]
        # Absent until the cluster first became ready: the pod must start without it.
        assert mounts[marker_dir]["configMap"]["optional"] is True
        assert cluster_volume["configMap"].get("optional") is not True


# The bootstrap marker


def test_the_bootstrap_marker_is_named_and_labelled_for_the_cluster():
    marker = _objects().get("ConfigMap", "prod-etcd-bootstrapped")
    assert marker["apiVersion"] == "v1"
    assert marker["metadata"] == {
        "name": "prod-etcd-bootstrapped",
        "namespace": "streaming",
        "labels": {"app.kubernetes.io/component": "etcd-bootstrap-marker", **LABELS},
    }
    (text,) = marker["data"].values()
    assert "prod-etcd" in text
    assert list(marker["data"]) == ["bootstrapped"]


def test_the_bootstrap_marker_does_not_depend_on_the_replica_count():
    assert _objects(etcdReplicas="3").get("ConfigMap", "prod-etcd-bootstrapped") == _objects(
        etcdReplicas="5"
    ).get("ConfigMap", "prod-etcd-bootstrapped")


# Scaling


@pytest.mark.parametrize("storage_memory", ["false", "true"])
def test_scaling_changes_the_configmap_and_the_job_but_never_the_pod_template(storage_memory):
    three = _objects(etcdReplicas="3", etcdStorageMemory=storage_memory)
    five = _objects(etcdReplicas="5", etcdStorageMemory=storage_memory)
    statefulsets = [objects.get("StatefulSet", "prod-etcd") for objects in (three, five)]
    assert statefulsets[0]["spec"]["template"] == statefulsets[1]["spec"]["template"]
    assert [s["spec"]["replicas"] for s in statefulsets] == [3, 5]
    # Everything but the count is the same StatefulSet: no rolling restart of the members that stay.
    specs = [{k: v for k, v in s["spec"].items() if k != "replicas"} for s in statefulsets]
    assert specs[0] == specs[1]
    for kind, name in [("ConfigMap", "prod-etcd-members"), ("Job", "prod-etcd-scale-down")]:
        assert three.get(kind, name) != five.get(kind, name), (kind, name)
    assert _env(_shrink_container(three.get("Job", "prod-etcd-scale-down")), "TARGET_REPLICAS") == "3"
    assert _env(_shrink_container(five.get("Job", "prod-etcd-scale-down")), "TARGET_REPLICAS") == "5"


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector["matchLabels"].items())


@pytest.mark.parametrize("memory", ["true", "false"])
def test_no_task_pod_is_selected_as_a_member(memory):
    """The pods of the Job and the CronJobs stay outside every selector that means "the members":
    the Services', the PodDisruptionBudget's and the members' anti-affinity's."""
    objects = render_objects(clusterName="prod", namespace="streaming", etcdStorageMemory=memory)
    statefulset = objects.get("StatefulSet", "prod-etcd")
    member_labels = statefulset["spec"]["template"]["metadata"]["labels"]
    selectors = [
        {"matchLabels": objects.get("Service", "prod-etcd")["spec"]["selector"]},
        {"matchLabels": objects.get("Service", "prod-etcd-client")["spec"]["selector"]},
        objects.get("PodDisruptionBudget", "prod-etcd")["spec"]["selector"],
        statefulset["spec"]["selector"],
        *(
            term.get("podAffinityTerm", term)["labelSelector"]
            for terms in statefulset["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"].values()
            for term in terms
        ),
    ]
    task_pods = [
        pod_template
        for manifest in objects.manifests
        if manifest["kind"] in ("Job", "CronJob")
        for pod_template in [
            manifest["spec"]["jobTemplate"]["spec"]["template"]
            if manifest["kind"] == "CronJob"
            else manifest["spec"]["template"]
        ]
    ]
    assert len(task_pods) == 4  # the scale-down Job, two maintenance CronJobs, the snapshot CronJob
    for selector in selectors:
        assert _selects(selector, member_labels)
        for pod in task_pods:
            assert not _selects(selector, pod["metadata"]["labels"]), (selector, pod["metadata"])


@pytest.mark.parametrize(
    ("raw", "warned"),
    [
        ({"etcdReplicas": "1", "etcdStorageMemory": "true"}, True),
        ({"etcdReplicas": "1", "etcdStorageMemory": "false"}, False),
        ({"etcdReplicas": "3", "etcdStorageMemory": "true"}, False),
        ({"etcdReplicas": "1", "etcdStorageMemory": "true", "etcdEndpoints": "http://etcd:2379"}, False),
    ],
)
def test_a_single_member_in_memory_mode_is_warned_about_at_preview(raw, warned):
    """Nothing can make one tmpfs member survive its pod: preview says so, and the value stands."""
    parsed = parse_settings(raw)
    messages = [w.message for w in parsed.warnings if w.key == "etcdReplicas"]
    assert parsed.settings.replicas == int(raw["etcdReplicas"])
    if warned:
        assert messages == [
            'kafscale:etcdReplicas: "1" member in memory mode keeps every offset in one pod\'s tmpfs: '
            "its first pod restart (an eviction, a node drain, any change to the pod template) loses "
            "them all, and the member then waits for a restore rather than start empty; using 1"
        ]
    else:
        assert messages == []


def test_no_pod_gets_an_api_token_and_no_rbac_is_rendered():
    """Membership needs no Kubernetes API: the pods get no service account token to misuse."""
    objects = render_objects(etcdMonitoring="true")
    pods = [
        pod_spec(m) if m["kind"] != "Job" else m["spec"]["template"]["spec"]
        for m in objects.manifests
        if m["kind"] in ("StatefulSet", "CronJob", "Job")
    ]
    assert len(pods) == 5  # the StatefulSet, the Job and three CronJobs
    assert all(pod["automountServiceAccountToken"] is False for pod in pods)
    assert not {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "ServiceAccount"} & {
        m["kind"] for m in objects.manifests
    }


@pytest.mark.parametrize(
    ("image", "warned"),
    [
        ("registry.k8s.io/etcd:3.6.0-0", True),
        ("quay.io/coreos/etcd:v3.6.3", True),
        ("kubesphere/etcd:3.6.4-0", False),
        ("quay.io/coreos/etcd:v3.5.21", False),
        ("registry.example/etcd@sha256:" + "a" * 64, False),
    ],
)
def test_an_image_with_the_learner_replay_defect_is_warned_about(image, warned):
    parsed = parse_settings({"etcdImage": image})
    messages = [w.message for w in parsed.warnings if w.key == "etcdImage" and "20340" in w.message]
    assert parsed.settings.image == image
    assert bool(messages) is warned
    if warned:
        assert "etcd-io/etcd/issues/20340, fixed in 3.6.4): use 3.6.4 or later" in messages[0]
