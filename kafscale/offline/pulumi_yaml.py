"""YAML as the Pulumi CLI reads Pulumi.yaml and stack files (Go's yaml.v3), not as PyYAML does.

Two differences matter for config. A scalar config value is handed to the program as the text
written: Pulumi decodes it into a string first, and yaml.v3 fills a string from any scalar's own
text, so `1:30`, `yes`, `010`, `0x10`, `1_000`, `1e3`, `.nan` and `On` all stay as written (PyYAML,
reading YAML 1.1, would make them 90, True, 8, 16, 1000, "1e3", nan and True); only a null (`~`,
`null`, nothing) becomes empty. And inside a list or map, plain scalars resolve by yaml.v3's own
rules (only `true`/`false` are booleans, `0o`/`0x`/`0b` and a leading 0 are integer bases,
underscores are dropped). A duplicate key is an error, as in yaml.v3.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class PulumiYamlError(Exception):
    """The file is not one the Pulumi CLI would read."""


NULLS = frozenset({"~", "null", "Null", "NULL", ""})
BOOLEANS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_SPECIAL_FLOATS = {
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
}
_GO_INT = re.compile(r"^[-+]?(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[0-9]+)$")
INT64_RANGE = (-(2**63), 2**64 - 1)  # yaml.v3 tries int64, then uint64
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when PyYAML has it


@dataclass(frozen=True)
class Document:
    """A YAML mapping document: its values resolved as yaml.v3 does, and its nodes."""

    node: yaml.MappingNode

    def get(self, key: str) -> Any:
        value = _entry(self.node, key)
        return None if value is None else to_python(value)

    def entries(self, key: str) -> list[tuple[str, yaml.Node]]:
        """The (key text, value node) pairs of the mapping at `key`; none when absent or null."""
        value = _entry(self.node, key)
        if value is None or _is_null(value):
            return []
        if not isinstance(value, yaml.MappingNode):
            raise PulumiYamlError(f"'{key}' is not a mapping")
        pairs = []
        for key_node, value_node in value.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise PulumiYamlError(f"a key under '{key}' is not a plain name")
            pairs.append((key_node.value, value_node))
        return pairs


def read_document(path: Path) -> Document:
    """A YAML file whose top level is a mapping, read as the Pulumi CLI reads it."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise PulumiYamlError(f"is not UTF-8 text (byte {error.start})") from None
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise PulumiYamlError(f"{where}{error.problem or error.context}") from None
    except yaml.YAMLError as error:
        raise PulumiYamlError(str(error).splitlines()[0]) from None
    if node is None:
        node = yaml.MappingNode("tag:yaml.org,2002:map", [])
    if not isinstance(node, yaml.MappingNode):
        raise PulumiYamlError("is not a YAML mapping")
    _refuse_duplicate_keys(node)
    return Document(node)


def config_text(node: yaml.Node) -> tuple[str, bool]:
    """What a program sees for a config value node: (text, is_object). A scalar is its own text
    (empty for a null); a list or map is JSON, as the CLI sends it."""
    if isinstance(node, yaml.ScalarNode):
        return ("" if _is_null(node) else node.value), False
    return json.dumps(to_python(node), separators=(",", ":")), True


def to_python(node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return {str(_key(key)): to_python(value) for key, value in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [to_python(item) for item in node.value]
    assert isinstance(node, yaml.ScalarNode)
    return resolve_scalar(node.value) if _is_plain(node) else node.value


def resolve_scalar(text: str) -> Any:
    """A plain scalar's value by yaml.v3's rules."""
    if text in NULLS:
        return None
    if text in BOOLEANS:
        return BOOLEANS[text]
    plain = text.replace("_", "")
    if _GO_INT.match(plain):
        number = _go_int(plain)
        if INT64_RANGE[0] <= number <= INT64_RANGE[1]:
            return number
    if _FLOAT.match(plain):
        return float(plain)
    if text in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[text]
    return text


def _go_int(text: str) -> int:
    """strconv.ParseInt with base 0: 0x, 0o, 0b prefixes, and a leading 0 for octal."""
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    lowered = digits.lower()
    if lowered.startswith(("0x", "0o", "0b")):
        return sign * int(digits[2:], {"x": 16, "o": 8, "b": 2}[lowered[1]])
    if len(digits) > 1 and digits.startswith("0"):
        return sign * int(digits, 8)
    return sign * int(digits)


def _key(node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return to_python(node)
    raise PulumiYamlError("a mapping key is not a scalar")


def _is_plain(node: yaml.ScalarNode) -> bool:
    return not node.style  # None from PyYAML's parser, "" from libyaml's


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and _is_plain(node) and node.value in NULLS


def _entry(mapping: yaml.MappingNode, key: str) -> yaml.Node | None:
    for key_node, value_node in mapping.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node
    return None


def _refuse_duplicate_keys(node: yaml.Node) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    line = key_node.start_mark.line + 1
                    raise PulumiYamlError(f"line {line}: mapping key {key_node.value!r} already defined")
                seen.add(key_node.value)
            _refuse_duplicate_keys(value_node)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _refuse_duplicate_keys(item)
