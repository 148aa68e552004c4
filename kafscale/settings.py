"""Stack config -> effective etcd settings. Pure: no Pulumi, no environment reads.

Each value is parsed the way the KafScale operator parses its `KAFSCALE_OPERATOR_ETCD_*` env
var, with one difference of principle: a value that cannot be used never passes silently. It
falls back to the documented default and yields a `ConfigWarning` naming the key, the value and
the value used. Empty or unset means the default, silently. A value that can only be a mistake
(a cluster name Kubernetes would refuse, an endpoint list that is not a list) raises
`SettingsError` instead, because no default could be right.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from kafscale import config_keys as keys
from kafscale.cron import is_valid_schedule
from kafscale.durations import periodic_retention_nanos
from kafscale.etcd_versions import excludes_every_nospace_alarm, format_version, image_etcd_version
from kafscale.quantities import INT64_MAX, format_binary_si, parse_byte_count, parse_quantity

T = TypeVar("T")

INT32_MAX = 2**31 - 1
DEFAULT_MEMORY_HEADROOM_BYTES = 512 * 1024**2  # the seed's rule: limit = quota + 512 MiB
ETCD_SUGGESTED_MAX_QUOTA_BYTES = 8 * 1024**3
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
COMPACTION_MODES = ("periodic", "revision")
BOOLEAN_REASON = "is not one of 1/true/yes/on or 0/false/no/off"
CRON_REASON = "is not a cron schedule (five fields, or @hourly, @daily, ...)"

# Every derived object name must stay valid: the longest is the CronJob
# `<cluster>-etcd-maintenance-check`, and Kubernetes caps CronJob names at 52 characters.
CLUSTER_NAME_MAX_LENGTH = 52 - len("-etcd-maintenance-check")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


LabelSelector = tuple[tuple[str, str], ...]


class SettingsError(ValueError):
    """A config value that can only be a mistake; no default could stand in for it."""


@dataclass(frozen=True)
class ConfigWarning:
    key: str
    value: str
    used: str
    reason: str

    @property
    def message(self) -> str:
        return f"kafscale:{self.key}: {json.dumps(self.value)} {self.reason}; using {self.used}"


@dataclass(frozen=True)
class EtcdSettings:
    cluster_name: str
    namespace: str
    endpoints: tuple[str, ...]
    image: str
    replicas: int
    storage_size: str
    storage_class: str | None
    storage_memory: bool
    auto_compaction_mode: str
    auto_compaction_retention: str
    quota_backend_bytes: int
    maintenance_enabled: bool
    maintenance_schedule: str
    maintenance_check_schedule: str
    maintenance_threshold_pct: int
    etcdctl_image: str
    expected_write_rate: float | None = None
    probes: bool = True
    run_as_user: int = int(keys.RUN_AS_USER.default)
    read_only_root_filesystem: bool = True
    network_policy: bool = True
    client_namespaces: tuple[str, ...] = ()
    client_pod_selectors: tuple[LabelSelector, ...] = ()
    monitoring: bool = False
    monitoring_labels: LabelSelector = ()
    memory_headroom_bytes: int = DEFAULT_MEMORY_HEADROOM_BYTES

    @property
    def memory_limit_bytes(self) -> int:
        """Memory mode: the etcd container's limit and the tmpfs size limit (quota + headroom)."""
        return self.quota_backend_bytes + self.memory_headroom_bytes

    @property
    def managed(self) -> bool:
        """True when this program provisions etcd; false when external endpoints are given."""
        return not self.endpoints

    def as_config_values(self) -> dict[str, object]:
        """The effective values keyed by config key, as plain data (the `settings` output)."""
        return {
            keys.CLUSTER_NAME.name: self.cluster_name,
            keys.K8S_NAMESPACE.name: self.namespace,
            keys.ENDPOINTS.name: list(self.endpoints),
            keys.IMAGE.name: self.image,
            keys.REPLICAS.name: self.replicas,
            keys.STORAGE_SIZE.name: self.storage_size,
            keys.STORAGE_CLASS.name: self.storage_class or "",
            keys.STORAGE_MEMORY.name: self.storage_memory,
            keys.AUTO_COMPACTION_MODE.name: self.auto_compaction_mode,
            keys.AUTO_COMPACTION_RETENTION.name: self.auto_compaction_retention,
            keys.QUOTA_BACKEND_BYTES.name: self.quota_backend_bytes,
            keys.EXPECTED_WRITE_RATE.name: self.expected_write_rate,
            keys.MAINTENANCE_ENABLED.name: self.maintenance_enabled,
            keys.MAINTENANCE_SCHEDULE.name: self.maintenance_schedule,
            keys.MAINTENANCE_CHECK_SCHEDULE.name: self.maintenance_check_schedule,
            keys.MAINTENANCE_SIZE_THRESHOLD_PCT.name: self.maintenance_threshold_pct,
            keys.ETCDCTL_IMAGE.name: self.etcdctl_image,
            keys.PROBES.name: self.probes,
            keys.RUN_AS_USER.name: self.run_as_user,
            keys.READ_ONLY_ROOT_FILESYSTEM.name: self.read_only_root_filesystem,
            keys.NETWORK_POLICY.name: self.network_policy,
            keys.CLIENT_NAMESPACES.name: list(self.client_namespaces),
            keys.CLIENT_POD_SELECTORS.name: [selector_text(s) for s in self.client_pod_selectors],
            keys.MONITORING.name: self.monitoring,
            keys.MONITORING_LABELS.name: selector_text(self.monitoring_labels),
            keys.MEMORY_HEADROOM.name: self.memory_headroom_bytes,
        }


@dataclass(frozen=True)
class ParsedSettings:
    settings: EtcdSettings
    warnings: tuple[ConfigWarning, ...] = field(default=())


class _Parser:
    """Reads raw values by key and collects the warnings of one parse."""

    def __init__(self, raw: Mapping[str, str | None]) -> None:
        self._raw = raw
        self.warnings: list[ConfigWarning] = []

    def text(self, key: keys.ConfigKey, used_if_blank: str) -> str | None:
        """The trimmed value, or None when unset or empty (meaning: the default, silently).

        A value of only whitespace is neither: it is refused with a warning naming `used_if_blank`.
        """
        value = self._raw.get(key.name)
        if value is None or value == "":
            return None
        if value.strip() == "":
            self.warn(key, value, used_if_blank, "is blank")
            return None
        return value.strip()

    def given(self, key: keys.ConfigKey) -> str:
        """The trimmed value as given (the default when unset or blank), without any warning."""
        return (self._raw.get(key.name) or "").strip() or key.default

    def string(self, key: keys.ConfigKey) -> str:
        """A trimmed string, or the key's default."""
        return self.text(key, key.default) or key.default

    def warn(self, key: keys.ConfigKey, value: str, used: str, reason: str) -> None:
        self.warnings.append(ConfigWarning(key.name, value, used, reason))

    def parse(
        self,
        key: keys.ConfigKey,
        convert: Callable[[str], T | None],
        default: T,
        reason: str,
    ) -> T:
        """`convert` the value; when it yields None, fall back to `default` with a warning."""
        return self.convert(key, self.text(key, _shown(default)), convert, default, reason)

    def convert(
        self,
        key: keys.ConfigKey,
        value: str | None,
        convert: Callable[[str], T | None],
        default: T,
        reason: str,
    ) -> T:
        if value is None:
            return default
        converted = convert(value)
        if converted is None:
            self.warn(key, value, _shown(default), reason)
            return default
        return converted


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or value == ():
        return "none"
    return str(value)


def parse_settings(raw: Mapping[str, str | None]) -> ParsedSettings:
    """Parse raw config strings keyed by short key name (`etcdReplicas`, ...)."""
    parser = _Parser(raw)
    cluster_name = _cluster_name(parser)
    namespace = _namespace(parser)
    endpoints = _endpoints(parser)
    image = parser.string(keys.IMAGE)
    replicas = _replicas(parser)
    storage_size = parser.parse(
        keys.STORAGE_SIZE,
        _positive_quantity,
        keys.STORAGE_SIZE.default,
        "is not a positive Kubernetes quantity",
    )
    storage_class = parser.text(keys.STORAGE_CLASS, "no storage class (the cluster default)")
    storage_memory = parser.parse(keys.STORAGE_MEMORY, _boolean_word, False, BOOLEAN_REASON)
    mode = parser.parse(
        keys.AUTO_COMPACTION_MODE,
        _compaction_mode,
        keys.AUTO_COMPACTION_MODE.default,
        "is not periodic or revision",
    )
    retention = _retention(parser, mode)
    quota = _quota(parser)
    expected_write_rate = parser.parse(
        keys.EXPECTED_WRITE_RATE, _positive_rate, None, "is not a positive number of writes per second"
    )
    settings = EtcdSettings(
        cluster_name=cluster_name,
        namespace=namespace,
        endpoints=endpoints,
        image=image,
        replicas=replicas,
        storage_size=storage_size,
        storage_class=storage_class,
        storage_memory=storage_memory,
        auto_compaction_mode=mode,
        auto_compaction_retention=retention,
        quota_backend_bytes=quota,
        maintenance_enabled=_maintenance_enabled(parser),
        maintenance_schedule=_maintenance_schedule(parser),
        maintenance_check_schedule=parser.parse(
            keys.MAINTENANCE_CHECK_SCHEDULE,
            _cron_schedule,
            keys.MAINTENANCE_CHECK_SCHEDULE.default,
            CRON_REASON,
        ),
        maintenance_threshold_pct=parser.parse(
            keys.MAINTENANCE_SIZE_THRESHOLD_PCT,
            lambda text: _int_in_range(text, 1, 100),
            int(keys.MAINTENANCE_SIZE_THRESHOLD_PCT.default),
            "is not a whole percentage from 1 to 100",
        ),
        etcdctl_image=parser.string(keys.ETCDCTL_IMAGE),
        expected_write_rate=expected_write_rate,
        probes=_probes(parser, image),
        run_as_user=parser.parse(
            keys.RUN_AS_USER,
            lambda text: _int_in_range(text, 1, INT32_MAX),
            int(keys.RUN_AS_USER.default),
            "is not a non-root user ID (a whole number from 1 to 2147483647)",
        ),
        read_only_root_filesystem=parser.parse(
            keys.READ_ONLY_ROOT_FILESYSTEM, _boolean_word, True, BOOLEAN_REASON
        ),
        network_policy=parser.parse(keys.NETWORK_POLICY, _boolean_word, True, BOOLEAN_REASON),
        client_namespaces=_client_namespaces(parser),
        client_pod_selectors=_client_pod_selectors(parser),
        monitoring=parser.parse(keys.MONITORING, _boolean_word, False, BOOLEAN_REASON),
        monitoring_labels=parser.parse(
            keys.MONITORING_LABELS,
            _label_selector,
            (),
            "is not a set of labels such as release=prometheus,team=streaming",
        ),
        memory_headroom_bytes=parser.parse(
            keys.MEMORY_HEADROOM,
            _positive_byte_count,
            DEFAULT_MEMORY_HEADROOM_BYTES,
            "is not a positive byte count or binary quantity (such as 536870912 or 512Mi)",
        ),
    )
    return ParsedSettings(settings, tuple(parser.warnings))


def _probes(parser: _Parser, image: str) -> bool:
    """On by default; off, with a warning, for an image whose etcd would fail them under NOSPACE."""
    probes = parser.parse(keys.PROBES, _boolean_word, True, BOOLEAN_REASON)
    version = image_etcd_version(image)
    if probes and version is not None and not excludes_every_nospace_alarm(version):
        parser.warn(
            keys.PROBES,
            parser.given(keys.PROBES),
            "false",
            f"cannot be used with etcd {format_version(version)} ({image}): before 3.4.19 and "
            "3.5.2 its health check fails once two members raise NOSPACE, and the probes would "
            "restart every member",
        )
        return False
    return probes


def _maintenance_enabled(parser: _Parser) -> bool:
    """On unless a false word says otherwise; the deprecated etcdDefragEnabled can switch it off."""
    enabled = parser.parse(keys.MAINTENANCE_ENABLED, _boolean_word, True, BOOLEAN_REASON)
    deprecated = parser.text(keys.DEFRAG_ENABLED, "nothing")
    if deprecated is not None:
        disables = deprecated.lower() in FALSE_WORDS
        used = "false (maintenance disabled)" if disables else "nothing"
        parser.warn(
            keys.DEFRAG_ENABLED, deprecated, used, "is deprecated: use kafscale:etcdMaintenanceEnabled"
        )
        enabled = enabled and not disables
    return enabled


def _maintenance_schedule(parser: _Parser) -> str:
    """etcdMaintenanceSchedule, or the deprecated etcdDefragSchedule when it is empty."""
    key = keys.MAINTENANCE_SCHEDULE
    value = parser.text(key, key.default)
    alias = parser.text(keys.DEFRAG_SCHEDULE, "nothing")
    if alias is not None:
        if value is None:
            key, value = keys.DEFRAG_SCHEDULE, alias
            parser.warn(
                keys.DEFRAG_SCHEDULE, alias, alias, "is deprecated: use kafscale:etcdMaintenanceSchedule"
            )
        else:
            parser.warn(
                keys.DEFRAG_SCHEDULE,
                alias,
                value,
                "is deprecated and ignored: kafscale:etcdMaintenanceSchedule is set",
            )
    return parser.convert(key, value, _cron_schedule, keys.MAINTENANCE_SCHEDULE.default, CRON_REASON)


def _cron_schedule(text: str) -> str | None:
    schedule = " ".join(text.split())
    return schedule if is_valid_schedule(schedule) else None


def _cluster_name(parser: _Parser) -> str:
    value = parser.string(keys.CLUSTER_NAME)
    if not _DNS1035_LABEL.match(value) or len(value) > CLUSTER_NAME_MAX_LENGTH:
        raise SettingsError(
            f"kafscale:{keys.CLUSTER_NAME.name}: {json.dumps(value)} cannot name Kubernetes objects: "
            f"use lower-case letters, digits and '-', starting with a letter, at most "
            f"{CLUSTER_NAME_MAX_LENGTH} characters"
        )
    return value


def _namespace(parser: _Parser) -> str:
    value = parser.string(keys.K8S_NAMESPACE)
    if not _is_namespace_name(value):
        raise SettingsError(
            f"kafscale:{keys.K8S_NAMESPACE.name}: {json.dumps(value)} is not a valid namespace: "
            "use lower-case letters, digits and '-', at most 63 characters"
        )
    return value


def _is_namespace_name(text: str) -> bool:
    """A DNS-1123 label, as Kubernetes requires of a namespace name."""
    return bool(_DNS1123_LABEL.match(text)) and len(text) <= 63


def _endpoints(parser: _Parser) -> tuple[str, ...]:
    """The operator's comma list, or a YAML list (which Pulumi hands over as JSON)."""
    return _string_list(parser, keys.ENDPOINTS, ",", "no endpoints (a managed etcd)")


def _string_list(parser: _Parser, key: keys.ConfigKey, separator: str, used_if_blank: str) -> tuple[str, ...]:
    """A `separator`-separated string or a YAML list: trimmed, empties and duplicates dropped.

    Anything else that starts like a list can only be a mistake.
    """
    value = parser.text(key, used_if_blank)
    if value is None:
        return ()
    if value.startswith("["):
        try:
            items = json.loads(value)
        except json.JSONDecodeError:
            items = None
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise SettingsError(
                f"kafscale:{key.name}: {value} is neither a {json.dumps(separator)}-separated string "
                "nor a list of strings"
            )
    else:
        items = value.split(separator)
    cleaned: list[str] = []
    for item in items:
        text = item.strip()
        if text and text not in cleaned:
            cleaned.append(text)
    return tuple(cleaned)


def _client_namespaces(parser: _Parser) -> tuple[str, ...]:
    """Namespace names; each one Kubernetes would refuse is dropped with a warning."""
    names = _string_list(parser, keys.CLIENT_NAMESPACES, ",", "no other namespace")
    valid = tuple(name for name in names if _is_namespace_name(name))
    for name in names:
        if name not in valid:
            parser.warn(
                keys.CLIENT_NAMESPACES,
                name,
                json.dumps(list(valid)),
                "is not a namespace name (a DNS-1123 label): left out",
            )
    return valid


def _client_pod_selectors(parser: _Parser) -> tuple[LabelSelector, ...]:
    """Label selectors (`key=value[,key=value...]`), `;`-separated or a YAML list; a selector
    that is not valid is dropped with a warning."""
    texts = _string_list(parser, keys.CLIENT_POD_SELECTORS, ";", "no pod selectors")
    parsed = {text: _label_selector(text) for text in texts}
    valid = tuple(selector for selector in parsed.values() if selector is not None)
    for text, selector in parsed.items():
        if selector is None:
            parser.warn(
                keys.CLIENT_POD_SELECTORS,
                text,
                json.dumps([selector_text(selector) for selector in valid]),
                "is not a label selector such as app=kafscale-broker,tier=data: left out",
            )
    return valid


def selector_text(selector: LabelSelector) -> str:
    return ",".join(f"{key}={value}" for key, value in selector)


_LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_LABEL_KEY = re.compile(rf"^([a-z0-9]([-a-z0-9.]{{0,251}}[a-z0-9])?/)?{_LABEL_NAME}$")
_LABEL_VALUE = re.compile(rf"^({_LABEL_NAME})?$")


def _label_selector(text: str) -> LabelSelector | None:
    pairs: list[tuple[str, str]] = []
    for requirement in text.split(","):
        key, equals, value = (part.strip() for part in requirement.partition("="))
        if not equals or not _LABEL_KEY.match(key) or not _LABEL_VALUE.match(value):
            return None
        if key in dict(pairs):
            return None
        pairs.append((key, value))
    return tuple(pairs)


def _replicas(parser: _Parser) -> int:
    default = int(keys.REPLICAS.default)
    replicas = parser.parse(
        keys.REPLICAS,
        lambda text: _int_in_range(text, 1, INT32_MAX),
        default,
        "is not a whole number of members from 1 up",
    )
    if replicas % 2 == 0:
        parser.warn(
            keys.REPLICAS,
            str(replicas),
            str(replicas),
            f"is even: it tolerates no more failed members than {replicas - 1} would",
        )
    return replicas


def _quota(parser: _Parser) -> int:
    default = int(keys.QUOTA_BACKEND_BYTES.default)
    value = parser.text(keys.QUOTA_BACKEND_BYTES, str(default))
    quota = parser.convert(
        keys.QUOTA_BACKEND_BYTES,
        value,
        _positive_byte_count,
        default,
        "is not a positive byte count or binary quantity (such as 4294967296 or 4Gi)",
    )
    if quota > ETCD_SUGGESTED_MAX_QUOTA_BYTES:
        parser.warn(
            keys.QUOTA_BACKEND_BYTES,
            value or str(quota),
            str(quota),
            f"is above etcd's suggested maximum of {format_binary_si(ETCD_SUGGESTED_MAX_QUOTA_BYTES)}",
        )
    return quota


def _retention(parser: _Parser, mode: str) -> str:
    default = keys.DEFAULT_RETENTION_BY_MODE[mode]
    if mode == "revision":
        return parser.parse(
            keys.AUTO_COMPACTION_RETENTION,
            _revision_count,
            default,
            "is not a positive revision count (revision mode)",
        )
    retention = parser.parse(
        keys.AUTO_COMPACTION_RETENTION,
        _periodic_retention,
        default,
        "is not a duration such as 90s, 5m, 1h30m or a whole number of hours (periodic mode)",
    )
    if periodic_retention_nanos(retention) == 0:
        parser.warn(
            keys.AUTO_COMPACTION_RETENTION,
            retention,
            retention,
            "disables auto-compaction: the backend will grow until it hits the quota",
        )
    return retention


def _int_in_range(text: str, low: int, high: int) -> int | None:
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        return None
    number = int(text)
    return number if low <= number <= high else None


def _positive_byte_count(text: str) -> int | None:
    count = parse_byte_count(text)
    return count if count is not None and 0 < count <= INT64_MAX else None


def _positive_quantity(text: str) -> str | None:
    parsed = parse_quantity(text)
    return text if parsed is not None and parsed[0] > 0 else None


def _positive_rate(text: str) -> float | None:
    try:
        rate = float(text)
    except ValueError:
        return None
    return rate if math.isfinite(rate) and rate > 0 else None


def _boolean_word(text: str) -> bool | None:
    word = text.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def _compaction_mode(text: str) -> str | None:
    mode = text.lower()
    return mode if mode in COMPACTION_MODES else None


def _revision_count(text: str) -> str | None:
    count = _int_in_range(text, 1, INT64_MAX)
    return str(count) if count is not None else None


def _periodic_retention(text: str) -> str | None:
    return text if periodic_retention_nanos(text) is not None else None
