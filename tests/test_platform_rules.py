"""What a platform's admission rules ask of every pod and object: labels, annotations, a node
selector, a priority class, pull secrets, a ServiceAccount for the bucket's pods (IRSA, EKS Pod
Identity) and the namespace itself."""

import pytest

from kafscale.config import keys
from kafscale.config.settings import parse_settings
from kafscale.objects.composition import apply_after
from kafscale.objects.platform import pod_templates
from tests.support import PROJECT_DIR, besides_pinning, render_objects, run_cli, yaml_documents

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


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "dedicated=etcd:NoSchedule",
            [{"key": "dedicated", "operator": "Equal", "value": "etcd", "effect": "NoSchedule"}],
        ),
        (
            "dedicated:NoSchedule, gpu:PreferNoSchedule",
            [
                {"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"},
                {"key": "gpu", "operator": "Exists", "effect": "PreferNoSchedule"},
            ],
        ),
        (
            '[{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":30}]',
            [
                {
                    "key": "node.kubernetes.io/unreachable",
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 30,
                }
            ],
        ),
        ('[{"operator":"Exists"}]', [{"operator": "Exists"}]),  # tolerates every taint
    ],
    ids=["taint-equal", "taints-exists", "yaml-list", "everything"],
)
def test_tolerations_reach_every_pod_as_kubernetes_holds_them(raw, expected):
    settings = parse_settings({"etcdTolerations": raw})
    assert settings.warnings == ()
    assert settings.settings.as_config_values()["etcdTolerations"] == expected
    for _, pod in _pods(render_objects(etcdTolerations=raw).manifests):
        assert pod["spec"]["tolerations"] == expected


@pytest.mark.parametrize(
    "raw",
    [
        "dedicated=etcd",  # no effect
        "dedicated=etcd:NoRun",
        '[{"key":"a","operator":"Exists","value":"x"}]',  # Exists takes no value
        '[{"operator":"Equal","value":"x"}]',  # no key needs Exists
        '[{"key":"a","effect":"NoSchedule","tolerationSeconds":30}]',  # seconds only with NoExecute
        '[{"key":"a","effect":"NoExecute","tolerationSeconds":"30"}]',
        '[{"key":"a","colour":"red"}]',
        '[{"key":"bad key"}]',
        "[not json",
    ],
)
def test_a_toleration_kubernetes_would_refuse_falls_back_to_none_with_a_warning(raw):
    parsed = parse_settings({"etcdTolerations": raw})
    (warning,) = parsed.warnings
    assert warning.key == "etcdTolerations" and parsed.settings.tolerations == ()


def test_a_stack_file_gives_them_as_yaml_maps_and_lists(tmp_path):
    """Pulumi hands a structured stack config value to the program as JSON text (its
    `config.get`); Pulumi.yaml declares these keys untyped, so that a map or a list passes the
    CLI's type check."""
    for name in ("Pulumi.yaml", "__main__.py"):
        (tmp_path / name).write_text((PROJECT_DIR / name).read_text())
    (tmp_path / "Pulumi.t.yaml").write_text(
        "config:\n"
        "  kafscale:etcdPodLabels:\n    team: streaming\n"
        "  kafscale:etcdPodAnnotations:\n    example.com/note: 'a, b'\n"
        "  kafscale:etcdTolerations:\n    - key: dedicated\n      operator: Equal\n      value: etcd\n"
        "      effect: NoSchedule\n"
        "  kafscale:etcdImagePullSecrets:\n    - registry-a\n"
    )
    result = run_cli("render", "--stack", "t", "--project-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert besides_pinning(result.stderr.splitlines()) == []
    statefulset = next(d for d in yaml_documents(result.stdout) if d["kind"] == "StatefulSet")
    pod = statefulset["spec"]["template"]
    assert pod["metadata"]["labels"]["team"] == "streaming"
    assert pod["metadata"]["annotations"] == {"example.com/note": "a, b"}
    assert pod["spec"]["tolerations"] == [
        {"key": "dedicated", "operator": "Equal", "value": "etcd", "effect": "NoSchedule"}
    ]
    assert pod["spec"]["imagePullSecrets"] == [{"name": "registry-a"}]
