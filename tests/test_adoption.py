"""Adopting an operator-created etcd: the import file names the operator's objects exactly as the
program registers them, so that after `pulumi import --file` the program's next `pulumi up`
finds each one in the state (no create, which pulumi-kubernetes 4.29+ refuses for an existing
object: its CHANGELOG, 4.29.0, and provider/pkg/await/await.go `Creation`).

An import file may create the parent component (`"component": true`) and name it as the parent
of resources in the same file (pulumi 3.94.0's changelog, pulumi/pulumi#14467 and #14524).
"""

import functools
import json

import pytest

from kafscale.config.naming import OPERATOR_OBJECTS
from kafscale.config.settings import parse_settings
from kafscale.edge.component import COMPONENT_TYPE
from kafscale.objects.composition import PATCH_FORCE, apply_after
from kafscale.offline.render import render_stack
from tests.support import PROJECT_DIR, run_cli


@functools.cache  # one render per set of overrides: the file is a function of them alone
def _import_file_text(*overrides: str) -> str:
    result = run_cli("import-file", "--stack", "dev", *[f"--set={o}" for o in overrides])
    assert result.returncode == 0, result.stderr
    return result.stdout


def _import_file(*overrides: str) -> dict:
    return json.loads(_import_file_text(*overrides))


@pytest.mark.parametrize(
    "overrides",
    # Backups on, as the operator runs them (the dev stack turns them off).
    [
        ["etcdSnapshotEnabled=true"],
        [
            "clusterName=orders",
            "namespace=streaming",
            "etcdStorageMemory=false",
            "etcdMonitoring=on",
            "etcdSnapshotEnabled=true",
        ],
    ],
    ids=["dev", "orders-disk-monitoring"],
)
def test_the_import_file_names_the_operators_objects_as_the_program_registers_them(overrides):
    entries = _import_file(*overrides)["resources"]
    component, *objects = entries
    assert component == {"type": COMPONENT_TYPE, "name": "etcd", "component": True}
    registered = {
        (r.type_token, r.name): r for r in render_stack(PROJECT_DIR, "dev", overrides).resources if r.custom
    }
    seen = set()
    for entry in objects:
        resource = registered[(entry["type"], entry["name"])]  # the program registers it so
        assert entry["parent"] == "etcd" and resource.parent_urn.endswith(f"{COMPONENT_TYPE}::etcd")
        metadata = resource.inputs["metadata"]
        assert entry["id"] == f"{metadata['namespace']}/{metadata['name']}"  # pulumi-kubernetes' ID form
        cluster = metadata["name"].split("-etcd")[0]
        seen.add((entry["type"].rsplit(":", 1)[1], metadata["name"].removeprefix(f"{cluster}-etcd")))
    assert seen == OPERATOR_OBJECTS  # the operator's seven: no more (an import of a missing object fails)


def test_external_endpoints_have_nothing_to_adopt():
    result = run_cli("import-file", "--stack", "dev", "--set", "etcdEndpoints=http://etcd:2379")
    assert result.returncode == 2
    assert result.stderr == 'error: stack "dev" provisions no etcd (etcdEndpoints is set): nothing to adopt\n'


def test_the_upsert_option_is_the_providers_config_and_changes_nothing_here(tmp_path):
    """The second way in: `kubernetes:upsertExistingObjects` is read by the default provider
    (pulumi-kubernetes provider/pkg/provider/provider.go `Configure`), not by the program: the
    stack still renders the same objects, without a warning."""
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "__main__.py"):
        (tmp_path / name).write_text((PROJECT_DIR / name).read_text())
    with (tmp_path / "Pulumi.dev.yaml").open("a") as stack:
        stack.write('  kubernetes:upsertExistingObjects: "true"\n')
    upserting = render_stack(tmp_path, "dev")
    plain = render_stack(PROJECT_DIR, "dev")
    assert upserting.manifests == plain.manifests
    assert upserting.warnings == plain.warnings


ADOPTING = ["etcdSnapshotEnabled=true", "etcdAdoptOperatorObjects=true"]


def _annotations(resource) -> dict:
    return resource.inputs["metadata"].get("annotations") or {}


def test_the_first_apply_forces_over_exactly_the_imported_objects_and_puts_the_marker_first():
    """pulumi-kubernetes applies server-side and fails on a field another manager owns unless
    forced (provider/pkg/await/await.go `patchForce`: the `pulumi.com/patchForce` annotation, or
    the provider's enablePatchForce); the operator's objects are owned by its manager, so the
    first apply after the import forces over exactly the objects the import file names."""
    imported = {(e["type"], e["name"]) for e in _import_file(*ADOPTING)["resources"][1:]}
    run = render_stack(PROJECT_DIR, "dev", ADOPTING)
    kubernetes = [r for r in run.resources if r.custom and r.type_token.startswith("kubernetes:")]
    forced = {(r.type_token, r.name) for r in kubernetes if _annotations(r).get(PATCH_FORCE) == "true"}
    assert forced == imported
    # The cluster exists: the marker goes first (the component turns apply_after into depends_on).
    order = apply_after(parse_settings(dict(o.split("=", 1) for o in ADOPTING)).settings)
    assert ("ConfigMap", "kafscale-etcd-bootstrapped") in order[("StatefulSet", "kafscale-etcd")]
    assert ("ConfigMap", "kafscale-etcd-bootstrapped") not in order


def test_without_adoption_nothing_is_forced_and_the_marker_follows_the_statefulset():
    run = render_stack(PROJECT_DIR, "dev", ["etcdSnapshotEnabled=true"])
    kubernetes = [r for r in run.resources if r.custom and r.type_token.startswith("kubernetes:")]
    assert not [r.name for r in kubernetes if PATCH_FORCE in _annotations(r)]
    order = apply_after(parse_settings({}).settings)
    assert order[("ConfigMap", "kafscale-etcd-bootstrapped")] == (("StatefulSet", "kafscale-etcd"),)


def test_the_adoption_steps_strip_every_imported_object_then_switch_import_force_and_settle():
    result = run_cli("adoption-steps", "--stack", "dev", *[f"--set={o}" for o in ADOPTING])
    assert result.returncode == 0, result.stderr
    commands = [line for line in result.stdout.splitlines() if not line.startswith("#")]
    imported = _import_file(*ADOPTING)["resources"][1:]
    strips = [
        f"kubectl -n {entry['id'].split('/')[0]} patch {entry['type'].rsplit(':', 1)[1].lower()} "
        f"{entry['id'].split('/')[1]} --type=merge "
        """-p '{"metadata":{"ownerReferences":null}}'"""
        for entry in imported
    ]
    assert len(strips) == len(OPERATOR_OBJECTS)
    assert commands[: len(strips)] == strips  # first: nothing may garbage-collect them
    rest = commands[len(strips) :]
    assert rest[0].startswith("kubectl -n kafscale-dev patch kafscalecluster kafscale --type=merge")
    assert '"endpoints":["http://kafscale-etcd-client.kafscale-dev.svc.cluster.local:2379"]' in rest[0]
    assert rest[1:] == [
        "python -m kafscale import-file --stack dev > import.json",
        "pulumi import --file import.json --generate-code=false --yes",
        "pulumi config set kafscale:etcdAdoptOperatorObjects true",
        "pulumi preview   # updates in place, no replacement",
        "pulumi up",
        "pulumi config rm kafscale:etcdAdoptOperatorObjects",
        "pulumi up",
    ]
