import pytest
from pulumi.runtime import mocks

from kafscale.config.settings import parse_settings
from kafscale.edge.component import COMPONENT_TYPE, child_name
from kafscale.objects.composition import apply_after
from kafscale.offline.render import kubernetes_manifests
from tests.support import render_objects, run_component
from tests.test_schemas import VARIANTS

# Variants that change only fields inside the objects the defaults render, in their storage mode:
# the component hands every field to the engine as it is, so one run with all of them at once
# proves them all (tests/test_schemas.py validates each on its own). The others change which
# objects exist or how the component registers them (options, outputs, passwords): a run each.
FIELD_VARIANTS = (
    "storage-class",
    "probes-off",
    "policy-with-clients",
    "writable-root",
    "revision-5-members",
    "zone-spread",
    "guaranteed-disk",
    "cron-every",
    "peer-tls-secret",
    "client-tls-secret",
    "snapshot-s3",
)
ENGINE_VARIANTS = {
    **{name: raw for name, raw in VARIANTS.items() if name not in FIELD_VARIANTS},
    "every-field-variant": {key: value for name in FIELD_VARIANTS for key, value in VARIANTS[name].items()},
}


def test_the_field_variants_touch_distinct_keys_and_change_only_fields():
    keys_by_variant = [set(VARIANTS[name]) for name in FIELD_VARIANTS]
    assert sum(map(len, keys_by_variant)) == len(set().union(*keys_by_variant))  # none overrides another

    def shape(raw):
        return [(m["kind"], m["metadata"]["name"]) for m in render_objects(**raw).manifests]

    for name in FIELD_VARIANTS:
        assert shape(VARIANTS[name]) == shape({}), name


@pytest.mark.parametrize("raw", ENGINE_VARIANTS.values(), ids=ENGINE_VARIANTS.keys())
def test_the_component_registers_exactly_the_built_objects(raw):
    """What the other tests read (render_objects: the pure builders) is what reaches the engine."""
    run, _ = run_component(**raw)
    assert kubernetes_manifests(run) == render_objects(**raw).manifests


def test_managed_etcd_creates_its_objects_all_parented_to_the_component():
    run, _ = run_component()
    (component,) = run.of_type(COMPONENT_TYPE)
    assert component.type_token == "kafscale-etcd:index:ManagedEtcd"  # <package>:<module>:<Class>
    children = [r for r in run.resources if r.type_token.startswith("kubernetes:")]
    for child in children:  # each named after the component: etcd-etcd, etcd-etcd-client, ...
        assert child.name == child_name("etcd", "kafscale", child.inputs["metadata"]["name"])
    assert sorted((r.type_token, r.inputs["metadata"]["name"]) for r in children) == [
        ("kubernetes:apps/v1:StatefulSet", "kafscale-etcd"),
        ("kubernetes:batch/v1:CronJob", "kafscale-etcd-maintenance"),
        ("kubernetes:batch/v1:CronJob", "kafscale-etcd-maintenance-check"),
        ("kubernetes:batch/v1:CronJob", "kafscale-etcd-snapshot"),
        ("kubernetes:batch/v1:Job", "kafscale-etcd-scale-down"),
        ("kubernetes:core/v1:ConfigMap", "kafscale-etcd-bootstrapped"),
        ("kubernetes:core/v1:ConfigMap", "kafscale-etcd-members"),
        ("kubernetes:core/v1:Service", "kafscale-etcd"),
        ("kubernetes:core/v1:Service", "kafscale-etcd-client"),
        ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "kafscale-etcd"),
        ("kubernetes:policy/v1:PodDisruptionBudget", "kafscale-etcd"),
    ]
    for child in children:
        assert child.parent_urn.endswith(f"${COMPONENT_TYPE}::etcd"), child.parent_urn


def _registered_dependencies(monkeypatch, **raw):
    """The component built under Pulumi's mocks, as the engine saw it: each Kubernetes resource,
    as (kind, name) in registration order, with the resources it depends on (`depends_on`)."""
    registered = {}  # URN -> (type token, name, dependency URNs), in registration order
    property_dependencies: dict[str, set[str]] = {}  # URN -> URNs any of its inputs came from
    register = mocks.MockMonitor.RegisterResource

    def recording(monitor, request):
        response = register(monitor, request)
        name = request.object["metadata"]["name"] if "metadata" in request.object else request.name
        registered[response.urn] = (request.type, name, list(request.dependencies))
        property_urns = {urn for deps in request.propertyDependencies.values() for urn in deps.urns}
        property_dependencies[response.urn] = property_urns
        return response

    monkeypatch.setattr(mocks.MockMonitor, "RegisterResource", recording)
    run_component(**raw)

    def key(urn):
        type_token, name, _ = registered[urn]
        return type_token.rsplit(":", 1)[1], name

    # One input comes from another resource: the members ConfigMap's data holds the stack's
    # identity, drawn by a RandomId. Nothing of a Kubernetes object comes from another.
    from_outputs = {key(urn): {key(d) for d in deps} for urn, deps in property_dependencies.items() if deps}
    members = ("ConfigMap", parse_settings(raw).settings.names.members_configmap)
    assert from_outputs == {members: {("RandomId", "etcd-identity")}}, "an input from another resource"
    return {  # between Kubernetes objects (the identity shows above)
        key(urn): [key(d) for d in dependencies if registered[d][0].startswith("kubernetes:")]
        for urn, (type_token, _, dependencies) in registered.items()
        if type_token.startswith("kubernetes:")
    }


@pytest.mark.parametrize(
    "raw",
    [{}, {"clusterName": "prod", "namespace": "streaming", "etcdReplicas": "5", "etcdMonitoring": "on"}],
    ids=["defaults", "prod-5-members-monitoring"],
)
def test_the_engine_applies_the_objects_in_the_order_apply_after_gives(monkeypatch, raw):
    """The order a scale-down needs, and nothing more.

    Pulumi's engine answers a registration only once the provider's create or update is done
    (pulumi/pulumi pkg/resource/deploy/source_eval.go `RegisterResource`: "block waiting for the
    operation to finish"), and pulumi-kubernetes' create and update await a StatefulSet until
    ready and a Job until complete (pulumi-kubernetes provider/pkg/await/awaiters.go, statefulset.go
    `processStatefulSetEvent`, checker/job/check.go `jobComplete`), so a `depends_on` waits for
    both. A replicas change replaces the Job and the members ConfigMap delete-first (fixed names:
    provider/pkg/provider/provider.go `Diff`, `deleteBeforeReplace`; diff.go `forceNewProperties`
    for a ConfigMap's data and a Job's template). That never replaces the StatefulSet: the engine
    replaces a dependent only when one of its inputs comes from the replaced resource
    (pkg/resource/deploy/step_generator.go `calculateDependentReplacements`, which looks only at
    `PropertyDependencies`; pulumi/pulumi#838), and `_registered_dependencies` asserts that no
    input here comes from another resource but the members ConfigMap's identity (a RandomId)."""
    registered = _registered_dependencies(monkeypatch, **raw)
    settings = parse_settings(raw).settings
    dependencies = {key: set(after) for key, after in registered.items() if after}
    assert dependencies == {key: set(after) for key, after in apply_after(settings).items()}
    cluster = settings.cluster_name
    members, job = ("ConfigMap", f"{cluster}-etcd-members"), ("Job", f"{cluster}-etcd-scale-down")
    statefulset = ("StatefulSet", f"{cluster}-etcd")
    assert dependencies == {
        job: {members},
        statefulset: {members, job},
        ("ConfigMap", f"{cluster}-etcd-bootstrapped"): {statefulset},
    }
    order = list(registered)
    for key, after in dependencies.items():
        assert all(order.index(dependency) < order.index(key) for dependency in after), key


def test_external_endpoints_create_nothing_and_are_the_outputs():
    run, etcd = run_component(etcdEndpoints=" http://etcd-a:2379,http://etcd-b:2379,http://etcd-a:2379 ")
    assert [r.type_token for r in run.resources] == [COMPONENT_TYPE]
    assert etcd["managed"] is False
    assert etcd["client_endpoints"] == ["http://etcd-a:2379", "http://etcd-b:2379"]
    assert etcd["member_endpoints"] == ["http://etcd-a:2379", "http://etcd-b:2379"]
    assert etcd["stateful_set_name"] is None


def test_managed_outputs_name_the_client_service_and_every_member():
    _, etcd = run_component(clusterName="prod", namespace="streaming", etcdReplicas="5")
    assert etcd["managed"] is True
    assert etcd["client_endpoints"] == ["http://prod-etcd-client.streaming.svc.cluster.local:2379"]
    assert etcd["member_endpoints"] == [
        f"http://prod-etcd-{i}.prod-etcd.streaming.svc.cluster.local:2379" for i in range(5)
    ]
    assert etcd["settings"]["etcdReplicas"] == 5
    assert etcd["settings"]["clusterName"] == "prod"


def test_monitoring_adds_the_metrics_service_and_the_prometheus_operator_resources():
    run, _ = run_component(etcdMonitoring="on")
    children = {
        (r.type_token, r.inputs["metadata"]["name"])
        for r in run.resources
        if r.type_token.startswith("kubernetes:")
    }
    assert {
        ("kubernetes:core/v1:Service", "kafscale-etcd-metrics"),
        ("kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "kafscale-etcd"),
        ("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "kafscale-etcd"),
    } <= children
    off, _ = run_component()
    names = [(r.type_token, r.name) for r in off.resources]
    assert not any("monitoring.coreos.com" in token or name.endswith("-metrics") for token, name in names)


def test_the_service_monitor_selects_only_the_metrics_service():
    objects = render_objects(etcdMonitoring="on")
    selector = objects.get("ServiceMonitor", "kafscale-etcd")["spec"]["selector"]["matchLabels"]
    services = [m for m in objects.manifests if m["kind"] == "Service"]
    selected = [
        service["metadata"]["name"]
        for service in services
        if selector.items() <= service["metadata"]["labels"].items()
    ]
    assert selected == ["kafscale-etcd-metrics"]
    (endpoint,) = objects.get("ServiceMonitor", "kafscale-etcd")["spec"]["endpoints"]
    metrics = objects.get("Service", "kafscale-etcd-metrics")["spec"]
    assert endpoint["port"] in [port["name"] for port in metrics["ports"]]
    statefulset = objects.get("StatefulSet", "kafscale-etcd")
    assert metrics["selector"] == statefulset["spec"]["selector"]["matchLabels"]
