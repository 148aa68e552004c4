import pulumi
import pytest
import yaml

from kafscale.offline.engine import run_program
from kafscale.offline.render import kubernetes_manifests
from kafscale.offline.stack_config import load_stack_config
from kafscale_lab.manifests import etcd_container, init_container, only, pod_spec
from tests.support import PROJECT_DIR, besides_pinning

MAIN = PROJECT_DIR / "__main__.py"


def _run_dev(*overrides):
    config = load_stack_config(PROJECT_DIR, "dev", overrides)
    return run_program(MAIN, config.values, project=config.project, stack="dev")


def test_dev_stack_renders_the_managed_etcd_in_memory_mode():
    run = _run_dev()
    manifests = kubernetes_manifests(run)
    assert [(m["kind"], m["metadata"]["name"]) for m in manifests] == [
        ("ConfigMap", "kafscale-etcd-bootstrapped"),
        ("ConfigMap", "kafscale-etcd-members"),
        ("Service", "kafscale-etcd"),
        ("Service", "kafscale-etcd-client"),
        ("Job", "kafscale-etcd-scale-down"),
        ("StatefulSet", "kafscale-etcd"),
        ("PodDisruptionBudget", "kafscale-etcd"),
        ("NetworkPolicy", "kafscale-etcd"),
        ("CronJob", "kafscale-etcd-maintenance"),
        ("CronJob", "kafscale-etcd-maintenance-check"),
    ]
    assert {m["metadata"]["namespace"] for m in manifests} == {"kafscale-dev"}
    statefulset = only(manifests, "StatefulSet")
    container = etcd_container(statefulset)
    assert container["resources"] == {
        "requests": {"cpu": "100m", "memory": "512Mi"},
        "limits": {"memory": "1280Mi"},
    }
    assert container["args"] == ["--config-file=/etc/etcd/etcd.conf.yml"]
    join = init_container(statefulset, "member-join")
    (config,) = [e["value"] for e in join["env"] if e["name"] == "ETCD_CONFIG"]
    assert yaml.safe_load(config)["quota-backend-bytes"] == 536870912
    members = next(m for m in manifests if m["metadata"]["name"] == "kafscale-etcd-members")
    assert members["data"]["initial-cluster"] == ",".join(
        f"kafscale-etcd-{i}=http://kafscale-etcd-{i}.kafscale-etcd.kafscale-dev.svc.cluster.local:2380"
        for i in range(3)
    )
    # The dev stack's images are tags: one warning names them (backups off: no upload image).
    (pinning,) = run.warnings
    assert pinning.startswith(
        'kafscale:etcdImage "kubesphere/etcd:3.6.4-0"; kafscale:etcdSnapshotEtcdctlImage '
        '"ghcr.io/kafscale/kafscale-etcd-tools:dev": a tag without a digest can be pushed again'
    )


def test_dev_stack_exports():
    exports = _run_dev().exports
    assert exports["clientEndpoints"] == ["http://kafscale-etcd-client.kafscale-dev.svc.cluster.local:2379"]
    assert exports["memberEndpoints"] == [
        f"http://kafscale-etcd-{i}.kafscale-etcd.kafscale-dev.svc.cluster.local:2379" for i in range(3)
    ]
    assert exports["statefulSetName"] == "kafscale-etcd"
    assert exports["managed"] is True
    assert exports["settings"]["etcdQuotaBackendBytes"] == 536870912
    assert exports["settings"]["etcdStorageMemory"] is True
    assert exports["settings"]["namespace"] == "kafscale-dev"


def test_program_reports_each_fallback_as_a_pulumi_warning():
    # A write rate, so that the default quota's memory limit is sized from it: no tmpfs warning.
    run = _run_dev("etcdReplicas=lots", "etcdQuotaBackendBytes=banana", "etcdExpectedWriteRate=500")
    assert len(besides_pinning(run.warnings)) == 2
    assert any("kafscale:etcdReplicas" in w and '"lots"' in w and w.endswith("using 3") for w in run.warnings)
    assert any(
        "kafscale:etcdQuotaBackendBytes" in w and '"banana"' in w and w.endswith("using 4294967296")
        for w in run.warnings
    )


def test_program_stops_with_a_run_error_on_a_name_kubernetes_would_refuse():
    with pytest.raises(pulumi.RunError, match="kafscale:clusterName"):
        _run_dev("clusterName=Prod_EU")


def test_external_endpoints_as_a_yaml_list_provision_nothing(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text((PROJECT_DIR / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.ext.yaml").write_text(
        "config:\n  kafscale:etcdEndpoints:\n    - http://etcd-a:2379\n    - http://etcd-b:2379\n"
    )
    config = load_stack_config(tmp_path, "ext")
    run = run_program(MAIN, config.values, project=config.project, stack="ext")
    assert kubernetes_manifests(run) == []
    assert run.exports["managed"] is False
    assert run.exports["clientEndpoints"] == ["http://etcd-a:2379", "http://etcd-b:2379"]


def test_the_dev_stack_runs_on_one_node_and_aims_at_no_bucket():
    """A developer's cluster is often one node, with no bucket: no member may need a node of its
    own (`required` anti-affinity would leave two of three Pending), and no snapshot CronJob may
    upload to a bucket nobody created."""
    manifests = kubernetes_manifests(_run_dev())
    affinity = pod_spec(only(manifests, "StatefulSet"))["affinity"]["podAntiAffinity"]
    assert "requiredDuringSchedulingIgnoredDuringExecution" not in affinity
    assert affinity["preferredDuringSchedulingIgnoredDuringExecution"]
    assert not [
        m for m in manifests if m["kind"] == "CronJob" and m["metadata"]["name"].endswith("-snapshot")
    ]
    statefulset = only(manifests, "StatefulSet")
    containers = [*pod_spec(statefulset).get("initContainers", []), *pod_spec(statefulset)["containers"]]
    assert not [c for c in containers if c["name"].startswith("snapshot")]  # no restore from a bucket either


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ((), ["etcdImage", "etcdSnapshotEtcdctlImage"]),
        (("etcdSnapshotEnabled=true",), ["etcdImage", "etcdSnapshotEtcdctlImage", "etcdSnapshotImage"]),
        ((f"etcdImage=kubesphere/etcd:3.6.4-0@sha256:{'a' * 64}",), ["etcdSnapshotEtcdctlImage"]),
        (
            (
                f"etcdImage=kubesphere/etcd@sha256:{'a' * 64}",
                f"etcdSnapshotEtcdctlImage=ghcr.io/kafscale/kafscale-etcd-tools:dev@sha256:{'b' * 64}",
            ),
            [],
        ),
        (("etcdEndpoints=http://etcd.example:2379",), []),  # nothing runs here
    ],
    ids=["dev", "backups-on", "etcd-pinned", "all-pinned", "external"],
)
def test_preview_names_every_image_without_a_digest_in_one_warning(overrides, named):
    warnings = [w for w in _run_dev(*overrides).warnings if "without a digest" in w]
    if not named:
        assert warnings == []
        return
    (warning,) = warnings
    assert [part.split()[0] for part in warning.split(": a tag")[0].split("; ")] == [
        f"kafscale:{key}" for key in named
    ]
