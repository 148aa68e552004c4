"""Stack config -> effective etcd settings. Pure: no Pulumi, no environment reads.

Each value is parsed the way the KafScale operator parses its `KAFSCALE_OPERATOR_ETCD_*` env
var, with one difference of principle: a value that cannot be used never passes silently. It
falls back to the documented default and yields a `ConfigWarning` naming the key, the value and
the value used. Empty or unset means the default, silently. A value that can only be a mistake
(a cluster name Kubernetes would refuse, an endpoint that is not a URL) raises
`SettingsError` instead, because no default could be right.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar, cast

from kafscale.config import keys, rules
from kafscale.config.corruption_checks import UNVERSIONED_CAVEAT
from kafscale.config.durations import periodic_retention_nanos
from kafscale.config.etcd_versions import (
    excludes_every_nospace_alarm,
    format_version,
    image_etcd_version,
    known_defects,
)
from kafscale.config.naming import SELECTOR_LABEL_NAMES, EtcdNames
from kafscale.config.quantities import BINARY_SUFFIXES, format_binary_si, quantity_above
from kafscale.config.rules import FALSE_WORDS, LabelSelector, selector_text, shown, toleration_specs
from kafscale.config.settings_fields import SettingsFields

T = TypeVar("T")

ETCD_SUGGESTED_MAX_QUOTA_BYTES = 8 * 1024**3


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
        return f"kafscale:{self.key}: {shown(self.value)} {self.reason}; using {self.used}"


@dataclass(frozen=True)
class EtcdSettings(SettingsFields):
    """Every key's effective value (the attributes: kafscale/config/settings_fields.py), and what follows
    from them."""

    @property
    def names(self) -> EtcdNames:
        """Every derived object name, label and URL of this cluster."""
        return EtcdNames(self.cluster_name, self.namespace)

    @property
    def memory_limit_bytes(self) -> int:
        """Memory mode: the etcd container's limit and the tmpfs size limit (quota + headroom)."""
        return self.quota_backend_bytes + self.memory_headroom_bytes

    @property
    def peer_scheme(self) -> str:
        """`https` when members speak mutual TLS to each other (a peer certificate Secret, given
        or written by cert-manager, and etcdPeerUrlScheme `auto`), else `http`."""
        return "https" if self.peer_tls_secret and self.peer_url_scheme == "auto" else "http"

    @property
    def managed(self) -> bool:
        """True when this program provisions etcd; false when external endpoints are given."""
        return not self.endpoints

    def as_config_values(self) -> dict[str, object]:
        """The effective values keyed by config key, as plain data (the `settings` output)."""
        return {
            key.name: _plain(getattr(self, key.field), key.documented.attribute_type)
            for key in keys.CONFIG_KEYS
            if key.documented.attribute_type
        }


def _plain(value: object, attribute_type: str) -> object:
    """An attribute's value as plain data: lists for tuples, selectors as their text, no None for
    an optional name."""
    if attribute_type == "LabelSelector":
        return selector_text(value)  # type: ignore[arg-type]
    if attribute_type == "Annotations":
        return dict(value)  # type: ignore[call-overload]
    if attribute_type == "tuple[Toleration, ...]":
        return toleration_specs(value)  # type: ignore[arg-type]
    if attribute_type == "tuple[LabelSelector, ...]":
        return [selector_text(item) for item in value]  # type: ignore[attr-defined]
    if attribute_type.startswith("tuple["):
        return list(value)  # type: ignore[call-overload]
    if attribute_type == "str | None":
        return value or ""
    return value


@dataclass(frozen=True)
class ParsedSettings:
    settings: EtcdSettings
    warnings: tuple[ConfigWarning, ...] = field(default=())


class _Parser:
    """Reads raw values by key and collects the warnings of one parse."""

    def __init__(self, raw: Mapping[str, object]) -> None:
        self._raw = {name: _as_config_text(value) for name, value in raw.items()}
        self.warnings: list[ConfigWarning] = []

    def text(self, key: keys.ConfigKey[object], used_if_blank: str) -> str | None:
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

    def given(self, key: keys.ConfigKey[object]) -> str:
        """The trimmed value as given (the default when unset or blank), without any warning."""
        return (self._raw.get(key.name) or "").strip() or key.default

    def warn(self, key: keys.ConfigKey[object], value: str, used: str, reason: str) -> None:
        self.warnings.append(ConfigWarning(key.name, value, used, reason))

    def value(self, key: keys.ConfigKey[T]) -> T:
        """The key's value by its own rule; its default, with a warning, when the rule refuses it."""
        default = key.default_value
        shown_default = key.default_shown or _default_text(default)
        return self.convert(
            key, self.text(key, shown_default), key.convert, default, key.reason, shown_default
        )

    def convert(
        self,
        key: keys.ConfigKey[object],
        value: str | None,
        convert: Callable[[str], T | None],
        default: T,
        reason: str,
        shown_default: str = "",
    ) -> T:
        if value is None:
            return default
        converted = convert(value)
        if converted is None:
            self.warn(key, value, shown_default or _default_text(default), reason)
            return default
        return converted


def _default_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or value == ():
        return "none"
    return str(value)


_PRINTABLE_INT_BITS = 14_000  # about 4,200 decimal digits: str() still prints it


def _as_config_text(value: object) -> str | None:
    """A value as the Pulumi engine hands it to a program: text; true/false for booleans; JSON for
    lists and maps. Callers of the Python API may pass any of them."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and value.bit_length() > _PRINTABLE_INT_BITS:
        # Python refuses to print an integer past 4,300 digits (sys.get_int_max_str_digits):
        # nines of about its length stand for it, above every limit, and shown cut short.
        digits = int(value.bit_length() * math.log10(2)) + 1
        return ("-" if value < 0 else "") + "9" * digits
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, separators=(",", ":"), default=str)
    return str(value)


def parse_settings(raw: Mapping[str, object]) -> ParsedSettings:
    """Parse raw config values keyed by short key name (`etcdReplicas`, ...): strings as stack
    config gives them, or Python values (numbers, booleans, lists) that mean the same."""
    parser = _Parser(raw)
    image = parser.value(keys.IMAGE)
    mode = parser.value(keys.AUTO_COMPACTION_MODE)
    storage_memory = parser.value(keys.STORAGE_MEMORY)
    cluster_name = _identity(parser, keys.CLUSTER_NAME)
    namespace = _identity(parser, keys.K8S_NAMESPACE)
    endpoints = _endpoints(parser)
    corruption_checks = parser.value(keys.CORRUPTION_CHECKS)
    if not endpoints:
        _warn_of_known_defects(parser, image, corruption_checks)
    snapshot_enabled = parser.value(keys.SNAPSHOT_ENABLED)
    replicas = _replicas(parser, storage_memory and not endpoints)
    # The keys whose value depends on another's, or that warn beyond their own rule; every other
    # key is its own rule's value.
    decided: dict[str, object] = {
        keys.CLUSTER_NAME.field: cluster_name,
        keys.K8S_NAMESPACE.field: namespace,
        keys.ENDPOINTS.field: endpoints,
        keys.IMAGE.field: image,
        keys.REPLICAS.field: replicas,
        keys.STORAGE_MEMORY.field: storage_memory,
        keys.AUTO_COMPACTION_MODE.field: mode,
        keys.AUTO_COMPACTION_RETENTION.field: _retention(parser, mode),
        keys.QUOTA_BACKEND_BYTES.field: _quota(parser),
        keys.MAINTENANCE_ENABLED.field: _maintenance_enabled(parser),
        keys.MAINTENANCE_SCHEDULE.field: _maintenance_schedule(parser),
        keys.SNAPSHOT_BUCKET.field: _snapshot_bucket(parser, namespace, cluster_name, snapshot_enabled),
        keys.SNAPSHOT_ENABLED.field: snapshot_enabled,
        keys.PROBES.field: _probes(parser, image),
        keys.CORRUPTION_CHECKS.field: corruption_checks,
        keys.CLIENT_NAMESPACES.field: _valid_items(parser, keys.CLIENT_NAMESPACES, ",", "no other namespace"),
        keys.CLIENT_POD_SELECTORS.field: _valid_items(
            parser, keys.CLIENT_POD_SELECTORS, ";", "no pod selectors"
        ),
        keys.IMAGE_PULL_SECRETS.field: _valid_items(parser, keys.IMAGE_PULL_SECRETS, ",", "no pull secrets"),
        keys.MONITORING_LABELS.field: _monitoring_labels(parser),
        keys.MEMORY_HEADROOM.field: _byte_count_within_limit(parser, keys.MEMORY_HEADROOM),
        keys.POD_ANTI_AFFINITY.field: _pod_anti_affinity(parser, storage_memory),
        keys.DEPLOY_TIMEOUT_SEC.field: _deploy_timeout(parser, replicas),
        keys.PEER_TLS_ISSUER.field: _security_setting(parser, keys.PEER_TLS_ISSUER),
        keys.PEER_URL_SCHEME.field: _security_setting(parser, keys.PEER_URL_SCHEME),
        keys.AUTH.field: _security_setting(parser, keys.AUTH),
        keys.AUTH_ROOT_SECRET.field: _security_setting(parser, keys.AUTH_ROOT_SECRET),
        keys.AUTH_KAFSCALE_SECRET.field: _security_setting(parser, keys.AUTH_KAFSCALE_SECRET),
        keys.AUTH_CONSOLE_SECRET.field: _security_setting(parser, keys.AUTH_CONSOLE_SECRET),
        keys.PEER_TLS_SECRET.field: _tls_secret(
            parser, keys.PEER_TLS_SECRET, keys.PEER_TLS_ISSUER, f"{cluster_name}-etcd-peer-tls"
        ),
        keys.CLIENT_TLS_ISSUER.field: _security_setting(parser, keys.CLIENT_TLS_ISSUER),
        keys.CLIENT_TLS_SECRET.field: _tls_secret(
            parser, keys.CLIENT_TLS_SECRET, keys.CLIENT_TLS_ISSUER, f"{cluster_name}-etcd-client-tls"
        ),
    }
    values = {
        key.field: decided[key.field] if key.field in decided else parser.value(key)
        for key in keys.CONFIG_KEYS
        if key.documented.attribute_type
    }
    settings = EtcdSettings(**values)  # type: ignore[arg-type]
    return ParsedSettings(settings, tuple(parser.warnings))


_IDENTITY_PROBLEMS = {
    keys.CLUSTER_NAME.name: rules.cluster_name_problems,
    keys.K8S_NAMESPACE.name: rules.namespace_problems,
}


def _identity(parser: _Parser, key: keys.ConfigKey[str]) -> str:
    """A cluster name or namespace: no default can stand in for an object's identity, so a value
    Kubernetes would refuse is an error that names the rules it breaks."""
    value = parser.text(key, key.default) or key.default
    if key.convert(value) is None:
        problems = _IDENTITY_PROBLEMS[key.name](value)
        raise SettingsError(f"{key.full_name}: {shown(value)} {key.reason}: {'; '.join(problems)}")
    return value


def _security_setting(parser: _Parser, key: keys.ConfigKey[str]) -> str:
    """A key that turns a protection on: a value its rule refuses is an error, since falling
    back to the default would turn the protection off."""
    text = parser.text(key, key.default)
    if text is None:
        return key.default_value or ""
    value = key.convert(text)
    if value is None:
        raise SettingsError(f"{key.full_name}: {shown(text)} {key.reason}")
    return value


def _tls_secret(
    parser: _Parser, secret_key: keys.ConfigKey[str], issuer_key: keys.ConfigKey[str], written: str
) -> str:
    """The Secret of a certificate (peer or client): as given, or with an issuer and none given,
    `written`, the one the program has cert-manager write."""
    secret = _security_setting(parser, secret_key)
    if not secret and _security_setting(parser, issuer_key):
        return written
    return secret


def _endpoints(parser: _Parser) -> tuple[str, ...]:
    """External endpoints: each one a client URL. A bad one can only be a mistake: treating the
    list as empty would provision a second etcd instead of using the one meant."""
    key = keys.ENDPOINTS
    endpoints = _string_list(parser, key, ",", "no endpoints (a managed etcd)")
    for endpoint in endpoints:
        if key.convert(endpoint) is None:
            raise SettingsError(f"{key.full_name}: {shown(endpoint)} {key.reason}")
    return endpoints


def _monitoring_labels(parser: _Parser) -> LabelSelector:
    """Extra labels for the monitoring objects; the two selector labels are ours and stay."""
    labels = parser.value(keys.MONITORING_LABELS)
    ours = set(SELECTOR_LABEL_NAMES)
    kept = tuple((name, value) for name, value in labels if name not in ours)
    if kept != labels:
        parser.warn(
            keys.MONITORING_LABELS,
            parser.given(keys.MONITORING_LABELS),
            shown(selector_text(kept)),
            f"sets {' and '.join(sorted(ours & {name for name, _ in labels}))}, which select this "
            "cluster's objects: left out",
        )
    return kept


def _snapshot_bucket(parser: _Parser, namespace: str, cluster_name: str, enabled: bool) -> str:
    """etcdSnapshotBucket, or the operator's name derived from the namespace and cluster name. A
    derived name S3 would refuse (longer than 63 characters) is still the one used, as in the
    operator, with a warning: no other name could be guessed, and uploads to it fail until the
    key names a bucket."""
    key = keys.SNAPSHOT_BUCKET
    derived = rules.default_snapshot_bucket(namespace, cluster_name)
    bucket = parser.convert(key, parser.text(key, derived), key.convert, derived, key.reason)
    if enabled and key.convert(bucket) is None:
        parser.warn(
            key,
            bucket,
            bucket,
            f"is the default derived from the namespace and cluster name, and "
            f"{key.reason.removeprefix('is ')}: every snapshot upload fails until "
            f"{key.full_name} names a bucket",
        )
    return bucket


def _probes(parser: _Parser, image: str) -> bool:
    """On by default; off, with a warning, for an image whose etcd would fail them under NOSPACE."""
    probes = parser.value(keys.PROBES)
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


def _warn_of_known_defects(parser: _Parser, image: str, corruption_checks: bool) -> None:
    """The image stands (it is what the user runs); preview says what it risks."""
    version = image_etcd_version(image)
    if version is None:
        if corruption_checks:
            parser.warn(keys.IMAGE, image, image, UNVERSIONED_CAVEAT)
        return
    for defect in known_defects(version):
        parser.warn(
            keys.IMAGE,
            image,
            image,
            f"runs etcd {format_version(version)}: {defect.what} ({defect.link}, fixed in "
            f"{format_version(defect.fixed)}): use {format_version(defect.fixed)} or later",
        )


def _maintenance_enabled(parser: _Parser) -> bool:
    """On unless a false word says otherwise; the deprecated etcdDefragEnabled can switch it off."""
    enabled = parser.value(keys.MAINTENANCE_ENABLED)
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
    """etcdMaintenanceSchedule; the deprecated etcdDefragSchedule stands in for it when it is unset,
    as in the operator. Pulumi.yaml declares its default, so "unset" and "the default" look the
    same here: both let the alias stand in."""
    rule = keys.MAINTENANCE_SCHEDULE
    explicit = parser.text(rule, rule.default)
    schedule = parser.convert(rule, explicit, rule.convert, rule.default_value, rule.reason)
    alias = parser.text(keys.DEFRAG_SCHEDULE, "nothing")
    if alias is None:
        return schedule
    if explicit is None or rule.convert(explicit) == rule.default_value:
        aliased = rule.convert(alias)
        if aliased is None:  # warned as not a schedule, with the one used instead
            return parser.convert(keys.DEFRAG_SCHEDULE, alias, rule.convert, schedule, rule.reason)
        parser.warn(
            keys.DEFRAG_SCHEDULE, alias, aliased, "is deprecated: use kafscale:etcdMaintenanceSchedule"
        )
        return aliased
    parser.warn(
        keys.DEFRAG_SCHEDULE,
        alias,
        schedule,
        "is deprecated and ignored: kafscale:etcdMaintenanceSchedule is set",
    )
    return schedule


def _string_list(
    parser: _Parser, key: keys.ConfigKey[tuple[T, ...]], separator: str, used_if_blank: str
) -> tuple[str, ...]:
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
                f"{key.full_name}: {shown(value)} is neither a {json.dumps(separator)}-separated string "
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


def _valid_items(
    parser: _Parser, key: keys.ConfigKey[tuple[T, ...]], separator: str, used_if_blank: str
) -> tuple[T, ...]:
    """A list whose items each pass the key's rule; each item that does not is left out with a
    warning that shows what is used instead."""
    converted = {text: key.convert(text) for text in _string_list(parser, key, separator, used_if_blank)}
    valid = tuple(item for one in converted.values() if one is not None for item in one)
    used = json.dumps([_item_text(item) for item in valid])
    for text, one in converted.items():
        if one is None:
            parser.warn(key, text, used, key.reason)
    return valid


def _item_text(item: object) -> str:
    """A list item as a user would write it (a label selector as `key=value,...`)."""
    if isinstance(item, tuple):
        return selector_text(item)
    return str(item)


def _above_the_limit(parser: _Parser, key: keys.ConfigKey[int], above: bool, limit: str) -> None:
    """A size past a limit, however many digits it has, is refused outright: on a live cluster,
    falling back to the default would shrink it (members removed, a quota or memory limit below
    what the data holds)."""
    if above:
        raise SettingsError(f"{key.full_name}: {shown(parser.given(key))} is above {limit}")


def _replicas(parser: _Parser, managed_in_memory: bool) -> int:
    _above_the_limit(
        parser,
        keys.REPLICAS,
        rules.whole_number_above(rules.MAX_REPLICAS)(parser.given(keys.REPLICAS)),
        f"{rules.MAX_REPLICAS} members, the most etcd recommends",
    )
    replicas = parser.value(keys.REPLICAS)
    if replicas % 2 == 0:
        parser.warn(
            keys.REPLICAS,
            str(replicas),
            str(replicas),
            f"is even: it tolerates no more failed members than {replicas - 1} would",
        )
    if replicas == 1 and managed_in_memory:
        parser.warn(
            keys.REPLICAS,
            "1",
            "1",
            "member in memory mode keeps every offset in one pod's tmpfs: its first pod restart "
            "(an eviction, a node drain, any change to the pod template) loses them all, and the "
            "member then waits for a restore rather than start empty",
        )
    return replicas


def _byte_count_within_limit(parser: _Parser, key: keys.ConfigKey[int]) -> int:
    given = parser.given(key)
    # Only what would be a byte count if it were smaller: a binary unit or none.
    suffix = given.lstrip("+0123456789.")
    too_large = suffix in ("", *BINARY_SUFFIXES) and quantity_above(given, rules.MAX_BACKEND_BYTES)
    _above_the_limit(
        parser, key, too_large, f"{format_binary_si(rules.MAX_BACKEND_BYTES)}, the most a member holds"
    )
    return parser.value(key)


def _quota(parser: _Parser) -> int:
    quota = _byte_count_within_limit(parser, keys.QUOTA_BACKEND_BYTES)
    if quota > ETCD_SUGGESTED_MAX_QUOTA_BYTES:
        parser.warn(
            keys.QUOTA_BACKEND_BYTES,
            parser.given(keys.QUOTA_BACKEND_BYTES),
            str(quota),
            f"is above etcd's suggested maximum of {format_binary_si(ETCD_SUGGESTED_MAX_QUOTA_BYTES)}",
        )
    return quota


def _retention(parser: _Parser, mode: str) -> str:
    default = keys.DEFAULT_RETENTION_BY_MODE[mode]
    convert, reason = keys.RETENTION_RULE_BY_MODE[mode]
    key = keys.AUTO_COMPACTION_RETENTION
    retention = parser.convert(key, parser.text(key, default), convert, default, reason)
    if mode == "periodic" and periodic_retention_nanos(retention) == 0:
        parser.warn(
            key,
            retention,
            retention,
            "disables auto-compaction: the backend will grow until it hits the quota",
        )
    return retention


def _pod_anti_affinity(parser: _Parser, storage_memory: bool) -> str:
    """`required` or `preferred`; empty (or refused, with a warning) means the storage mode's default."""
    default = keys.DEFAULT_POD_ANTI_AFFINITY_BY_MEMORY[storage_memory]
    key = keys.POD_ANTI_AFFINITY
    return parser.convert(key, parser.text(key, default), key.convert, default, key.reason)


def _deploy_timeout(parser: _Parser, replicas: int) -> int:
    """etcdDeployTimeoutSec, or the default for the member count (rules.default_deploy_timeout_s)."""
    default = rules.default_deploy_timeout_s(replicas)
    key = keys.DEPLOY_TIMEOUT_SEC
    # The key's rule gives whole seconds; only its unset value (empty: the count's default) is text.
    seconds = cast(Callable[[str], int | None], key.convert)
    return parser.convert(key, parser.text(key, str(default)), seconds, default, key.reason)
