"""The stack config keys this program reads: for each, its default and its rule. The one source.

Pulumi.yaml declares the same keys (type, default and description) and the README documents them
(env var, default, rule); tests hold all three in step with this list, and prove that parsing
each declared default gives what an empty config gives. The settings dataclass, the sizing CLI's
options and the sizing maths take their defaults from here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

from kafscale import rules

NAMESPACE = "kafscale"
OPERATOR_ENV_PREFIX = "KAFSCALE_OPERATOR_"

T = TypeVar("T")

BOOLEAN_REASON = "is not one of 1/true/yes/on or 0/false/no/off"
CRON_REASON = "is not a cron schedule (five fields, or @hourly, @daily, ...)"
BYTES_REASON = "is not a byte count or binary quantity from 1 byte to 1Ti (such as {example})"
POD_ANTI_AFFINITIES = ("required", "preferred")


@dataclass(frozen=True)
class ConfigKey(Generic[T]):
    """One `kafscale:` key.

    `default` is the text Pulumi.yaml declares (empty: none); `convert` turns a trimmed value into
    what the program uses, or None when the value cannot be used, which `reason` then explains;
    `unset` is the value of an empty default.
    """

    name: str
    default: str
    convert: Callable[[str], T | None]
    reason: str = ""
    unset: T | None = None
    mirrors_operator_env: bool = True
    default_shown: str = ""  # how a warning names the default, when not as the value itself

    @property
    def full_name(self) -> str:
        return f"{NAMESPACE}:{self.name}"

    @property
    def default_value(self) -> T:
        """The declared default, parsed by the key's own rule (`unset` when it is empty)."""
        value = self.convert(self.default) if self.default else self.unset
        if value is None and self.default:
            raise AssertionError(f"{self.full_name}: the declared default {self.default!r} breaks its rule")
        return cast(T, value)

    @property
    def env_var(self) -> str | None:
        """The operator env var this key mirrors (the DEVELOPERS.md naming rule, inverted)."""
        if not self.mirrors_operator_env:
            return None
        return OPERATOR_ENV_PREFIX + snake_case(self.name).upper()


def snake_case(name: str) -> str:
    """`etcdQuotaBackendBytes` -> `etcd_quota_backend_bytes`: the env var's words and the
    component's Python field names."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _list_of(
    name: str, item_rule: Callable[[str], T | None], reason: str, ours: bool = True
) -> ConfigKey[tuple[T, ...]]:
    """A list key (empty by default) whose rule applies to each item; settings.py splits the
    list and says what a refused item means (left out with a warning, or an error)."""

    def convert(item: str) -> tuple[T, ...] | None:
        value = item_rule(item)
        return None if value is None else (value,)

    return ConfigKey(name, "", convert, reason, unset=(), mirrors_operator_env=not ours)


def _boolean(name: str, default: str, ours: bool = True) -> ConfigKey[bool]:
    return ConfigKey(name, default, rules.boolean_word, BOOLEAN_REASON, mirrors_operator_env=not ours)


def _pod_anti_affinity(text: str) -> str | None:
    """`required` (members on distinct nodes, or Pending) or `preferred` (the operator's soft rule)."""
    choice = text.lower()
    return choice if choice in POD_ANTI_AFFINITIES else None


# Identities: a value Kubernetes would refuse is an error, naming the rules it breaks.
CLUSTER_NAME = ConfigKey(
    "clusterName",
    "kafscale",
    rules.cluster_name,
    "cannot name Kubernetes objects",
    mirrors_operator_env=False,
)
K8S_NAMESPACE = ConfigKey(
    "namespace", "kafscale", rules.namespace_name, "is not a valid namespace", mirrors_operator_env=False
)
# A list whose every item must be a client URL: a bad one is an error (no default could stand in).
ENDPOINTS = _list_of(
    "etcdEndpoints",
    rules.endpoint_url,
    "is not an etcd client URL (http://host:port or https://host:port)",
    ours=False,
)
IMAGE_REASON = "is not an image reference the kubelet can pull (such as registry.example:5000/etcd:3.6.4-0)"
IMAGE = ConfigKey("etcdImage", "kubesphere/etcd:3.6.4-0", rules.image_reference, IMAGE_REASON)
REPLICAS = ConfigKey(
    "etcdReplicas",
    "3",
    rules.whole_number(1, rules.MAX_REPLICAS),
    f"is not a whole number of members from 1 to {rules.MAX_REPLICAS} (etcd recommends at most seven)",
)
STORAGE_SIZE = ConfigKey(
    "etcdStorageSize",
    "10Gi",
    rules.storage_quantity,
    "is not a Kubernetes quantity of whole bytes (such as 20Gi or 500M)",
)
STORAGE_CLASS: ConfigKey[str | None] = ConfigKey(
    "etcdStorageClass",
    "",
    rules.storage_class_name,
    "is not a StorageClass name (a DNS-1123 subdomain: lower-case letters, digits, '-' and '.')",
    default_shown="no storage class (the cluster default)",
)
STORAGE_MEMORY = _boolean("etcdStorageMemory", "false", ours=False)
AUTO_COMPACTION_MODE = ConfigKey(
    "etcdAutoCompactionMode", "periodic", rules.compaction_mode, "is not periodic or revision"
)
# Empty means "the default for the mode" (DEFAULT_RETENTION_BY_MODE); the rule depends on the mode.
AUTO_COMPACTION_RETENTION = ConfigKey("etcdAutoCompactionRetention", "", str, unset="")
QUOTA_BACKEND_BYTES = ConfigKey(
    "etcdQuotaBackendBytes",
    "4294967296",
    rules.byte_count,
    BYTES_REASON.format(example="4294967296 or 4Gi"),
)
EXPECTED_WRITE_RATE: ConfigKey[float | None] = ConfigKey(
    "etcdExpectedWriteRate",
    "",
    rules.write_rate,
    f"is not a number of writes per second above 0 and up to {rules.MAX_WRITE_RATE:,.0f}",
    mirrors_operator_env=False,
)
MAINTENANCE_ENABLED = _boolean("etcdMaintenanceEnabled", "true", ours=False)
MAINTENANCE_SCHEDULE = ConfigKey("etcdMaintenanceSchedule", "0 */6 * * *", rules.cron_schedule, CRON_REASON)
MAINTENANCE_CHECK_SCHEDULE = ConfigKey(
    "etcdMaintenanceCheckSchedule", "*/15 * * * *", rules.cron_schedule, CRON_REASON
)
MAINTENANCE_SIZE_THRESHOLD_PCT = ConfigKey(
    "etcdMaintenanceSizeThresholdPct",
    "75",
    rules.whole_number(1, 100),
    "is not a whole percentage from 1 to 100",
)
# Deprecated: an alias of the maintenance schedule, and a false word that also disables maintenance.
DEFRAG_SCHEDULE: ConfigKey[str | None] = ConfigKey("etcdDefragSchedule", "", rules.cron_schedule, CRON_REASON)
DEFRAG_ENABLED: ConfigKey[bool | None] = ConfigKey(
    "etcdDefragEnabled", "", rules.boolean_word, BOOLEAN_REASON
)
ETCDCTL_IMAGE = ConfigKey(
    "etcdSnapshotEtcdctlImage",
    "ghcr.io/kafscale/kafscale-etcd-tools:dev",
    rules.image_reference,
    IMAGE_REASON,
)
# Snapshots to S3 (the operator's snapshot CronJob), then our own keys for them.
SNAPSHOT_BUCKET_REASON = (
    "is not a bucket name S3 accepts (3 to 63 lower-case letters, digits, '.' and '-', starting "
    "and ending with a letter or digit, not an IP address)"
)
# Empty means "derived from the namespace and cluster name" (rules.default_snapshot_bucket).
SNAPSHOT_BUCKET = ConfigKey("etcdSnapshotBucket", "", rules.s3_bucket_name, SNAPSHOT_BUCKET_REASON, unset="")
SNAPSHOT_PREFIX = ConfigKey(
    "etcdSnapshotPrefix",
    "etcd-snapshots",
    rules.s3_prefix,
    "is not a key prefix (printable ASCII without spaces, no empty, '.' or '..' segment, up to "
    f"{rules.S3_PREFIX_MAX_LENGTH} characters once its slashes are trimmed)",
)
SNAPSHOT_SCHEDULE = ConfigKey("etcdSnapshotSchedule", "0 * * * *", rules.cron_schedule, CRON_REASON)
SNAPSHOT_IMAGE = ConfigKey("etcdSnapshotImage", "amazon/aws-cli:2.15.0", rules.image_reference, IMAGE_REASON)
SNAPSHOT_S3_ENDPOINT = ConfigKey(
    "etcdSnapshotS3Endpoint",
    "",
    rules.s3_endpoint_url,
    "is not an S3 endpoint URL the AWS CLI takes (http://host:port or https://host:port, the host an "
    "IP address or labels of letters, digits and '-')",
    unset="",
    default_shown="none (AWS S3)",
)
SNAPSHOT_STALE_AFTER_SEC = ConfigKey(
    "etcdSnapshotStaleAfterSec",
    "7200",
    rules.whole_number(1, rules.INT32_MAX),
    "is not a positive whole number of seconds",
)
SNAPSHOT_CREATE_BUCKET = _boolean("etcdSnapshotCreateBucket", "false", ours=False)
SNAPSHOT_PROTECT_BUCKET = _boolean("etcdSnapshotProtectBucket", "false", ours=False)
SNAPSHOT_S3_REGION = ConfigKey(
    "etcdSnapshotS3Region",
    "",
    rules.s3_region,
    "is not a region name (lower-case letters, digits and '-', such as eu-west-1)",
    unset="",
    mirrors_operator_env=False,
    default_shown="none (the AWS CLI's default, us-east-1)",
)
SNAPSHOT_CREDENTIALS_SECRET = ConfigKey(
    "etcdSnapshotCredentialsSecret",
    "",
    rules.secret_name,
    "is not a Secret name (a DNS-1123 subdomain: lower-case letters, digits, '-' and '.')",
    unset="",
    mirrors_operator_env=False,
    default_shown="none (the pod's own AWS credentials)",
)
SNAPSHOT_KEEP = ConfigKey(
    "etcdSnapshotKeep",
    "0",
    rules.whole_number(0, rules.MAX_SNAPSHOTS_KEPT),
    f"is not a whole number of snapshots from 0 (keep all) to {rules.MAX_SNAPSHOTS_KEPT:,}",
    mirrors_operator_env=False,
)
SNAPSHOT_ENABLED = _boolean("etcdSnapshotEnabled", "true")
# A cluster that bootstrapped, lost every member and has no snapshot to restore waits; true lets it
# start again empty (KafScale's offsets gone) rather than wait for a backup or a person.
START_EMPTY_WHEN_LOST = _boolean("etcdStartEmptyWhenLost", "false")
PROBES = _boolean("etcdProbes", "true")
# etcd's initial and periodic corruption checks (kafscale/corruption_checks.py).
CORRUPTION_CHECKS = _boolean("etcdCorruptionChecks", "true")
CORRUPT_CHECK_INTERVAL = ConfigKey(
    "etcdCorruptCheckInterval",
    "15m",
    rules.corrupt_check_interval,
    "is not a whole number of seconds from 10s to 24h as a Go duration (such as 15m or 1h)",
    mirrors_operator_env=False,
    default_shown="15m",
)
RUN_AS_USER = ConfigKey(
    "etcdRunAsUser",
    "65532",
    rules.whole_number(1, rules.INT32_MAX),
    "is not a non-root user ID (a whole number from 1 to 2147483647)",
    mirrors_operator_env=False,
)
READ_ONLY_ROOT_FILESYSTEM = _boolean("etcdReadOnlyRootFilesystem", "true")
NETWORK_POLICY = _boolean("etcdNetworkPolicy", "true")
CLIENT_NAMESPACES = _list_of(
    "etcdClientNamespaces", rules.namespace_name, "is not a namespace name (a DNS-1123 label): left out"
)
CLIENT_POD_SELECTORS = _list_of(
    "etcdClientPodSelectors",
    rules.label_selector,
    "is not a label selector such as app=kafscale-broker,tier=data: left out",
)
MEMORY_HEADROOM = ConfigKey(
    "etcdMemoryHeadroomBytes",
    "512Mi",  # the seed's rule: limit = quota + 512 MiB
    rules.byte_count,
    BYTES_REASON.format(example="536870912 or 512Mi"),
    mirrors_operator_env=False,
)
MONITORING = _boolean("etcdMonitoring", "false")
MONITORING_LABELS: ConfigKey[rules.LabelSelector] = ConfigKey(
    "etcdMonitoringLabels",
    "",
    rules.label_selector,
    "is not a set of labels such as release=prometheus,team=streaming",
    unset=(),
    mirrors_operator_env=False,
)
# Empty means "the default for the storage mode" (DEFAULT_POD_ANTI_AFFINITY_BY_MEMORY).
POD_ANTI_AFFINITY = ConfigKey(
    "etcdPodAntiAffinity",
    "",
    _pod_anti_affinity,
    "is not required or preferred",
    unset="",
    mirrors_operator_env=False,
)
ZONE_SPREAD = _boolean("etcdZoneSpread", "false")
# Change safety: Pulumi's protect on the StatefulSet (lifted by true, for a deliberate replacement),
# and how long pulumi-kubernetes awaits its rollout (empty: the default for the member count).
ALLOW_REPLACEMENT = _boolean("etcdAllowReplacement", "false")
DEPLOY_TIMEOUT_SEC: ConfigKey[int | str] = ConfigKey(
    "etcdDeployTimeoutSec",
    "",
    rules.whole_number(rules.MIN_DEPLOY_TIMEOUT_S, rules.MAX_DEPLOY_TIMEOUT_S),
    f"is not a whole number of seconds from {rules.MIN_DEPLOY_TIMEOUT_S} to {rules.MAX_DEPLOY_TIMEOUT_S:,}",
    unset="",
    mirrors_operator_env=False,
    default_shown="the default for the member count",
)

CONFIG_KEYS: tuple[ConfigKey[object], ...] = (
    CLUSTER_NAME,
    K8S_NAMESPACE,
    ENDPOINTS,
    IMAGE,
    REPLICAS,
    STORAGE_SIZE,
    STORAGE_CLASS,
    STORAGE_MEMORY,
    AUTO_COMPACTION_MODE,
    AUTO_COMPACTION_RETENTION,
    QUOTA_BACKEND_BYTES,
    EXPECTED_WRITE_RATE,
    MAINTENANCE_ENABLED,
    MAINTENANCE_SCHEDULE,
    MAINTENANCE_CHECK_SCHEDULE,
    MAINTENANCE_SIZE_THRESHOLD_PCT,
    DEFRAG_SCHEDULE,
    DEFRAG_ENABLED,
    ETCDCTL_IMAGE,
    SNAPSHOT_BUCKET,
    SNAPSHOT_PREFIX,
    SNAPSHOT_SCHEDULE,
    SNAPSHOT_IMAGE,
    SNAPSHOT_S3_ENDPOINT,
    SNAPSHOT_STALE_AFTER_SEC,
    SNAPSHOT_CREATE_BUCKET,
    SNAPSHOT_PROTECT_BUCKET,
    SNAPSHOT_S3_REGION,
    SNAPSHOT_CREDENTIALS_SECRET,
    SNAPSHOT_KEEP,
    SNAPSHOT_ENABLED,
    START_EMPTY_WHEN_LOST,
    PROBES,
    CORRUPTION_CHECKS,
    CORRUPT_CHECK_INTERVAL,
    RUN_AS_USER,
    READ_ONLY_ROOT_FILESYSTEM,
    NETWORK_POLICY,
    CLIENT_NAMESPACES,
    CLIENT_POD_SELECTORS,
    MONITORING,
    MONITORING_LABELS,
    MEMORY_HEADROOM,
    POD_ANTI_AFFINITY,
    ZONE_SPREAD,
    ALLOW_REPLACEMENT,
    DEPLOY_TIMEOUT_SEC,
)

# The retention default and rule depend on the mode (etcdAutoCompactionRetention's declared
# default is empty, meaning "the default for the mode").
DEFAULT_RETENTION_BY_MODE = {"periodic": "5m", "revision": "1000000"}
RETENTION_RULE_BY_MODE: dict[str, tuple[Callable[[str], str | None], str]] = {
    "periodic": (
        rules.periodic_retention,
        "is not 0 or a duration of at least 1s such as 90s, 5m, 1h30m, or a whole number of hours "
        "(periodic mode)",
    ),
    "revision": (rules.revision_count, "is not a positive revision count (revision mode)"),
}

# The pod anti-affinity's default depends on the storage mode (etcdPodAntiAffinity's declared
# default is empty, meaning "the default for the mode"): memory mode keeps a member's data only as
# long as its pod lives, so two members on one node would lose quorum with that node for good.
DEFAULT_POD_ANTI_AFFINITY_BY_MEMORY: dict[bool, str] = {True: "required", False: "preferred"}
