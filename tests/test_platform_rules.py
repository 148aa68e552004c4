"""What a platform's admission rules ask of every pod and object: labels, annotations, a node
selector, a priority class, pull secrets, a ServiceAccount for the bucket's pods (IRSA, EKS Pod
Identity) and the namespace itself."""

import pytest

from kafscale import config_keys as keys
from kafscale.objects import apply_after
from kafscale.objects.platform import pod_templates
from kafscale.settings import parse_settings
from tests.support import render_objects

PLATFORM = {
    "etcdPodLabels": "team=streaming",
    "etcdPodAnnotations": '{"example.com/note":"a, b"}',
    "etcdLabels": "cost-center=streaming",
    "etcdNodeSelector": "node-role.example.com/etcd=true",
    "etcdPriorityClassName": "system-cluster-critical",
    "etcdImagePullSecrets": "registry-a, registry-b",
}
ROLE = "eks.amazonaws.com/role-arn=arn:aws:iam::111122223333:role/etcd"


def _pods(manifests):
    return [(m, template) for m in manifests for template in pod_templates(m)]


def test_every_pod_takes_the_platforms_rules_and_keeps_its_own_labels():
    manifests = render_objects(**PLATFORM, etcdMonitoring="on").manifests
    pods = _pods(manifests)
    assert {m["kind"] for m, _ in pods} == {"StatefulSet", "Job", "CronJob"}
    for manifest, pod in pods:
        labels = pod["metadata"]["labels"]
        assert labels["team"] == "streaming" and labels["cluster"] == "kafscale", manifest["metadata"]["name"]
        assert labels["app"] in ("kafscale-etcd", "kafscale-etcd-task")  # selectors untouched
        assert pod["metadata"]["annotations"]["example.com/note"] == "a, b"
        spec = pod["spec"]
        assert spec["nodeSelector"] == {"node-role.example.com/etcd": "true"}
        assert spec["priorityClassName"] == "system-cluster-critical"
        assert spec["imagePullSecrets"] == [{"name": "registry-a"}, {"name": "registry-b"}]
        assert spec["automountServiceAccountToken"] is False
    for manifest in manifests:
        assert manifest["metadata"]["labels"]["cost-center"] == "streaming", manifest["metadata"]["name"]
    statefulset = next(m for m in manifests if m["kind"] == "StatefulSet")
    assert statefulset["spec"]["selector"] == {"matchLabels": {"app": "kafscale-etcd", "cluster": "kafscale"}}


def test_by_default_no_pod_carries_any_of_them():
    for _, pod in _pods(render_objects().manifests):
        assert not {"nodeSelector", "priorityClassName", "imagePullSecrets", "serviceAccountName"} & set(
            pod["spec"]
        )
        assert "annotations" not in pod["metadata"]


@pytest.mark.parametrize(
    ("overrides", "created", "used"),
    [
        ({"etcdServiceAccountAnnotations": ROLE}, "kafscale-etcd", "kafscale-etcd"),
        ({"etcdServiceAccountAnnotations": ROLE, "etcdServiceAccountName": "backups"}, "backups", "backups"),
        ({"etcdServiceAccountName": "backups"}, None, "backups"),  # an existing one
        ({"etcdServiceAccountAnnotations": ROLE, "etcdSnapshotEnabled": "false"}, None, None),
    ],
    ids=["created", "created-named", "existing", "backups-off"],
)
def test_the_pods_that_reach_the_bucket_run_as_the_service_account(overrides, created, used):
    manifests = render_objects(**overrides).manifests
    accounts = [m for m in manifests if m["kind"] == "ServiceAccount"]
    if created is None:
        assert accounts == []
    else:
        (account,) = accounts
        assert account["metadata"]["name"] == created
        assert account["metadata"]["annotations"] == {ROLE.split("=")[0]: ROLE.split("=", 1)[1]}
        assert account["automountServiceAccountToken"] is False
    running_as = {
        (m["kind"], m["metadata"]["name"]): pod["spec"].get("serviceAccountName")
        for m, pod in _pods(manifests)
    }
    expected = {key: None for key in running_as}
    if used is not None:  # the members (their snapshot-fetch step) and the upload
        expected[("StatefulSet", "kafscale-etcd")] = used
        expected[("CronJob", "kafscale-etcd-snapshot")] = used
    assert running_as == expected


def test_a_created_namespace_comes_first_and_is_the_one_every_object_waits_for():
    settings = parse_settings({"etcdCreateNamespace": "true", "namespace": "streaming"}).settings
    manifests = render_objects(etcdCreateNamespace="true", namespace="streaming").manifests
    (created,) = [m for m in manifests if m["kind"] == "Namespace"]
    assert created["metadata"]["name"] == "streaming"
    order = apply_after(settings)
    for manifest in manifests:
        key = (manifest["kind"], manifest["metadata"]["name"])
        if key != ("Namespace", "streaming"):
            assert ("Namespace", "streaming") in order[key], key


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("etcdPodLabels", "app=other"),  # would move the pods out of their selector
        ("etcdPodLabels", "cluster=x"),
        ("etcdLabels", "team=Bad Value"),
        ("etcdNodeSelector", "a=b,a=c"),
        ("etcdNodeSelector", "{not json"),
        ("etcdPodAnnotations", "=x"),
        ("etcdPodAnnotations", '{"a": 1}'),
        ("etcdPodAnnotations", "big=" + "x" * (256 * 1024)),
        ("etcdPriorityClassName", "System_Critical"),
        ("etcdServiceAccountName", "-backups"),
        ("etcdServiceAccountAnnotations", "no equals sign"),
    ],
)
def test_a_value_that_cannot_be_used_falls_back_to_none_with_a_warning(key, raw):
    parsed = parse_settings({key: raw})
    (warning,) = parsed.warnings
    assert warning.key == key
    config_key = next(k for k in keys.CONFIG_KEYS if k.name == key)
    assert getattr(parsed.settings, config_key.field) == config_key.unset
    assert len(warning.message) < 400  # the value is shown cut short, never whole


def test_a_bad_pull_secret_is_left_out_and_the_others_kept():
    parsed = parse_settings({"etcdImagePullSecrets": "registry-a,Bad_Name"})
    assert parsed.settings.image_pull_secrets == ("registry-a",)
    (warning,) = parsed.warnings
    assert "Bad_Name" in warning.message and '["registry-a"]' in warning.message
