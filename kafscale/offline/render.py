"""Offline render: a stack's Kubernetes objects as `pulumi up` would send them.

Runs the project's own `__main__.py` under the mock engine (no second template), keeps the
Kubernetes resources it registered and turns them back into plain manifests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pulumi.runtime import rpc

from kafscale.objects.composition import in_render_order
from kafscale.offline.engine import ProgramRun, RecordedResource, run_program
from kafscale.offline.stack_config import load_stack_config


@dataclass(frozen=True)
class Rendered:
    manifests: list[dict[str, Any]]
    exports: dict[str, Any]
    warnings: tuple[str, ...]
    resources: tuple[RecordedResource, ...] = ()  # every registration, as the engine saw it


def render_stack(
    project_dir: Path,
    stack: str,
    overrides: Sequence[str] = (),
    last_settings: Mapping[str, Any] | None = None,
) -> Rendered:
    """`last_settings`: the stack's last deployed `settings` output, which the program compares
    the configured values with (none: a first deployment)."""
    stack_config = load_stack_config(project_dir, stack, overrides)
    run = run_program(
        project_dir / "__main__.py",
        stack_config.values,
        project=stack_config.project,
        stack=stack,
        deployed_outputs={"settings": dict(last_settings)} if last_settings is not None else None,
    )
    return Rendered(
        kubernetes_manifests(run), run.exports, stack_config.warnings + run.warnings, run.resources
    )


def kubernetes_manifests(run: ProgramRun) -> list[dict[str, Any]]:
    """The Kubernetes objects of a run, integers restored, in a stable order."""
    manifests = [
        _integers_restored(resource.inputs)
        for resource in run.resources
        if resource.custom and resource.type_token.startswith("kubernetes:")
    ]
    return in_render_order(manifests)


def _integers_restored(value: Any) -> Any:
    """Mocked inputs come back with every number a float (2379.0 -> 2379), and a secret value
    wrapped in Pulumi's secret signature (pulumi/runtime/rpc.py `_special_secret_sig`): the value."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig:
        return _integers_restored(value["value"])
    if isinstance(value, dict):
        return {key: _integers_restored(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integers_restored(item) for item in value]
    return value


class _ManifestDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Safe YAML (libyaml's emitter when PyYAML has it), multi-line strings as `|` blocks."""


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_ManifestDumper.add_representer(str, _represent_str)


def to_yaml(manifests: list[dict[str, Any]]) -> str:
    """Multi-document YAML, keys sorted; a script reads as the file it came from."""
    return yaml.dump_all(manifests, Dumper=_ManifestDumper, sort_keys=True, default_flow_style=False)


def manifest_file_name(manifest: dict[str, Any]) -> str:
    return f"{manifest['kind'].lower()}-{manifest['metadata']['name']}.yaml"
