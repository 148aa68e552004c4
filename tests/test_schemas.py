"""Every object the component can render is valid against the Kubernetes OpenAPI schemas.

`kubernetes-validate` in strict mode: unknown fields are rejected, so a misspelt or misplaced
field fails here instead of being dropped silently by the API server. Checked for the oldest and
the newest Kubernetes version the README claims.
"""

import copy
import functools
import json
from typing import Any

import kubernetes_validate
import kubernetes_validate.utils
import pytest

from kafscale.objects.composition import KIND_ORDER
from kafscale_lab.manifests import only
from tests.support import PROJECT_DIR, render_objects

OLDEST, NEWEST = "1.25.0", "1.37.0"
VARIANTS = {
    "defaults-disk": {},
    "memory": {"etcdStorageMemory": "true", "etcdQuotaBackendBytes": "3000000000"},
    "storage-class": {"etcdStorageClass": "fast-ssd", "etcdStorageSize": "20Gi"},
    "maintenance-off": {"etcdMaintenanceEnabled": "false"},
    "probes-off": {"etcdProbes": "off"},
    "policy-off": {"etcdNetworkPolicy": "off"},
    "policy-with-clients": {
        "etcdClientNamespaces": "apps,monitoring",
        "etcdClientPodSelectors": "app=kafscale-broker;app.kubernetes.io/name=console,tier=x",
    },
    "writable-root": {"etcdReadOnlyRootFilesystem": "false", "etcdRunAsUser": "1001"},
    "revision-5-members": {"etcdAutoCompactionMode": "revision", "etcdReplicas": "5"},
    "external-endpoints": {"etcdEndpoints": "http://etcd-a:2379,http://etcd-b:2379"},
    "monitoring": {"etcdMonitoring": "on", "etcdMonitoringLabels": "release=prometheus"},
    "zone-spread": {"etcdZoneSpread": "true"},
    "auth": {"etcdAuth": "on", "etcdAuthConsoleUser": "true"},
    "snapshot-s3": {
        "etcdSnapshotS3Endpoint": "http://minio.storage:9000",
        "etcdSnapshotS3Region": "eu-west-1",
        "etcdSnapshotCredentialsSecret": "s3-creds",
        "etcdSnapshotKeep": "24",
        "etcdSnapshotCreateBucket": "true",
    },
    "snapshot-off": {"etcdSnapshotEnabled": "false"},
    "adopting": {"etcdAdoptOperatorObjects": "true", "etcdProbes": "off"},
    "platform-rules": {
        "etcdPodLabels": "team=streaming,tier=data",
        "etcdPodAnnotations": '{"example.com/owner":"streaming","example.com/note":"a, b"}',
        "etcdLabels": "cost-center=streaming",
        "etcdNodeSelector": "node-role.example.com/etcd=true",
        "etcdTolerations": '[{"key":"dedicated","operator":"Equal","value":"etcd","effect":"NoSchedule"},'
        '{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":30}]',
        "etcdPriorityClassName": "system-cluster-critical",
        "etcdImagePullSecrets": "registry-a,registry-b",
        "etcdServiceAccountAnnotations": "eks.amazonaws.com/role-arn=arn:aws:iam::111122223333:role/etcd",
        "etcdCreateNamespace": "true",
    },
    "existing-service-account": {"etcdServiceAccountName": "etcd-backups"},
    "guaranteed-memory": {"etcdStorageMemory": "true", "etcdGuaranteedQos": "true", "etcdCpuRequest": "1"},
    "guaranteed-disk": {"etcdGuaranteedQos": "true", "etcdCpuRequest": "500m", "etcdMemoryRequest": "1G"},
    "cron-every": {"etcdMaintenanceSchedule": "@every 6h", "etcdSnapshotSchedule": "@every 30m"},
    "peer-tls-secret": {"etcdPeerTlsSecret": "etcd-peer"},
    "peer-tls-cert-manager": {"etcdPeerTlsIssuer": "ClusterIssuer/cluster-ca"},
    "peer-url-http": {"etcdPeerTlsIssuer": "cluster-ca", "etcdPeerUrlScheme": "http"},
    "client-tls-secret": {"etcdClientTlsSecret": "etcd-client"},
    "client-tls-cert-manager": {"etcdClientTlsIssuer": "ClusterIssuer/cluster-ca"},
}
# Custom resources: not in the Kubernetes schemas. The Prometheus operator's rules are checked by
# promtool (tests/test_alerts.py); cert-manager's Certificate by tests/test_peer_tls.py and
# tests/test_client_tls.py.
CUSTOM_RESOURCE_KINDS = {"ServiceMonitor", "PrometheusRule", "Certificate"}


RENDERED = {variant: render_objects(**raw).manifests for variant, raw in VARIANTS.items()}


def _distinct_cases() -> list[Any]:
    """One case per distinct object: a Service every variant renders alike is validated once."""
    cases: dict[str, Any] = {}
    for variant, manifests in RENDERED.items():
        for manifest in manifests:
            text = json.dumps(manifest, sort_keys=True)
            if manifest["kind"] not in CUSTOM_RESOURCE_KINDS and text not in cases:
                case_id = f"{variant}-{manifest['kind']}-{manifest['metadata']['name']}"
                cases[text] = pytest.param(manifest, id=case_id)
    return list(cases.values())


CASES = _distinct_cases()

# Each validation reads its kind's schema file afresh (kubernetes_validate/utils.py
# `schema_contents`: a JSON file of up to 1 MB per call); the files never change within a run, so
# each is read once. The validation itself is the library's own.
kubernetes_validate.utils.schema_contents = functools.cache(kubernetes_validate.utils.schema_contents)


@pytest.mark.parametrize("version", [OLDEST, NEWEST])
@pytest.mark.parametrize("manifest", CASES)
def test_every_rendered_object_is_schema_valid_in_strict_mode(manifest, version):
    kubernetes_validate.validate(manifest, version, strict=True)


def test_the_variants_cover_every_kind_we_render_and_external_endpoints_render_nothing():
    kinds = {m["kind"] for manifests in RENDERED.values() for m in manifests}
    assert kinds == set(KIND_ORDER)
    assert RENDERED["external-endpoints"] == []


def test_the_variants_render_each_placement():
    """Both anti-affinities and the zone spread reach the schema check above."""
    pods = {
        variant: only(manifests, "StatefulSet")["spec"]["template"]["spec"]
        for variant, manifests in RENDERED.items()
        if manifests
    }
    assert list(pods["memory"]["affinity"]["podAntiAffinity"]) == [
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]
    assert list(pods["defaults-disk"]["affinity"]["podAntiAffinity"]) == [
        "preferredDuringSchedulingIgnoredDuringExecution"
    ]
    assert "topologySpreadConstraints" in pods["zone-spread"]
    assert not any("topologySpreadConstraints" in p for v, p in pods.items() if v != "zone-spread")


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (("spec", "template", "spec", "containers", 0), "livenesProbe"),
        (("spec", "template", "spec", "securityContext"), "readOnlyRootFilesystem"),  # container-only
        (("spec",), "podManagmentPolicy"),
    ],
)
def test_strict_mode_really_rejects_an_unknown_field(path, field):
    """The control: the same validation fails when one misplaced field is added."""
    statefulset = only(RENDERED["defaults-disk"], "StatefulSet")
    broken = copy.deepcopy(statefulset)
    target: Any = broken
    for step in path:
        target = target[step]
    target[field] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, NEWEST, strict=True)


def test_the_readme_claims_the_versions_tested_here():
    readme = (PROJECT_DIR / "README.md").read_text()
    assert f"Kubernetes {OLDEST.removesuffix('.0')} to {NEWEST.removesuffix('.0')}" in readme
