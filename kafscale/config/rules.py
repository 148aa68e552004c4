"""What a config value must look like: one converter per kind of value, and the limits they keep.

Each converter takes the trimmed text and returns the value to use, or None when the text cannot
be used (the caller then falls back to the key's default with a warning, or stops with an error).
Every value a converter accepts is one etcd and Kubernetes accept too. Pure: no Pulumi, no
environment.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import math
import re
from collections.abc import Callable, Mapping
from fractions import Fraction
from urllib.parse import urlsplit

from kafscale.config.cron import is_valid_schedule
from kafscale.config.durations import NANOS_PER_UNIT, go_duration_nanos, periodic_retention_nanos
from kafscale.config.naming import CLUSTER_NAME_MAX_LENGTH
from kafscale.config.quantities import INT64_MAX, parse_byte_count, parse_quantity

INT32_MAX = 2**31 - 1
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
COMPACTION_MODES = ("periodic", "revision")
NAMESPACE_NAME_MAX_LENGTH = 63
DNS_SUBDOMAIN_MAX_LENGTH = 253

# Limits a real cluster can run with, each with its reason (docs/settings.md says the same).
# etcd's FAQ: more than seven members is not recommended; every member is one more copy of every
# write, and a member count this program renders must fit one `--initial-cluster` argument.
MAX_REPLICAS = 7
# How long a member may take to replay its WAL and join (the startup probe's budget), and the
# bounds of etcdDeployTimeoutSec, pulumi-kubernetes' wait for the StatefulSet's rollout.
MEMBER_STARTUP_BUDGET_S = 300
MIN_DEPLOY_TIMEOUT_S = 60
MAX_DEPLOY_TIMEOUT_S = 86_400
# A quota (or memory headroom) beyond 1 TiB is no etcd a node can hold, and keeps every sum the
# maintenance script makes (quota x 100, quota + headroom) inside 64-bit shell arithmetic.
MAX_BACKEND_BYTES = 1024**4
# Far above what any etcd acknowledges (tens of thousands of writes/s): a larger rate is a typo.
MAX_WRITE_RATE = 1_000_000.0
# etcd 3.4 and 3.5 panic at start below 10ns (integer divide by zero in the periodic compactor)
# and compact thousands of times a second below a millisecond: a second is the shortest window
# that makes sense for KafScale's offsets. 0 (compaction off) is allowed, with a warning.
MIN_PERIODIC_RETENTION_NANOS = NANOS_PER_UNIT["s"]
# The leader's periodic hash check: more often than 10 s is a scan in a loop, less than daily
# leaves a divergence unseen for days.
CORRUPT_CHECK_MIN_S = 10
CORRUPT_CHECK_MAX_S = 24 * 3600
# More snapshots than anyone keeps (a year of hourly ones is 8,760): a larger count is a typo.
MAX_SNAPSHOTS_KEPT = 100_000
# An S3 key holds at most 1024 bytes: the prefix leaves room for the cluster's folder (at most
# 63 + 29 + 14 characters: EtcdNames.snapshot_identity) and `/<14 digits>.db.sha256`.
S3_PREFIX_MAX_LENGTH = 512
S3_BUCKET_MIN_LENGTH, S3_BUCKET_MAX_LENGTH = 3, 63
WHOLE_NUMBER_MAX_DIGITS = 19  # enough for any int64; longer text is never a real number

LabelSelector = tuple[tuple[str, str], ...]

_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
# The image reference grammar of the container runtimes (distribution/reference): an optional
# registry host[:port], lower-case path components, an optional tag and an optional digest. A
# first component counts as a registry only with a '.' or a port, or as `localhost`: every
# runtime version reads it so (older ones read `Name/x` as a path on Docker Hub, and refuse it).
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = (
    rf"(?:localhost(?::[0-9]+)?|{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})+(?::[0-9]+)?"
    rf"|{_DOMAIN_COMPONENT}:[0-9]+)"
)
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_IMAGE_REFERENCE = re.compile(
    rf"^(?P<name>{_IMAGE_NAME})(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?"
    r"(?:@(?P<algorithm>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*):(?P<encoded>[0-9a-fA-F]{32,}))?$"
)
IMAGE_NAME_MAX_LENGTH = 255
# The digests a runtime verifies (opencontainers/go-digest: the registered algorithms, each with
# its lower-case hex length); any other algorithm, length or case is refused at pull.
IMAGE_DIGEST_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
DEFAULT_REGISTRY = "docker.io"


def shown(text: str, limit: int = 80) -> str:
    """`text` quoted for a message: control characters, non-ASCII and broken Unicode escaped (so a
    value can neither forge a line nor reach the terminal raw), long values cut."""
    cut = text[:limit]
    quoted = json.dumps(cut)
    return quoted if cut == text else f'{quoted[:-1]}..." ({len(text)} characters)'


def is_dns_subdomain(text: str) -> bool:
    return len(text) <= DNS_SUBDOMAIN_MAX_LENGTH and bool(_DNS1123_SUBDOMAIN.match(text))


def cluster_name(text: str) -> str | None:
    """A name every derived object name can start with (a DNS-1035 label, short enough)."""
    return text if _DNS1035_LABEL.match(text) and len(text) <= CLUSTER_NAME_MAX_LENGTH else None


def cluster_name_problems(text: str) -> list[str]:
    """The rules a refused cluster name breaks, and only those."""
    return _label_problems(text, r"[a-zA-Z]", "start with a letter", CLUSTER_NAME_MAX_LENGTH)


def namespace_problems(text: str) -> list[str]:
    """The rules a refused namespace name breaks, and only those."""
    return _label_problems(text, r"[a-zA-Z0-9]", "start with a letter or digit", NAMESPACE_NAME_MAX_LENGTH)


def _label_problems(text: str, first: str, first_rule: str, max_length: int) -> list[str]:
    problems = []
    if not re.fullmatch(r"[a-z0-9-]*", text):
        problems.append("use only lower-case letters, digits and '-'")
    if not re.match(first, text):  # the case is the rule above
        problems.append(first_rule)
    if not re.search(r"[a-zA-Z0-9]\Z", text):
        problems.append("end with a letter or digit")
    if len(text) > max_length:
        problems.append(f"use at most {max_length} characters (it has {len(text)})")
    return problems


def namespace_name(text: str) -> str | None:
    """A DNS-1123 label, as Kubernetes requires of a namespace name."""
    return text if _DNS1123_LABEL.match(text) and len(text) <= NAMESPACE_NAME_MAX_LENGTH else None


def storage_class_name(text: str) -> str | None:
    """A StorageClass name: a DNS-1123 subdomain."""
    return text if is_dns_subdomain(text) else None


def image_reference(text: str) -> str | None:
    """An image reference the kubelet can pull (`registry:5000/path/name:tag@sha256:...`): a
    digest of a registered algorithm in lower-case hex of its length, and a name of at most 255
    characters once normalised as the runtimes normalise it (distribution/reference
    `ParseNormalizedNamed`: `etcd` is `docker.io/library/etcd`, `team/etcd` `docker.io/team/etcd`)."""
    match = _IMAGE_REFERENCE.match(text) if len(text) <= 2 * IMAGE_NAME_MAX_LENGTH else None
    if match is None or len(normalized_image_name(match["name"])) > IMAGE_NAME_MAX_LENGTH:
        return None
    if match["algorithm"] is not None:
        length = IMAGE_DIGEST_HEX_LENGTHS.get(match["algorithm"])
        if length is None or not re.fullmatch(rf"[0-9a-f]{{{length}}}", match["encoded"]):
            return None
    return text


def normalized_image_name(name: str) -> str:
    """An image name with the registry and path the runtimes add to a short one."""
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return name
    return f"{DEFAULT_REGISTRY}/{name}" if rest else f"{DEFAULT_REGISTRY}/library/{name}"


def endpoint_url(text: str) -> str | None:
    """An etcd client URL: http or https, a host, an optional port from 1 to 65535."""
    if not text.isascii() or not text.isprintable() or any(c.isspace() for c in text):
        return None
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        return None
    if parts.query or parts.fragment or parts.path not in ("", "/") or parts.username or parts.password:
        return None
    return text


# A host the AWS CLI takes (botocore/utils.py `is_valid_endpoint_url`, `is_valid_uri`): labels of
# letters, digits and '-', 1 to 63 characters, not starting or ending with '-'; or an IP address.
_HOST_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def s3_endpoint_url(text: str) -> str | None:
    """An S3 endpoint: an http or https URL as for etcd, whose host is a DNS name of valid labels
    or an IP address (no `_`, no empty or over-long label, no percent-escape)."""
    if endpoint_url(text) is None:
        return None
    host = urlsplit(text).hostname or ""
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(host)
        return text
    labels = host.rstrip(".").split(".")
    if len(host) > DNS_SUBDOMAIN_MAX_LENGTH or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        return None
    return text


# S3's general purpose bucket naming rules (the Amazon S3 user guide, "Bucket naming rules").
_S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
_S3_BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_S3_BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_IPV4_ADDRESS = re.compile(r"^[0-9]+(\.[0-9]+){3}$")
_S3_REGION = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def s3_bucket_name(text: str) -> str | None:
    """A general purpose bucket name S3 accepts."""
    if not S3_BUCKET_MIN_LENGTH <= len(text) <= S3_BUCKET_MAX_LENGTH or not _S3_BUCKET.match(text):
        return None
    if ".." in text or _IPV4_ADDRESS.match(text):
        return None
    if text.startswith(_S3_BUCKET_RESERVED_PREFIXES) or text.endswith(_S3_BUCKET_RESERVED_SUFFIXES):
        return None
    return text


def default_snapshot_bucket(namespace: str, cluster: str) -> str:
    """The operator's bucket: `kafscale-etcd-<namespace>-<cluster>`, lower-cased, each run of other
    characters one '-', '-' trimmed from both ends."""
    return re.sub(r"[^a-z0-9]+", "-", f"kafscale-etcd-{namespace}-{cluster}".lower()).strip("-")


def s3_prefix(text: str) -> str | None:
    """A key prefix, its slashes trimmed as the operator does: printable ASCII without spaces, each
    `/`-separated segment non-empty and neither `.` nor `..`."""
    prefix = text.strip("/")
    if not prefix or len(prefix) > S3_PREFIX_MAX_LENGTH or not prefix.isascii() or not prefix.isprintable():
        return None
    if any(c.isspace() for c in prefix):
        return None
    if any(segment in ("", ".", "..") for segment in prefix.split("/")):
        return None
    return prefix


def s3_region(text: str) -> str | None:
    """A region name as AWS and S3-compatible stores spell them (`eu-west-1`, `garage`): not
    digits alone, which the AWS CLI refuses."""
    return text if _S3_REGION.match(text) and not text.isdigit() else None


def secret_name(text: str) -> str | None:
    """A Secret name: a DNS-1123 subdomain."""
    return text if is_dns_subdomain(text) else None


def whole_number(low: int, high: int) -> Callable[[str], int | None]:
    """A whole number from `low` to `high`; leading zeros change nothing (`007` is 7)."""

    def convert(text: str) -> int | None:
        match = re.fullmatch(rf"([+-]?)0*([0-9]{{1,{WHOLE_NUMBER_MAX_DIGITS}}})", text)
        if match is None:
            return None
        number = int(match[1] + match[2])
        return number if low <= number <= high else None

    return convert


def whole_number_above(limit: int) -> Callable[[str], bool]:
    """Whether a text is a whole number above `limit`, however many digits it has (decided on
    its digits: no number of that size is ever built)."""

    def above(text: str) -> bool:
        match = re.fullmatch(r"\+?0*([0-9]+)", text)
        if match is None:
            return False
        digits = match[1]
        return len(digits) > len(str(limit)) or int(digits) > limit

    return above


def byte_count(text: str) -> int | None:
    """Whole bytes or a binary quantity, from 1 byte to MAX_BACKEND_BYTES."""
    count = parse_byte_count(text)
    return count if count is not None and 0 < count <= MAX_BACKEND_BYTES else None


def storage_quantity(text: str) -> str | None:
    """A claim size: a Kubernetes quantity of whole bytes, at least one."""
    parsed = parse_quantity(text)
    if parsed is None or parsed[0].denominator != 1 or not 0 < parsed[0] <= INT64_MAX:
        return None
    return text


MAX_CPU_CORES = 256  # no node holds more; a larger request can only be a typo


def cpu_quantity(text: str) -> str | None:
    """A CPU request: a Kubernetes quantity of at least one millicore (`250m`, `0.5`, `2`) and at
    most MAX_CPU_CORES, in whole millicores (Kubernetes rounds finer ones up)."""
    parsed = parse_quantity(text)
    if parsed is None:
        return None
    cores = parsed[0]
    if not Fraction(1, 1000) <= cores <= MAX_CPU_CORES or (cores * 1000).denominator != 1:
        return None
    return text


MIN_MEMORY_REQUEST_BYTES = 64 * 2**20  # below this etcd does not start


def memory_quantity(text: str) -> str | None:
    """A memory request: a Kubernetes quantity of whole bytes (`512Mi`, `1G`) from 64Mi to
    MAX_BACKEND_BYTES."""
    parsed = parse_quantity(text)
    if parsed is None or parsed[0].denominator != 1:
        return None
    return text if MIN_MEMORY_REQUEST_BYTES <= parsed[0] <= MAX_BACKEND_BYTES else None


def write_rate(text: str) -> float | None:
    """Writes per second: a positive number up to MAX_WRITE_RATE."""
    if len(text) > 32:
        return None
    try:
        rate = float(text)
    except ValueError:
        return None
    return rate if math.isfinite(rate) and 0 < rate <= MAX_WRITE_RATE else None


def boolean_word(text: str) -> bool | None:
    word = text.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


# etcd's client authentication (etcdAuth): off, on, or on its way off (the credentials kept while
# the auth Job disables it in etcd).
AUTH_MODES = ("off", "on", "disabling")


def auth_mode(text: str) -> str | None:
    """`off`, `on` or `disabling`; a boolean word means `on` or `off`."""
    word = text.lower()
    if word in AUTH_MODES:
        return word
    flag = boolean_word(word)
    return None if flag is None else ("on" if flag else "off")


PEER_URL_SCHEMES = ("auto", "http")


def peer_url_scheme(text: str) -> str | None:
    """`auto` (https with a peer certificate, else http) or `http` (plain HTTP peer URLs even
    with one: the step between plain and mutual TLS, either way)."""
    word = text.strip().lower()
    return word if word in PEER_URL_SCHEMES else None


def compaction_mode(text: str) -> str | None:
    mode = text.lower()
    return mode if mode in COMPACTION_MODES else None


def revision_count(text: str) -> str | None:
    count = whole_number(1, INT64_MAX)(text)
    return str(count) if count is not None else None


def periodic_retention(text: str) -> str | None:
    """A Go duration or whole hours, as etcd reads it: 0 (off), or at least a second."""
    nanos = periodic_retention_nanos(text)
    if nanos is None or 0 < nanos < MIN_PERIODIC_RETENTION_NANOS:
        return None
    return text


def corrupt_check_interval(text: str) -> int | None:
    """Whole seconds of a Go duration from 10 s to 24 h: how often the leader compares hashes."""
    nanos = go_duration_nanos(text)
    if nanos is None or nanos % 10**9:
        return None
    seconds = nanos // 10**9
    return seconds if CORRUPT_CHECK_MIN_S <= seconds <= CORRUPT_CHECK_MAX_S else None


def cron_schedule(text: str) -> str | None:
    schedule = " ".join(text.split())
    return schedule if is_valid_schedule(schedule) else None


def label_key(text: str) -> bool:
    """A label key: an optional DNS-subdomain prefix and '/', then a name of up to 63 characters."""
    prefix, slash, name = text.rpartition("/")
    if slash and not is_dns_subdomain(prefix):
        return False
    return bool(_LABEL_NAME.match(name))


def label_value(text: str) -> bool:
    return text == "" or bool(_LABEL_NAME.match(text))


def label_selector(text: str) -> LabelSelector | None:
    """`key=value[,key=value...]`, each key and value as Kubernetes labels allow, keys unique."""
    pairs: list[tuple[str, str]] = []
    for requirement in text.split(","):
        key, equals, value = (part.strip() for part in requirement.partition("="))
        if not equals or not label_key(key) or not label_value(value):
            return None
        if key in dict(pairs):
            return None
        pairs.append((key, value))
    return tuple(pairs)


Annotations = tuple[tuple[str, str], ...]
# Kubernetes refuses an object whose annotations (keys and values) pass 256 KiB in all
# (apimachinery's ValidateAnnotationsSize, TotalAnnotationSizeLimitB).
ANNOTATIONS_MAX_BYTES = 256 * 1024
SELECTOR_LABELS = ("app", "cluster")  # naming.SELECTOR_LABEL_NAMES: no extra label may take them


def _string_pairs(text: str) -> list[tuple[str, str]] | None:
    """`key=value[,key=value...]`, or a JSON object of strings (how stack config hands a YAML map
    to the program); None when it is neither or a key repeats."""
    if text.startswith("{"):
        try:
            mapping = json.loads(text)
        except ValueError:
            return None
        if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
            return None
        return [(str(key).strip(), value.strip()) for key, value in mapping.items()]
    pairs: list[tuple[str, str]] = []
    for item in text.split(","):
        key, equals, value = (part.strip() for part in item.partition("="))
        if not equals or key in dict(pairs):
            return None
        pairs.append((key, value))
    return pairs


def label_map(text: str) -> LabelSelector | None:
    """Labels as `key=value,...` or a map: each key and value as Kubernetes labels allow."""
    pairs = _string_pairs(text)
    if pairs is None or not all(label_key(key) and label_value(value) for key, value in pairs):
        return None
    return tuple(pairs)


def extra_labels(text: str) -> LabelSelector | None:
    """Labels added to ours, never one of the two our selectors use (`app`, `cluster`)."""
    labels = label_map(text)
    if labels is None or any(key in SELECTOR_LABELS for key, _ in labels):
        return None
    return labels


def annotation_map(text: str) -> Annotations | None:
    """Annotations as `key=value,...` or a map: keys as label keys, any values, 256 KiB in all."""
    pairs = _string_pairs(text)
    if pairs is None or not all(label_key(key) for key, _ in pairs):
        return None
    if sum(len(key.encode()) + len(value.encode()) for key, value in pairs) > ANNOTATIONS_MAX_BYTES:
        return None
    return tuple(pairs)


# A toleration as its fields in Kubernetes' order, each (field, text); tolerationSeconds as digits.
Toleration = tuple[tuple[str, str], ...]
TOLERATION_OPERATORS = ("Equal", "Exists")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_TOLERATION_FIELDS = ("key", "operator", "value", "effect", "tolerationSeconds")


def _toleration(fields: Mapping[str, object]) -> Toleration | None:
    """One toleration as Kubernetes validates it (pkg/apis/core/validation `validateTolerations`):
    a label key or none (then `Exists`), `Equal` with a label value or `Exists` with none, a taint
    effect or none, `tolerationSeconds` only with `NoExecute`."""
    if not set(fields) <= set(_TOLERATION_FIELDS) or not all(
        isinstance(fields.get(name, ""), str) for name in ("key", "operator", "value", "effect")
    ):
        return None
    key, value = str(fields.get("key", "")), str(fields.get("value", ""))
    operator, effect = str(fields.get("operator", "Equal")), str(fields.get("effect", ""))
    seconds = fields.get("tolerationSeconds")
    if (key and not label_key(key)) or operator not in TOLERATION_OPERATORS:
        return None
    if (not key and operator != "Exists") or (operator == "Exists" and value) or not label_value(value):
        return None
    if effect and effect not in TAINT_EFFECTS:
        return None
    pairs = [("key", key)] if key else []
    pairs.append(("operator", operator))
    if value:
        pairs.append(("value", value))
    if effect:
        pairs.append(("effect", effect))
    if seconds is not None:
        if effect != "NoExecute" or isinstance(seconds, bool) or not isinstance(seconds, int):
            return None
        if not 0 <= seconds <= INT64_MAX:
            return None
        pairs.append(("tolerationSeconds", str(seconds)))
    return tuple(pairs)


def tolerations(text: str) -> tuple[Toleration, ...] | None:
    """Tolerations as a YAML list of maps (Kubernetes' fields), or as taints written the way
    `kubectl taint` writes them: `key=value:Effect` (Equal), `key:Effect` (Exists), comma-separated."""
    if text.startswith("["):
        try:
            items = json.loads(text)
        except ValueError:
            return None
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            return None
        parsed = [_toleration(item) for item in items]
    else:
        parsed = []
        for taint in text.split(","):
            target, colon, effect = taint.strip().rpartition(":")
            if not colon:
                return None
            key, equals, value = target.partition("=")
            fields = {"key": key, "operator": "Equal" if equals else "Exists", "effect": effect}
            if equals:
                fields["value"] = value
            parsed.append(_toleration(fields))
    if any(item is None for item in parsed):
        return None
    return tuple(item for item in parsed if item is not None)


def toleration_specs(items: tuple[Toleration, ...]) -> list[dict[str, object]]:
    """The tolerations as a pod spec holds them."""
    return [
        {field: int(text) if field == "tolerationSeconds" else text for field, text in item} for item in items
    ]


def dns_subdomain_name(text: str) -> str | None:
    """An object name Kubernetes takes (DNS-1123 subdomain): a Secret, a ServiceAccount, a
    PriorityClass."""
    return text if is_dns_subdomain(text) else None


ISSUER_KINDS = ("Issuer", "ClusterIssuer")


def issuer_reference(text: str) -> str | None:
    """A cert-manager issuer: `<name>` (an Issuer in the namespace), `Issuer/<name>` or
    `ClusterIssuer/<name>`, the name a DNS-1123 subdomain; given back as `<kind>/<name>`."""
    kind, _, name = text.rpartition("/")
    kind = kind or ISSUER_KINDS[0]
    return f"{kind}/{name}" if kind in ISSUER_KINDS and is_dns_subdomain(name) else None


def selector_text(selector: LabelSelector) -> str:
    return ",".join(f"{key}={value}" for key, value in selector)


def default_deploy_timeout_s(replicas: int) -> int:
    """A rolling update replaces the members one at a time, each within its startup budget; one
    budget more covers the scheduling and image pulls. 600 s for 1 member, pulumi-kubernetes' own
    default, and 1,200 s for 3."""
    return (replicas + 1) * MEMBER_STARTUP_BUDGET_S
