"""A stack's config as the Pulumi CLI would hand it to the program, read from files.

Precedence: Pulumi.yaml defaults, then `Pulumi.<stack>.yaml`, then each `--set KEY=VALUE`.
Values reach the program as strings: scalars as written, lists and maps as JSON (as the CLI
does). Values are checked against the types Pulumi.yaml declares, with the CLI's own rules, so
a value that `pulumi up` would refuse is refused here too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kafscale.config.rules import shown
from kafscale.offline.pulumi_yaml import Document, PulumiYamlError, config_text, read_document, to_python


class StackConfigError(Exception):
    """The stack cannot be read: unknown stack or key, unreadable file, encrypted value."""


@dataclass(frozen=True)
class ConfigValue:
    text: str
    is_object: bool = False


@dataclass(frozen=True)
class StackConfig:
    project: str
    stack: str
    values: dict[str, str]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class _Declaration:
    declared_type: str | None
    items: dict[str, Any] | None


STACK_NAME_MAX_LENGTH = 100  # the Pulumi CLI's limit on a stack name


def load_stack_config(project_dir: Path, stack: str, overrides: Sequence[str] = ()) -> StackConfig:
    project_file = project_dir / "Pulumi.yaml"
    project_doc = _read_yaml(project_file)
    project = project_doc.get("name")
    if not isinstance(project, str) or not project:
        raise StackConfigError(f"{project_file} has no project name")
    declarations: dict[str, _Declaration] = {}
    values: dict[str, ConfigValue] = {}
    for raw_key, node in _config_entries(project_doc, project_file):
        key = _full_key(project, raw_key)
        declaration = to_python(node)
        if isinstance(declaration, dict) and ("type" in declaration or "default" in declaration):
            declarations[key] = _Declaration(declaration.get("type"), declaration.get("items"))
            if "default" in declaration:
                values[key] = _project_default(key, declaration["default"])
        elif isinstance(declaration, dict) and "value" in declaration:
            values[key] = _project_default(key, declaration["value"])
        else:
            values[key] = _project_default(key, declaration)

    if not re.fullmatch(r"[A-Za-z0-9_.-]+", stack) or len(stack) > STACK_NAME_MAX_LENGTH:
        raise StackConfigError(
            f"unknown stack {shown(stack)}: a stack name is at most {STACK_NAME_MAX_LENGTH} letters, "
            "digits, '-', '_' or '.'"
        )
    config_dir = project_dir / str(project_doc.get("stackConfigDir") or ".")
    stack_file = config_dir / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        known = sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in config_dir.glob("Pulumi.*.yaml"))
        raise StackConfigError(
            f"unknown stack '{stack}': there is no {stack_file.name} (stacks: {', '.join(known) or 'none'})"
        )
    warnings: list[str] = []
    encrypted: set[str] = set()
    for raw_key, node in _config_entries(_read_yaml(stack_file), stack_file):
        key = _full_key(project, raw_key)
        namespace = key.partition(":")[0]
        if key not in declarations and namespace.lower() == project.lower():
            warnings.append(
                f"{shown(key)} in {stack_file.name} is not a key this program reads"
                + (f" (namespaces are case-sensitive: {project}:)" if namespace != project else "")
                + "; ignored"
            )
        text, is_object = config_text(node)
        if _contains_secret(to_python(node)):
            if key in declarations:  # one of ours: it cannot be read here unless --set gives it
                encrypted.add(key)
            continue
        values[key] = _checked_text(key, text, is_object)
        _check_type(stack, key, declarations.get(key), values[key])

    for override in overrides:
        raw_key, separator, text = override.partition("=")
        if not separator or not raw_key.strip():
            raise StackConfigError(f"--set {shown(override)}: expected KEY=VALUE")
        key = _full_key(project, raw_key.strip())
        if key not in declarations:
            raise StackConfigError(f"--set {shown(raw_key.strip())}: unknown config key {shown(key)}")
        values[key] = _checked_text(key, text, is_object=False)
        encrypted.discard(key)
        _check_type(stack, key, declarations[key], values[key])

    if encrypted:
        key = sorted(encrypted)[0]
        raise StackConfigError(
            f"{key} is encrypted (secure:) and cannot be read offline; pass its value with --set {key}=..."
        )
    return StackConfig(project, stack, {k: v.text for k, v in values.items()}, tuple(warnings))


def _read_yaml(path: Path) -> Document:
    try:
        return read_document(path)
    except FileNotFoundError:
        raise StackConfigError(f"{path} does not exist") from None
    except OSError as error:
        raise StackConfigError(f"cannot read {path}: {error.strerror or type(error).__name__}") from None
    except PulumiYamlError as error:
        raise StackConfigError(f"cannot read {path}: {error}") from None


def _config_entries(document: Document, path: Path) -> list[tuple[str, yaml.Node]]:
    try:
        return document.entries("config")
    except PulumiYamlError as error:
        raise StackConfigError(f"cannot read {path}: {error}") from None


def _full_key(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def _contains_secret(value: Any) -> bool:
    if isinstance(value, dict):
        return "secure" in value or any(_contains_secret(item) for item in value.values())
    if isinstance(value, list):
        return any(_contains_secret(item) for item in value)
    return False


def _checked_text(key: str, text: str, is_object: bool) -> ConfigValue:
    """A value the engine could carry: Unicode text (a lone surrogate, from a `\\udcff` escape or
    a byte that is not UTF-8 on the command line, is not)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise StackConfigError(f"{key}: {shown(text)} is not valid UTF-8 text") from None
    return ConfigValue(text, is_object)


def _project_default(key: str, value: Any) -> ConfigValue:
    """A default Pulumi.yaml declares, as the program sees it: text for a scalar, JSON else."""
    if _contains_secret(value):
        raise StackConfigError(f"{key}: a default in Pulumi.yaml cannot be encrypted")
    if isinstance(value, bool):
        return ConfigValue("true" if value else "false")
    if value is None:
        return ConfigValue("")
    if isinstance(value, list | dict):
        return ConfigValue(json.dumps(value, separators=(",", ":")), is_object=True)
    return _checked_text(key, str(value), is_object=False)


def _check_type(stack: str, key: str, declaration: _Declaration | None, value: ConfigValue) -> None:
    if declaration is None or declaration.declared_type is None:
        return
    content: Any = json.loads(value.text) if value.is_object else value.text
    if not value_matches_type(declaration.declared_type, declaration.items, content):
        raise StackConfigError(
            f"Stack '{stack}' with configuration key '{key}' must be of type '{declaration.declared_type}'"
        )


def value_matches_type(declared_type: str, items: dict[str, Any] | None, content: Any) -> bool:
    """The Pulumi CLI's check of a stack value against a declared config type."""
    if declared_type == "string":
        return isinstance(content, str)
    if declared_type == "integer":
        if isinstance(content, bool):
            return False
        if isinstance(content, int):
            return True
        if isinstance(content, float):
            return content.is_integer()
        return isinstance(content, str) and re.fullmatch(r"[+-]?[0-9]+", content) is not None
    if declared_type == "boolean":
        return isinstance(content, bool) or content in ("true", "false")
    if declared_type == "array" and isinstance(content, list) and items is not None:
        return all(value_matches_type(items.get("type", ""), items.get("items"), item) for item in content)
    return False
