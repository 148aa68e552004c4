"""Adopting an etcd the KafScale operator created: a `pulumi import` file for its objects.

The file names each object as this program registers it (type, child name, parent), so that
after `pulumi import --file` the next `pulumi up` updates the imported objects instead of
creating them (pulumi-kubernetes 4.29+ refuses to create an object that exists: AlreadyExists).
An import file may create the parent component itself (`"component": true`, pulumi 3.94+) and
name it as a parent in the same file.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kafscale.config.naming import EtcdNames
from kafscale.offline.engine import RecordedResource


def import_file(
    resources: Iterable[RecordedResource], component_type: str, names: EtcdNames
) -> dict[str, Any]:
    """The import file for the operator's objects among `resources` (one program run)."""
    registered = list(resources)
    components = [r for r in registered if r.type_token == component_type]
    if len(components) != 1:
        raise ValueError(f"expected one {component_type}, found {len(components)}")
    component = components[0]
    entries: list[dict[str, Any]] = [{"type": component_type, "name": component.name, "component": True}]
    for resource in registered:
        if not resource.custom or not resource.type_token.startswith("kubernetes:"):
            continue
        kind = resource.type_token.rsplit(":", 1)[1]
        metadata = resource.inputs["metadata"]
        name = str(metadata["name"])
        if names.is_operator_object(kind, name):
            entries.append(
                {
                    "type": resource.type_token,
                    "name": resource.name,
                    "id": f"{metadata['namespace']}/{name}",
                    "parent": component.name,
                }
            )
    return {"resources": entries}


def adoption_steps(stack: str, names: EtcdNames, entries: dict[str, Any]) -> str:
    """The whole adoption, in order, as shell commands for this stack's names: what
    docs/adoption.md explains step by step."""
    objects = [  # (kind, name) in the import file's order; the component itself has no id
        (entry["type"].rsplit(":", 1)[1].lower(), entry["id"].split("/", 1)[1])
        for entry in entries["resources"]
        if "id" in entry
    ]
    namespace = names.namespace
    client_url = names.client_url
    lines = [
        f"# Adopting the operator's etcd of cluster {names.cluster} in namespace {namespace}"
        " (docs/adoption.md).",
        "# 1. Every object forgets its owner: deleting the KafscaleCluster, or the operator pruning,",
        "#    must never garbage-collect the etcd this stack takes over.",
    ]
    for kind, name in objects:
        lines.append(
            f"kubectl -n {namespace} patch {kind} {name} --type=merge "
            """-p '{"metadata":{"ownerReferences":null}}'"""
        )
    lines += [
        "# 2. The operator stops managing its etcd: it is external from now on, at the same URL.",
        f"kubectl -n {namespace} patch kafscalecluster {names.cluster} --type=merge "
        f"""-p '{{"spec":{{"etcd":{{"endpoints":["{client_url}"]}}}}}}'""",
        "#    (or set KAFSCALE_OPERATOR_ETCD_ENDPOINTS on the operator to the same URL)",
        "# 3. The stack's objects are the operator's, imported (protected as they come in).",
        f"python -m kafscale import-file --stack {stack} > import.json",
        "pulumi import --file import.json --generate-code=false --yes",
        "# 4. The first apply takes over the operator's fields; the marker goes before the StatefulSet.",
        "pulumi config set kafscale:etcdAdoptOperatorObjects true",
        "pulumi preview   # updates in place, no replacement",
        "pulumi up",
        "# 5. Back to normal: the next apply drops the patchForce annotations (metadata only).",
        "pulumi config rm kafscale:etcdAdoptOperatorObjects",
        "pulumi up",
    ]
    return "\n".join(lines) + "\n"
