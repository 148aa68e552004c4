"""What a config value must look like: one converter per kind of value.

Each converter takes the trimmed text and returns the value to use, or None when the text cannot
be used (the caller then falls back to the key's default with a warning, or stops with an error).
Pure: no Pulumi, no environment.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from kafscale.cron import is_valid_schedule
from kafscale.durations import periodic_retention_nanos
from kafscale.naming import CLUSTER_NAME_MAX_LENGTH
from kafscale.quantities import INT64_MAX, parse_byte_count, parse_quantity

INT32_MAX = 2**31 - 1
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
COMPACTION_MODES = ("periodic", "revision")
NAMESPACE_NAME_MAX_LENGTH = 63

LabelSelector = tuple[tuple[str, str], ...]

_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_LABEL_KEY = re.compile(rf"^([a-z0-9]([-a-z0-9.]{{0,251}}[a-z0-9])?/)?{_LABEL_NAME}$")
_LABEL_VALUE = re.compile(rf"^({_LABEL_NAME})?$")


def cluster_name(text: str) -> str | None:
    """A name every derived object name can start with (a DNS-1035 label, short enough)."""
    return text if _DNS1035_LABEL.match(text) and len(text) <= CLUSTER_NAME_MAX_LENGTH else None


def namespace_name(text: str) -> str | None:
    """A DNS-1123 label, as Kubernetes requires of a namespace name."""
    return text if _DNS1123_LABEL.match(text) and len(text) <= NAMESPACE_NAME_MAX_LENGTH else None


def any_text(text: str) -> str:
    return text


def whole_number(low: int, high: int) -> Callable[[str], int | None]:
    """A whole number from `low` to `high`."""

    def convert(text: str) -> int | None:
        if not re.fullmatch(r"[+-]?[0-9]+", text):
            return None
        number = int(text)
        return number if low <= number <= high else None

    return convert


def positive_byte_count(text: str) -> int | None:
    count = parse_byte_count(text)
    return count if count is not None and 0 < count <= INT64_MAX else None


def positive_quantity(text: str) -> str | None:
    parsed = parse_quantity(text)
    return text if parsed is not None and parsed[0] > 0 else None


def positive_rate(text: str) -> float | None:
    try:
        rate = float(text)
    except ValueError:
        return None
    return rate if math.isfinite(rate) and rate > 0 else None


def boolean_word(text: str) -> bool | None:
    word = text.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def compaction_mode(text: str) -> str | None:
    mode = text.lower()
    return mode if mode in COMPACTION_MODES else None


def revision_count(text: str) -> str | None:
    count = whole_number(1, INT64_MAX)(text)
    return str(count) if count is not None else None


def periodic_retention(text: str) -> str | None:
    return text if periodic_retention_nanos(text) is not None else None


def cron_schedule(text: str) -> str | None:
    schedule = " ".join(text.split())
    return schedule if is_valid_schedule(schedule) else None


def label_selector(text: str) -> LabelSelector | None:
    """`key=value[,key=value...]`, each key and value as Kubernetes labels allow, keys unique."""
    pairs: list[tuple[str, str]] = []
    for requirement in text.split(","):
        key, equals, value = (part.strip() for part in requirement.partition("="))
        if not equals or not _LABEL_KEY.match(key) or not _LABEL_VALUE.match(value):
            return None
        if key in dict(pairs):
            return None
        pairs.append((key, value))
    return tuple(pairs)


def selector_text(selector: LabelSelector) -> str:
    return ",".join(f"{key}={value}" for key, value in selector)
