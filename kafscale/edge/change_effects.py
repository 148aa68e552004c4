"""What changing one setting on a live stack does to each object, by pulumi-kubernetes' rules.

pulumi-kubernetes replaces an object when one of its kind's "force new" fields changes
(provider/pkg/provider/diff.go `forceNewProperties`: `.metadata.name` and `.metadata.namespace`
for every kind, a ConfigMap's `.data` and `.binaryData` while `enableConfigMapMutable` is off,
and the lists below). The old object is deleted first when the new one keeps its name and namespace
(provider/pkg/provider/provider.go `Diff`, `deleteBeforeReplace`: replaced, named, not autonamed,
same name, same namespace), as for every change here but a new `clusterName` or `namespace`; those
create the new objects first, beside the old ones, which are deleted after. Any other change is
an update in place. A
StatefulSet updated in its pod template rolls its pods one at a time.

`python -m kafscale changes` prints the table of docs/change-safety.md from these rules and each
key's example change.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from kafscale.config import keys
from kafscale.config.settings import EtcdSettings, parse_settings
from kafscale.objects.composition import managed_etcd_manifests

Manifest = Mapping[str, object]

ALWAYS_FORCE_NEW = (".metadata.name", ".metadata.namespace")
FORCE_NEW_BY_KIND: dict[str, tuple[str, ...]] = {
    "StatefulSet": (
        ".spec.podManagementPolicy",
        ".spec.revisionHistoryLimit",
        ".spec.selector",
        ".spec.serviceName",
        ".spec.volumeClaimTemplates",
    ),
    "ConfigMap": (".data", ".binaryData"),
    "Job": (".spec.completions", ".spec.parallelism", ".spec.selector", ".spec.template"),
    "Service": (".spec.clusterIP",),
}

# One realistic change per key, from the defaults (per storage mode, memory first): each row's.
EXAMPLE_CHANGES: dict[str, str | Mapping[bool, str]] = {
    key.name: key.documented.example for key in keys.CONFIG_KEYS
}
# What an example needs beside the defaults to mean anything.
EXAMPLE_CONTEXT: dict[str, dict[str, str]] = {
    keys.MONITORING_LABELS.name: {keys.MONITORING.name: "true"},
    keys.PEER_URL_SCHEME.name: {keys.PEER_TLS_SECRET.name: "kafscale-etcd-peer-tls"},
    keys.AUTH_CONSOLE_USER.name: {keys.AUTH.name: "on"},
    keys.AUTH_ROOT_SECRET.name: {keys.AUTH.name: "on"},
    keys.AUTH_KAFSCALE_SECRET.name: {keys.AUTH.name: "on"},
    keys.AUTH_CONSOLE_SECRET.name: {keys.AUTH.name: "on", keys.AUTH_CONSOLE_USER.name: "true"},
}

MEMBERS_REPLACED = "replaced"
MEMBERS_ROLLED = "rolling update"
MEMBERS_UPDATED = "updated, no restart"
MEMBERS_UNCHANGED = "unchanged"
MEMBERS_DELETED = "deleted"


@dataclass(frozen=True)
class ChangeEffects:
    members: str  # what happens to the StatefulSet (one of MEMBERS_*)
    keeps_data: bool  # a replaced StatefulSet's new pods find the old members' data
    replaced: tuple[str, ...]  # other objects replaced (delete-first unless the name or namespace changes)
    updated: tuple[str, ...]  # other objects updated in place
    created: tuple[str, ...]
    deleted: tuple[str, ...]


def field_value(manifest: Manifest, path: str) -> object:
    value: object = manifest
    for part in path.strip(".").split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def forces_replacement(kind: str, before: Manifest, after: Manifest) -> bool:
    paths = ALWAYS_FORCE_NEW + FORCE_NEW_BY_KIND.get(kind, ())
    return any(field_value(before, path) != field_value(after, path) for path in paths)


def change_effects(before: EtcdSettings, after: EtcdSettings) -> ChangeEffects:
    old, new = _by_role(before), _by_role(after)
    replaced = tuple(
        role
        for role in old
        if role in new and role[0] != "StatefulSet" and forces_replacement(role[0], old[role], new[role])
    )
    updated = tuple(
        role
        for role in old
        if role in new and role[0] != "StatefulSet" and role not in replaced and old[role] != new[role]
    )
    statefulset = next((role for role in old if role[0] == "StatefulSet"), None)
    return ChangeEffects(
        members=_members(
            old.get(statefulset) if statefulset else None, new.get(statefulset) if statefulset else None
        ),
        keeps_data=replacement_keeps_data(before, after),
        replaced=_labels(replaced, every_other=len(old) - 1),
        updated=tuple(_label(role) for role in updated),
        created=tuple(_label(role) for role in new if role not in old),
        deleted=tuple(_label(role) for role in old if role not in new),
    )


def replacement_keeps_data(before: EtcdSettings, after: EtcdSettings) -> bool:
    """Whether the pods of a StatefulSet replaced from `before` to `after` find the old members'
    data: only in disk mode on both sides, with the same claim names in the same namespace (a
    claim is `<template>-<statefulset>-<ordinal>`). The claims are reused as they are: a new size
    or class applies only to claims made afterwards."""
    return (
        not before.storage_memory
        and not after.storage_memory
        and before.namespace == after.namespace
        and before.names.statefulset == after.names.statefulset
    )


def _members(before: Manifest | None, after: Manifest | None) -> str:
    if before is None:
        return MEMBERS_UNCHANGED
    if after is None:
        return MEMBERS_DELETED
    if forces_replacement("StatefulSet", before, after):
        return MEMBERS_REPLACED
    if field_value(before, ".spec.template") != field_value(after, ".spec.template"):
        return MEMBERS_ROLLED
    return MEMBERS_UNCHANGED if before == after else MEMBERS_UPDATED


def _by_role(settings: EtcdSettings) -> dict[tuple[str, str], Manifest]:
    """Each object by kind and its name after `<clusterName>-etcd`: a renamed object is the same
    role with a new name (replaced), not another object."""
    prefix = settings.names.object_prefix
    roles: dict[tuple[str, str], Manifest] = {}
    for manifest in managed_etcd_manifests(settings):
        metadata = manifest["metadata"]
        assert isinstance(metadata, dict)
        roles[(str(manifest["kind"]), str(metadata["name"]).removeprefix(prefix).lstrip("-"))] = manifest
    return roles


def _labels(roles: tuple[tuple[str, str], ...], every_other: int) -> tuple[str, ...]:
    if roles and len(roles) == every_other:
        return ("every other object",)
    return tuple(_label(role) for role in roles)


def _label(role: tuple[str, str]) -> str:
    kind, suffix = role
    return f"{kind} {suffix}" if suffix else kind


def example_value(key: str, memory: bool) -> str:
    example = EXAMPLE_CHANGES[key]
    return example if isinstance(example, str) else example[memory]


def example_effects(key: str, memory: bool) -> ChangeEffects:
    base = {keys.STORAGE_MEMORY.name: "true" if memory else "false", **EXAMPLE_CONTEXT.get(key, {})}
    before = parse_settings(base).settings
    after = parse_settings({**base, key: example_value(key, memory)}).settings
    return change_effects(before, after)


def effects_text(effects: ChangeEffects, memory: bool) -> str:
    members = {
        MEMBERS_REPLACED: (
            "**StatefulSet replaced: every member down at once; the new pods reuse the claims as they are**"
            if effects.keeps_data
            else "**StatefulSet replaced: every member down at once, every member's data lost**"
            + ("" if memory else " (the old claims are kept, unused)")
        ),
        MEMBERS_ROLLED: "rolling update" + (" (each member rejoins empty)" if memory else ""),
        MEMBERS_UPDATED: "StatefulSet updated, no restart",
        MEMBERS_DELETED: "**every object deleted** (etcd is external)",
        MEMBERS_UNCHANGED: "",
    }[effects.members]
    parts = [members] if members else []
    if effects.members != MEMBERS_DELETED:
        for verb, objects in (
            ("replaced", effects.replaced),
            ("updated in place", effects.updated),
            ("created", effects.created),
            ("deleted", effects.deleted),
        ):
            if objects:
                parts.append(f"{verb}: {', '.join(objects)}")
    return "; ".join(parts) or "no object changes"


@functools.cache  # a function of the code alone: the generator, the CLI and the tests share one
def change_table() -> str:
    """docs/change-safety.md's table: for each key, what its example change does in each mode."""
    lines = [
        "| key | example change | memory mode | disk mode |",
        "|---|---|---|---|",
    ]
    for key in keys.CONFIG_KEYS:
        examples = dict.fromkeys(example_value(key.name, memory) for memory in (True, False))
        example = " / ".join(f"`{value}`" for value in examples)  # memory mode's first
        cells = [effects_text(example_effects(key.name, memory), memory) for memory in (True, False)]
        lines.append(f"| `{key.name}` | {example} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines) + "\n"
