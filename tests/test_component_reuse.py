"""The component as other programs use it: args that take outputs, outputs that carry their
dependencies, several clusters in one stack, aliases from the old layout, protect, timeouts,
secrets, and the preview check of a change that would replace the StatefulSet.

No Pulumi CLI runs here: what the engine does with what the program registers is cited from
its source next to each test; the tests read the registrations themselves (the mock monitor's
RegisterResource requests, as the engine would receive them).
"""

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
from pulumi.runtime import mocks, rpc

from kafscale.config.settings import parse_settings
from kafscale.edge.component import COMPONENT_TYPE, LEGACY_COMPONENT_TYPE, ManagedEtcd, child_name
from kafscale.offline.engine import ProgramRun, run_program
from kafscale.offline.stack_config import load_stack_config
from tests.support import ENGINE_RUNS, PROJECT_DIR, besides_pinning, component_args, json_key, run_component

LEGACY_URNS = json.loads((PROJECT_DIR / "tests" / "data" / "legacy_urns.json").read_text())["stacks"]
STATEFULSET = "kubernetes:apps/v1:StatefulSet"
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass
class Registration:
    type: str
    name: str
    urn: str
    parent: str
    inputs: dict[str, Any]
    secret_inputs: set[str]
    protect: bool
    retain_on_delete: bool
    custom_timeouts: tuple[str, str]
    aliases: list[Any]
    property_dependencies: dict[str, set[str]]


@dataclass
class Recorded:
    registrations: list[Registration] = field(default_factory=list)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # URN -> registered outputs

    def of_type(self, type_token: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_token]

    def by_urn(self, urn: str) -> Registration:
        (found,) = [r for r in self.registrations if r.urn == urn]
        return found


@contextlib.contextmanager
def _watching() -> Iterator[Recorded]:
    """Every RegisterResource and RegisterResourceOutputs request of the runs inside."""
    record = Recorded()
    register = mocks.MockMonitor.RegisterResource

    def registering(monitor, request):
        response = register(monitor, request)
        fields = dict(request.object.fields.items())
        record.registrations.append(
            Registration(
                type=request.type,
                name=request.name,
                urn=response.urn,
                parent=request.parent,
                inputs=rpc.deserialize_properties(request.object, keep_unknowns=True),
                secret_inputs={key for key, value in fields.items() if _is_secret(value)},
                protect=request.protect,
                retain_on_delete=request.retainOnDelete,
                custom_timeouts=(request.customTimeouts.create, request.customTimeouts.update),
                aliases=list(request.aliases),
                property_dependencies={
                    key: set(deps.urns) for key, deps in request.propertyDependencies.items()
                },
            )
        )
        return response

    def registering_outputs(monitor, request):
        record.outputs[request.urn] = dict(request.outputs.fields.items())
        return mocks.empty_pb2.Empty()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mocks.MockMonitor, "RegisterResource", registering)
        patch.setattr(mocks.MockMonitor, "RegisterResourceOutputs", registering_outputs, raising=False)
        yield record


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    """What the runs of the test registered."""
    with _watching() as record:
        yield record


def _is_secret(value: Any) -> bool:
    """A serialized property that the engine stores encrypted (rpc's secret signature)."""
    if not value.HasField("struct_value") or rpc._special_sig_key not in value.struct_value.fields:
        return False
    return value.struct_value.fields[rpc._special_sig_key].string_value == rpc._special_secret_sig


def _stack_program_run(overrides=(), deployed=None, secret_keys=()):
    """The project's own __main__.py on the dev stack (plus `--set` overrides)."""
    config = load_stack_config(PROJECT_DIR, "dev", list(overrides))
    return run_program(
        PROJECT_DIR / "__main__.py",
        config.values,
        project=config.project,
        stack="dev",
        deployed_outputs=deployed,
        secret_keys=[f"kafscale:{key}" for key in secret_keys],
    )


def _watched_stack_run(*overrides: str, secret_keys: tuple[str, ...] = ()) -> tuple[ProgramRun, Recorded]:
    """A run of the dev stack (plus `--set` overrides) and what it registered (once per session:
    tests/support.py `EngineRuns`)."""

    def run() -> tuple[ProgramRun, Recorded]:
        with _watching() as record:
            program_run = _stack_program_run(list(overrides), secret_keys=secret_keys)
        return program_run, record

    return ENGINE_RUNS.result(json_key("watched dev stack", overrides, secret_keys), run)


def _kubernetes(record: Recorded) -> list[Registration]:
    return [r for r in record.registrations if r.type.startswith("kubernetes:")]


# 1. Args that accept outputs


def test_the_namespace_may_be_another_resources_output(recorded):
    """A Namespace created in the same program: every object lands in it and depends on it."""

    def program():
        namespace = k8s.core.v1.Namespace("streaming", metadata={"name": "streaming"})
        ManagedEtcd("etcd", component_args(namespace=namespace.metadata.name, etcdReplicas=5))

    run = run_program(program, config={})
    (namespace,) = recorded.of_type("kubernetes:core/v1:Namespace")
    objects = [r for r in _kubernetes(recorded) if r is not namespace]
    assert len(objects) == 11
    for registration in objects:
        assert registration.inputs["metadata"]["namespace"] == "streaming", registration.name
        assert namespace.urn in registration.property_dependencies["metadata"], registration.name
    plain = parse_settings({"namespace": "streaming", "etcdReplicas": "5"}).settings
    statefulset = next(r for r in objects if r.type == STATEFULSET)
    assert statefulset.inputs["spec"]["serviceName"] == plain.names.headless_service
    assert besides_pinning(run.warnings) == []


def test_an_output_gets_the_same_parsing_and_warnings_as_stack_config():
    def program():
        ManagedEtcd("etcd", component_args(etcdQuotaBackendBytes=pulumi.Output.from_input("lots")))

    run = run_program(program, config={})
    (expected,) = parse_settings({"etcdQuotaBackendBytes": "lots"}).warnings
    assert besides_pinning(run.warnings) == [expected.message]


def test_python_values_mean_what_their_stack_config_text_means():
    _, typed = run_component(etcdReplicas=5, etcdStorageMemory=True, etcdClientNamespaces=["a", "b"])
    _, text = run_component(etcdReplicas="5", etcdStorageMemory="yes", etcdClientNamespaces="a,b")
    assert typed["settings"] == text["settings"]


@pytest.mark.parametrize("key", ["clusterName", "etcdReplicas", "etcdStorageMemory", "etcdMonitoring"])
def test_a_key_that_shapes_the_objects_refuses_an_output(key):
    def program():
        ManagedEtcd("etcd", component_args(**{key: pulumi.Output.from_input("x")}))

    with pytest.raises(pulumi.RunError, match=f"kafscale:{key} decides which objects exist"):
        run_program(program, config={})


def test_a_mistake_in_an_output_is_a_one_line_error():
    def program():
        ManagedEtcd("etcd", component_args(namespace=pulumi.Output.from_input("Not_A_Namespace")))

    with pytest.raises(
        pulumi.RunError, match='kafscale:namespace: "Not_A_Namespace" is not a valid namespace'
    ):
        run_program(program, config={})


# 2. Outputs that carry their dependencies


def test_what_is_built_from_the_endpoints_depends_on_the_etcd_objects(recorded):
    """A ConfigMap of the brokers, built from `client_endpoints`, waits for the client Service
    and the StatefulSet (the engine orders by property dependencies:
    pulumi/pulumi pkg/resource/deploy/source_eval.go `RegisterResource`)."""

    def program():
        etcd = ManagedEtcd("etcd", component_args())
        k8s.core.v1.ConfigMap(
            "brokers",
            data={
                "etcd": etcd.client_endpoints.apply(",".join),
                "members": etcd.member_endpoints.apply(",".join),
            },
        )

    run_program(program, config={})
    (brokers,) = [r for r in recorded.registrations if r.name == "brokers"]
    by_name = {r.name: r.urn for r in _kubernetes(recorded)}
    statefulset = by_name[child_name("etcd", "kafscale", "kafscale-etcd")]
    (headless,) = [r.urn for r in recorded.of_type("kubernetes:core/v1:Service") if r.name == "etcd-etcd"]
    client = by_name["etcd-etcd-client"]
    assert {statefulset, client} <= brokers.property_dependencies["data"]
    assert headless in brokers.property_dependencies["data"]
    assert brokers.inputs["data"]["etcd"] == "http://kafscale-etcd-client.kafscale.svc.cluster.local:2379"


def test_register_outputs_lists_every_output():
    _, recorded = _watched_stack_run()
    (component,) = recorded.of_type(COMPONENT_TYPE)
    assert set(recorded.outputs[component.urn]) == {
        "clientEndpoints",
        "memberEndpoints",
        "statefulSetName",
        "managed",
        "settings",
        "credentialsSecrets",
        "replacementChecked",
    }


def test_external_endpoints_are_outputs_without_objects():
    run, outputs = run_component(etcdEndpoints="http://etcd-a:2379")
    assert outputs["client_endpoints"] == ["http://etcd-a:2379"]
    assert [r.type_token for r in run.resources] == [COMPONENT_TYPE]


# 3. Several clusters in one stack


@pytest.mark.parametrize(
    "second",
    [{"namespace": "other"}, {"clusterName": "orders"}],
    ids=["same-cluster-name-other-namespace", "other-cluster-name-same-namespace"],
)
def test_one_stack_holds_several_clusters(recorded, second):
    """URNs are type + parent chain + name (pulumi/pulumi sdk/go/common/resource/urn/urn.go
    `New`): the engine refuses a program that registers one twice."""

    def program():
        ManagedEtcd("payments", component_args())
        ManagedEtcd("orders", component_args(**second))

    run_program(program, config={})
    urns = [r.urn for r in recorded.registrations if r.type != ROOT_STACK_TYPE]
    assert len(urns) == len(set(urns)) == 2 + 2 * 12  # each: 11 Kubernetes objects and its identity
    names = {
        (r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"], r.type)
        for r in _kubernetes(recorded)
    }
    assert len(names) == 2 * 11  # and no Kubernetes object is claimed twice


# 4. Aliases: existing stacks keep their resources


def _old_urn(alias, registration: Registration, stack: str, project: str) -> str:
    """The URN an alias names, as the engine collapses it (pulumi/pulumi
    pkg/resource/deploy/step_generator.go `collapseAliasToUrn`: an empty name or type is the
    resource's own, an empty parent its current parent, the root stack no parent; the type chain
    is the parent's types joined with `$`, the root stack's left out: urn/urn.go `New`)."""
    if alias.WhichOneof("alias") == "urn":
        return alias.urn
    spec = alias.spec
    parent = "" if spec.noParent else (spec.parentUrn or registration.parent)
    if parent and parent.split("::")[2].split("$")[-1] == ROOT_STACK_TYPE:
        parent = ""
    type_chain = spec.type or registration.type
    if parent:
        type_chain = parent.split("::")[2] + "$" + type_chain
    name = spec.name or registration.name
    return f"urn:pulumi:{spec.stack or stack}::{spec.project or project}::{type_chain}::{name}"


@pytest.mark.parametrize("label", list(LEGACY_URNS))
def test_every_urn_of_the_old_layout_is_an_alias_of_one_new_resource(label):
    _, recorded = _watched_stack_run(*LEGACY_URNS[label]["overrides"])
    aliased: dict[str, str] = {}
    for registration in recorded.registrations:
        for alias in registration.aliases:
            old = _old_urn(alias, registration, "dev", "kafscale")
            assert old not in aliased, f"{old} aliases two resources"
            aliased[old] = registration.type
    for old in LEGACY_URNS[label]["urns"]:
        assert old in aliased, old
        old_type = old.split("::")[2].split("$")[-1]
        # A custom resource keeps its type (pulumi-kubernetes sees an update, not a new object).
        assert aliased[old] == (COMPONENT_TYPE if old_type == LEGACY_COMPONENT_TYPE else old_type)


def test_the_component_keeps_its_old_type_as_an_alias():
    _, recorded = _watched_stack_run()
    (component,) = recorded.of_type(COMPONENT_TYPE)
    assert [_old_urn(a, component, "dev", "kafscale") for a in component.aliases] == [
        f"urn:pulumi:dev::kafscale::{LEGACY_COMPONENT_TYPE}::etcd"
    ]


# 6. Protect and the claims


def test_the_statefulset_is_protected_unless_replacement_is_allowed():
    """The engine refuses to replace or delete a protected resource, in preview too
    (pulumi/pulumi pkg/resource/deploy/step_generator.go `continueStepsFromDiff`: "unable to
    replace resource ... as it is currently marked for protection"; step.go
    `deleteProtectedError`)."""
    _, recorded = _watched_stack_run()
    protected = {(r.type, r.inputs["metadata"]["name"]) for r in _kubernetes(recorded) if r.protect}
    marker = ("kubernetes:core/v1:ConfigMap", "kafscale-etcd-bootstrapped")
    assert protected == {(STATEFULSET, "kafscale-etcd"), marker}
    _, recorded = _watched_stack_run("etcdAllowReplacement=true")
    assert not any(r.protect for r in _kubernetes(recorded))


def test_a_created_namespace_is_protected_kept_and_named_after_the_component():
    """Deleting the namespace would delete every member's data: it is protected and retained
    like the marker, and gets a child name of its own (its name need not start with the
    cluster's)."""
    _, recorded = _watched_stack_run("etcdCreateNamespace=true")
    (namespace,) = [r for r in _kubernetes(recorded) if r.type == "kubernetes:core/v1:Namespace"]
    assert namespace.name == "etcd-namespace" and namespace.inputs["metadata"]["name"] == "kafscale-dev"
    assert namespace.protect and namespace.retain_on_delete
    _, recorded = _watched_stack_run("etcdCreateNamespace=true", "etcdAllowReplacement=true")
    (namespace,) = [r for r in _kubernetes(recorded) if r.type == "kubernetes:core/v1:Namespace"]
    assert not namespace.protect and namespace.retain_on_delete


def test_the_bootstrap_marker_is_kept_in_kubernetes_when_it_leaves_the_stack():
    """retainOnDelete: "Pulumi will not call through to the resource provider's Delete method
    when deleting or replacing the resource during pulumi up or pulumi destroy" (Pulumi's docs,
    Resource option: retainOnDelete), so a `pulumi destroy` after `pulumi state unprotect`
    leaves the marker in the namespace."""
    for overrides in ([], ["etcdAllowReplacement=true"]):
        _, recorded = _watched_stack_run(*overrides)
        retained = {r.inputs["metadata"]["name"] for r in _kubernetes(recorded) if r.retain_on_delete}
        assert retained == {"kafscale-etcd-bootstrapped"}, overrides


def test_disk_mode_claims_are_retained_when_the_statefulset_goes():
    statefulset = next(
        r.inputs
        for r in _stack_program_run(["etcdStorageMemory=false"]).resources
        if r.type_token == STATEFULSET
    )
    assert statefulset["spec"]["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Retain",
        "whenScaled": "Retain",
    }


# 7. Await control


@pytest.mark.parametrize(
    ("overrides", "seconds"),
    [
        ([], 1200),
        (["etcdReplicas=5"], 1800),
        (["etcdDeployTimeoutSec=3600"], 3600),
        (["etcdDeployTimeoutSec=5"], 1200),
    ],
    ids=["default-3-members", "default-5-members", "set", "refused"],
)
def test_the_statefulset_rollout_is_awaited_for_the_deploy_timeout(overrides, seconds):
    """pulumi-kubernetes takes a resource's customTimeouts over its 10-minute default
    (provider/pkg/metadata/overrides.go `TimeoutDuration`; await/await.go `Creation`, `Update`)."""
    run, recorded = _watched_stack_run(*overrides)
    (statefulset,) = recorded.of_type(STATEFULSET)
    assert statefulset.custom_timeouts == (f"{seconds}s", f"{seconds}s")
    others = [r for r in _kubernetes(recorded) if r.type != STATEFULSET]
    assert all(r.custom_timeouts == ("", "") for r in others)
    refused = [w for w in run.warnings if "etcdDeployTimeoutSec" in w]
    expected = [w.message for w in parse_settings({"etcdDeployTimeoutSec": "5"}).warnings]
    assert refused == (expected if overrides == ["etcdDeployTimeoutSec=5"] else [])
    if expected == refused:
        assert expected == [
            'kafscale:etcdDeployTimeoutSec: "5" is not a whole number of seconds from 60 to 86,400; '
            "using 1200"
        ]


# 8. Secrets stay secret


def test_a_secret_key_is_secret_in_every_object_it_reaches_and_in_the_settings_output():
    _, recorded = _watched_stack_run(
        "etcdSnapshotEnabled=true",
        "etcdSnapshotS3Endpoint=https://s3.internal.example:9000",
        secret_keys=("etcdSnapshotS3Endpoint",),
    )
    reached = [r for r in _kubernetes(recorded) if "s3.internal.example" in json.dumps(r.inputs)]
    assert reached, "the endpoint reaches the pods' S3 steps"
    for registration in reached:
        assert registration.secret_inputs, registration.name
    (component,) = recorded.of_type(COMPONENT_TYPE)
    assert _is_secret(recorded.outputs[component.urn]["settings"])


def test_without_secrets_nothing_is_secret():
    _, recorded = _watched_stack_run()
    assert not any(r.secret_inputs for r in _kubernetes(recorded))
    (component,) = recorded.of_type(COMPONENT_TYPE)
    assert not _is_secret(recorded.outputs[component.urn]["settings"])


def test_a_secret_on_a_key_that_names_objects_is_refused():
    with pytest.raises(pulumi.RunError, match="kafscale:clusterName is set with --secret"):
        _stack_program_run(secret_keys=["clusterName"])


# 6. Preview: a change that would replace the StatefulSet


def _deployed(*overrides: str) -> dict[str, Any]:
    """The stack outputs of a deployment of the dev stack with `overrides`."""
    return {"settings": _stack_program_run(overrides).exports["settings"]}


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        ["etcdStorageMemory=false", "etcdStorageClass=fast-ssd", "etcdStorageSize=20G"],
        ["etcdProbes=off", "clusterName=orders", "namespace=streaming"],
        ["etcdImage=quay.io/coreos/etcd:v3.5.1", "etcdCorruptCheckInterval=1h", "etcdMonitoring=on"],
    ],
    ids=["dev", "disk", "probes-off", "old-image"],
)
def test_the_settings_output_of_a_deployment_reads_back_as_no_change(overrides):
    """The comparison re-parses the deployed `settings` output: each value must mean the same."""
    run = _stack_program_run(overrides, deployed=_deployed(*overrides))
    assert not [w for w in run.warnings if "replaces the StatefulSet" in w]


def test_a_rolling_change_is_not_a_replacement():
    run = _stack_program_run(["etcdQuotaBackendBytes=3Gi", "etcdReplicas=5"], deployed=_deployed())
    assert not [w for w in run.warnings if "replaces the StatefulSet" in w]


def test_disk_mode_replacement_is_warned_naming_the_setting():
    before = _deployed("etcdStorageMemory=false")
    run = _stack_program_run(["etcdStorageMemory=false", "etcdStorageSize=20Gi"], deployed=before)
    (warning,) = [w for w in run.warnings if "replaces the StatefulSet" in w]
    assert warning.startswith(
        'kafscale:etcdStorageSize ("10Gi" -> "20Gi") replaces the StatefulSet kafscale-etcd'
    )
    assert "protected" in warning and "kafscale:etcdAllowReplacement=true" in warning


def test_memory_mode_replacement_is_refused_unless_allowed():
    before = _deployed()
    with pytest.raises(
        pulumi.RunError, match=r"kafscale:etcdProbes \(true -> false\) replaces the StatefulSet"
    ):
        _stack_program_run(["etcdProbes=false"], deployed=before)
    run = _stack_program_run(["etcdProbes=false", "etcdAllowReplacement=true"], deployed=before)
    (warning,) = [w for w in run.warnings if "replaces the StatefulSet" in w]
    assert "restore the newest snapshot" in warning


def test_leaving_disk_mode_for_memory_is_refused_unless_allowed():
    """The new members start with empty tmpfs: the claims' data is not theirs."""
    with pytest.raises(pulumi.RunError, match=r"kafscale:etcdStorageMemory \(false -> true\)"):
        _stack_program_run(deployed=_deployed("etcdStorageMemory=false"))


def test_an_image_that_turns_the_probes_off_is_named_as_the_cause():
    before = _deployed()
    with pytest.raises(pulumi.RunError, match=r'kafscale:etcdImage \("kubesphere/etcd:3.6.4-0" -> '):
        _stack_program_run(["etcdImage=quay.io/coreos/etcd:v3.5.1"], deployed=before)


def test_the_first_deployment_has_nothing_to_compare():
    run = _stack_program_run(deployed={})
    assert not [w for w in run.warnings if "StatefulSet" in w]


def test_a_secret_last_deployment_leaves_the_statefulset_in_plain_text(recorded):
    """The check only gates the StatefulSet: the compared settings' secrecy does not spread."""
    _, outputs = run_component()
    recorded.registrations.clear()

    def program():
        deployed = pulumi.Output.secret(outputs["settings"])
        ManagedEtcd("etcd", component_args(**{"last_deployed_settings": deployed}))

    run_program(program, config={})
    (statefulset,) = recorded.of_type(STATEFULSET)
    assert statefulset.secret_inputs == set()
    assert statefulset.inputs["metadata"]["name"] == "kafscale-etcd"


def test_disk_mode_under_another_cluster_name_is_refused_its_claims_are_not_the_new_pods():
    """Claims are `<template>-<statefulset>-<ordinal>`: a new name finds none of the old ones."""
    before = _deployed("etcdStorageMemory=false")
    with pytest.raises(
        pulumi.RunError, match=r'kafscale:clusterName \("kafscale" -> "orders"\).*start without'
    ):
        _stack_program_run(["etcdStorageMemory=false", "clusterName=orders"], deployed=before)


def test_a_secret_value_is_never_shown_in_a_warning():
    endpoint = "ftp://token-abc123@s3.internal.example"  # refused: not an http(s) URL
    run = _stack_program_run([f"etcdSnapshotS3Endpoint={endpoint}"], secret_keys=["etcdSnapshotS3Endpoint"])
    (warning,) = [w for w in run.warnings if "etcdSnapshotS3Endpoint" in w]
    assert warning.startswith('kafscale:etcdSnapshotS3Endpoint: "[secret]" is not an S3 endpoint URL')
    assert "token-abc123" not in " ".join(run.warnings)


def test_a_secret_value_is_never_shown_in_an_error():
    with pytest.raises(pulumi.RunError) as refused:
        _stack_program_run(["namespace=Team_Secret_NS"], secret_keys=["namespace"])
    assert str(refused.value).startswith('kafscale:namespace: "[secret]" is not a valid namespace')
    assert "Team_Secret_NS" not in str(refused.value)


def test_a_secret_setting_that_replaces_the_statefulset_is_named_without_its_values():
    before = _deployed("etcdStorageMemory=false")
    run = _stack_program_run(
        ["etcdStorageMemory=false", "etcdStorageClass=vault-backed-ssd"],
        deployed=before,
        secret_keys=["etcdStorageClass"],
    )
    (warning,) = [w for w in run.warnings if "replaces the StatefulSet" in w]
    assert warning.startswith("kafscale:etcdStorageClass replaces the StatefulSet kafscale-etcd")
    assert "vault-backed-ssd" not in warning


def test_each_component_of_a_stack_gets_its_own_last_deployment():
    """Two clusters, each compared with its own exported settings (no StackReference name twice:
    the engine refuses a URN registered twice)."""
    from kafscale.edge.pulumi_config import last_deployed_settings

    _, outputs = run_component(clusterName="payments", etcdStorageMemory="true")

    def program(payments_probes):
        for name in ("payments", "orders"):
            component = ManagedEtcd(
                name,
                component_args(
                    clusterName=name,
                    etcdStorageMemory="true",
                    etcdProbes=payments_probes if name == "payments" else "true",
                    last_deployed_settings=last_deployed_settings(f"{name}Settings"),
                ),
            )
            pulumi.export(f"{name}Settings", component.settings)

    deployed = {"paymentsSettings": outputs["settings"]}
    run = run_program(lambda: program("true"), config={}, deployed_outputs=deployed)
    references = [r.name for r in run.of_type("pulumi:pulumi:StackReference")]
    assert sorted(references) == ["last-deployment-ordersSettings", "last-deployment-paymentsSettings"]
    with pytest.raises(
        pulumi.RunError, match=r"etcdProbes \(true -> false\) replaces the StatefulSet payments-etcd"
    ):
        run_program(lambda: program("false"), config={}, deployed_outputs=deployed)


def test_a_last_deployment_holding_an_integer_past_4300_digits_is_judged_not_a_crash():
    """What `last_deployed_settings` may hold when the component API is given it directly (a
    StackReference's numbers are float64 and cannot): Python refuses to print such an integer."""
    from kafscale.config.settings import parse_settings
    from kafscale.edge.change_safety import replacement_problems

    deployed = _deployed("etcdStorageMemory=false")["settings"]
    before = {**deployed, "etcdStorageSize": 10**5000}
    after = parse_settings({**deployed, "etcdStorageSize": "20Gi"}).settings
    problems = replacement_problems(before, after)
    (warning,) = problems.warnings
    assert 'kafscale:etcdStorageSize ((a value too large to show) -> "20Gi")' in warning
