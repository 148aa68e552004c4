"""Offline render: a stack's Kubernetes objects as `pulumi up` would send them.

Runs the project's own `__main__.py` under the mock engine (no second template), keeps the
Kubernetes resources it registered and turns them back into plain manifests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kafscale.offline_engine import ProgramRun, run_program
from kafscale.stack_config import load_stack_config

KIND_ORDER = (
    "Service",
    "StatefulSet",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "CronJob",
    "ServiceMonitor",
    "PrometheusRule",
)


@dataclass(frozen=True)
class Rendered:
    manifests: list[dict[str, Any]]
    exports: dict[str, Any]
    warnings: tuple[str, ...]


def render_stack(project_dir: Path, stack: str, overrides: Sequence[str] = ()) -> Rendered:
    stack_config = load_stack_config(project_dir, stack, overrides)
    run = run_program(
        project_dir / "__main__.py", stack_config.values, project=stack_config.project, stack=stack
    )
    return Rendered(kubernetes_manifests(run), run.exports, stack_config.warnings + run.warnings)


def kubernetes_manifests(run: ProgramRun) -> list[dict[str, Any]]:
    """The Kubernetes objects of a run, integers restored, in a stable order."""
    manifests = [
        _integers_restored(resource.inputs)
        for resource in run.resources
        if resource.custom and resource.type_token.startswith("kubernetes:")
    ]
    return in_render_order(manifests)


def in_render_order(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """By kind (KIND_ORDER), then by name: the order `render` prints."""
    return sorted(manifests, key=_order_key)


def _order_key(manifest: dict[str, Any]) -> tuple[int, str]:
    kind = manifest.get("kind", "")
    rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
    return rank, manifest.get("metadata", {}).get("name", "")


def _integers_restored(value: Any) -> Any:
    """Mocked inputs come back with every number a float: 2379.0 -> 2379."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _integers_restored(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integers_restored(item) for item in value]
    return value


def to_yaml(manifests: list[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(manifests, sort_keys=True, default_flow_style=False)


def manifest_file_name(manifest: dict[str, Any]) -> str:
    return f"{manifest['kind'].lower()}-{manifest['metadata']['name']}.yaml"
