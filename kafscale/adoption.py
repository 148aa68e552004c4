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

from kafscale.naming import EtcdNames
from kafscale.offline_engine import RecordedResource

# The objects the operator renders (../operator-parity.md): by kind and the name after
# `<clusterName>-etcd`.
OPERATOR_OBJECTS = frozenset(
    {
        ("Service", ""),
        ("Service", "-client"),
        ("StatefulSet", ""),
        ("PodDisruptionBudget", ""),
        ("CronJob", "-maintenance"),
        ("CronJob", "-maintenance-check"),
        ("CronJob", "-snapshot"),
    }
)


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
    prefix = names.object_prefix
    for resource in registered:
        if not resource.custom or not resource.type_token.startswith("kubernetes:"):
            continue
        kind = resource.type_token.rsplit(":", 1)[1]
        metadata = resource.inputs["metadata"]
        name = str(metadata["name"])
        if name.startswith(prefix) and (kind, name.removeprefix(prefix)) in OPERATOR_OBJECTS:
            entries.append(
                {
                    "type": resource.type_token,
                    "name": resource.name,
                    "id": f"{metadata['namespace']}/{name}",
                    "parent": component.name,
                }
            )
    return {"resources": entries}
