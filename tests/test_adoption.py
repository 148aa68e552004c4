"""Adopting an operator-created etcd: the import file names the operator's objects exactly as the
program registers them, so that after `pulumi import --file` the program's next `pulumi up`
finds each one in the state (no create, which pulumi-kubernetes 4.29+ refuses for an existing
object: its CHANGELOG, 4.29.0, and provider/pkg/await/await.go `Creation`).

An import file may create the parent component (`"component": true`) and name it as the parent
of resources in the same file (pulumi 3.94.0's changelog, pulumi/pulumi#14467 and #14524).
"""

import json

import pytest

from kafscale.adoption import OPERATOR_OBJECTS
from kafscale.component import COMPONENT_TYPE
from kafscale.render import render_stack
from tests.support import PROJECT_DIR, run_cli


def _import_file(*overrides: str) -> dict:
    result = run_cli("import-file", "--stack", "dev", *[f"--set={o}" for o in overrides])
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


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
