"""The stack config keys this program reads, one row each: the one source of every key.

A row holds the key's name, its default, its rule (`convert`, and `reason` for what it refuses),
whether it mirrors an operator env var, and its `KeyDoc`: group, summary, documented rule, an
example change, and the types of its settings attribute and component input. `make generate`
(kafscale/offline/codegen.py) writes from these rows the `config:` block of Pulumi.yaml, the component's
inputs (kafscale/edge/component_args.py), the settings attributes (kafscale/config/settings_fields.py),
docs/settings.md and docs/change-safety.md; tests/test_generated.py fails when any of them differs
from what the rows generate. The settings attribute of `etcdQuotaBackendBytes` is
`quota_backend_bytes` (the key in snake_case, without `etcd_`), its component input
`etcd_quota_backend_bytes`.

Adding a key: one row here (and its rule in kafscale/config/rules.py when none fits), `make generate`,
and its use in a builder; parse_settings reads it with its rule unless it needs another key's
value to decide.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

from kafscale.config import rules

NAMESPACE = "kafscale"
OPERATOR_ENV_PREFIX = "KAFSCALE_OPERATOR_"

T = TypeVar("T")
Value = TypeVar("Value", covariant=True)  # a key of a narrower value is a key of a wider one

BOOLEAN_REASON = "is not one of 1/true/yes/on or 0/false/no/off"
CRON_REASON = "is not a cron schedule (five fields, @hourly, @daily, ..., or @every 30m: at least 1m)"
BYTES_REASON = "is not a byte count or binary quantity from 1 byte to 1Ti (such as {example})"
POD_ANTI_AFFINITIES = ("required", "preferred")


# The groups of docs/settings.md, in its order.
GROUP_IDENTITY = "Identity"
GROUP_MEMBERS = "Members"
GROUP_STORAGE = "Storage and resources"
GROUP_COMPACTION = "Compaction and quota"
GROUP_MAINTENANCE = "Maintenance"
GROUP_BACKUPS = "Backups and recovery"
GROUP_SECURITY = "Security"
GROUP_MONITORING = "Monitoring"
GROUP_PLACEMENT = "Placement"
GROUP_PLATFORM = "Platform rules"
GROUP_CHANGES = "Change safety"
GROUPS = (
    GROUP_IDENTITY,
    GROUP_MEMBERS,
    GROUP_STORAGE,
    GROUP_COMPACTION,
    GROUP_MAINTENANCE,
    GROUP_BACKUPS,
    GROUP_SECURITY,
    GROUP_MONITORING,
    GROUP_PLACEMENT,
    GROUP_PLATFORM,
    GROUP_CHANGES,
)


@dataclass(frozen=True)
class KeyDoc:
    """What is generated about a key besides its rule.

    `summary`: one line, Pulumi.yaml's description and the component input's docstring. `rule`:
    docs/settings.md's rule column (Markdown). `default_doc`: its default column when the declared
    default is empty. `example`: one realistic change from the defaults (per storage mode, memory
    first, when the default depends on it), whose effect docs/change-safety.md shows.
    `input_type`: the component input's value type (source text); `takes_outputs`: whether it may
    be another resource's output (`pulumi.Input[...]`), else it must be known when the program
    runs. `settings_type`: the settings attribute's type (source text); None: as `input_type`;
    empty: no attribute (a deprecated alias, read into another key's value).
    """

    group: str
    summary: str
    rule: str
    example: str | Mapping[bool, str]
    default_doc: str = ""
    input_type: str = "str"
    takes_outputs: bool = True
    settings_type: str | None = None

    @property
    def attribute_type(self) -> str:
        return self.input_type if self.settings_type is None else self.settings_type


@dataclass(frozen=True)
class ConfigKey(Generic[Value]):
    """One `kafscale:` key.

    `default` is the text Pulumi.yaml declares (empty: none); `convert` turns a trimmed value into
    what the program uses, or None when the value cannot be used, which `reason` then explains;
    `unset` is the value of an empty default.
    """

    name: str
    default: str
    convert: Callable[[str], Value | None]
    reason: str = ""
    unset: Value | None = None
    mirrors_operator_env: bool = True
    default_shown: str = ""  # how a warning names the default, when not as the value itself
    doc: KeyDoc | None = None

    @property
    def documented(self) -> KeyDoc:
        if self.doc is None:
            raise AssertionError(f"{self.full_name} has no KeyDoc")
        return self.doc

    @functools.cached_property  # a key's names and default are asked for on every parse
    def field(self) -> str:
        """The settings attribute: `etcdQuotaBackendBytes` -> `quota_backend_bytes`."""
        return snake_case(self.name).removeprefix("etcd_")

    @functools.cached_property
    def input_field(self) -> str:
        """The component input: `etcdQuotaBackendBytes` -> `etcd_quota_backend_bytes`."""
        return snake_case(self.name)

    @property
    def full_name(self) -> str:
        return f"{NAMESPACE}:{self.name}"

    @functools.cached_property
    def default_value(self) -> Value:
        """The declared default, parsed by the key's own rule (`unset` when it is empty)."""
        value = self.convert(self.default) if self.default else self.unset
        if value is None and self.default:
            raise AssertionError(f"{self.full_name}: the declared default {self.default!r} breaks its rule")
        return cast(Value, value)

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
    name: str, item_rule: Callable[[str], T | None], reason: str, ours: bool = True, doc: KeyDoc | None = None
) -> ConfigKey[tuple[T, ...]]:
    """A list key (empty by default) whose rule applies to each item; settings.py splits the
    list and says what a refused item means (left out with a warning, or an error)."""

    def convert(item: str) -> tuple[T, ...] | None:
        value = item_rule(item)
        return None if value is None else (value,)

    return ConfigKey(name, "", convert, reason, unset=(), mirrors_operator_env=not ours, doc=doc)


def _boolean(name: str, default: str, ours: bool = True, doc: KeyDoc | None = None) -> ConfigKey[bool]:
    return ConfigKey(
        name, default, rules.boolean_word, BOOLEAN_REASON, mirrors_operator_env=not ours, doc=doc
    )


ISSUER_REASON = "is not a cert-manager issuer (`<name>`, `Issuer/<name>` or `ClusterIssuer/<name>`)"


def _issuer(name: str, doc: KeyDoc) -> ConfigKey[str]:
    """A cert-manager issuer key (etcdPeerTlsIssuer, etcdClientTlsIssuer): empty, no Certificate."""
    return ConfigKey(
        name,
        "",
        rules.issuer_reference,
        ISSUER_REASON,
        unset="",
        mirrors_operator_env=False,
        default_shown="none",
        doc=doc,
    )


def _password_secret(name: str, user: str, suffix: str) -> ConfigKey[str]:
    """With etcdAuth, the Secret a person provides for an etcd user's password; empty: the
    program draws one into `<clusterName>-etcd-<suffix>` (objects/auth.py)."""
    written = f"<clusterName>-etcd-{suffix}"
    return ConfigKey(
        name,
        "",
        rules.secret_name,
        "is not a Secret name (a DNS-1123 subdomain)",
        unset="",
        mirrors_operator_env=False,
        default_shown="none (a generated password)",
        doc=KeyDoc(
            group=GROUP_SECURITY,
            summary=(
                f"With etcdAuth, a Secret you provide whose ETCD_PASSWORD is the {user} user's "
                f"password; empty means the program draws one and writes {written}."
            ),
            rule=(
                "ours: a Secret name (DNS-1123 subdomain) in the namespace, with the key "
                f"`ETCD_PASSWORD`. Empty: a password drawn once per stack into the Secret `{written}`. "
                "A value that is not a Secret name is an error: falling back would set another "
                "password in etcd"
            ),
            default_doc="(empty: generated)",
            example=f"etcd-{user}-password",
            takes_outputs=False,  # it decides which objects exist
        ),
    )


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
    doc=KeyDoc(
        group=GROUP_IDENTITY,
        summary="KafScale cluster name; prefixes every object name (<clusterName>-etcd, ...).",
        rule=(
            "prefixes every object name; lower-case letters, digits and `-`, starting with a letter and "
            "ending with a letter or digit, at most 29 characters (so `<clusterName>-etcd-maintenance-check`"
            " fits a CronJob name). Anything else is an error that names the rules the value breaks."
        ),
        example="orders",
        takes_outputs=False,
    ),
)
K8S_NAMESPACE = ConfigKey(
    "namespace",
    "kafscale",
    rules.namespace_name,
    "is not a valid namespace",
    mirrors_operator_env=False,
    doc=KeyDoc(
        group=GROUP_IDENTITY,
        summary="Kubernetes namespace of every object.",
        rule=(
            "a Kubernetes namespace name (DNS-1123 label: lower-case letters, digits and `-`, at most 63). "
            "Anything else is an error that names the rules the value breaks."
        ),
        example="streaming",
    ),
)
# A list whose every item must be a client URL: a bad one is an error (no default could stand in).
ENDPOINTS = _list_of(
    "etcdEndpoints",
    rules.endpoint_url,
    "is not an etcd client URL (http://host:port or https://host:port)",
    ours=False,
    doc=KeyDoc(
        group=GROUP_IDENTITY,
        summary=(
            "External etcd endpoints (comma-separated string or YAML list); when set, no etcd is provisioned."
        ),
        rule=(
            "comma-separated string or YAML list; trimmed, empties and duplicates dropped, first order kept."
            " Any left: **no etcd is provisioned** and these are the outputs. Each must be an `http://` or "
            "`https://` URL with a host and an optional port; anything else (a list holding anything but "
            "strings, a map, a number) is an error, since reading it as empty would provision a second etcd."
        ),
        default_doc="(empty)",
        example="http://etcd.example:2379",
        input_type="list[str]",
        takes_outputs=False,
        settings_type="tuple[str, ...]",
    ),
)
IMAGE_REASON = "is not an image reference the kubelet can pull (such as registry.example:5000/etcd:3.6.4-0)"
IMAGE = ConfigKey(
    "etcdImage",
    "kubesphere/etcd:3.6.4-0",
    rules.image_reference,
    IMAGE_REASON,
    doc=KeyDoc(
        group=GROUP_MEMBERS,
        summary="etcd container image.",
        rule=(
            "an image reference the kubelet can pull (`[registry[:port]/]path[:tag][@digest]`, lower-case "
            "path); anything else falls back with a warning"
        ),
        example="kubesphere/etcd:3.6.5-0",
    ),
)
REPLICAS = ConfigKey(
    "etcdReplicas",
    "3",
    rules.whole_number(1, rules.MAX_REPLICAS),
    f"is not a whole number of members from 1 to {rules.MAX_REPLICAS} (etcd recommends at most seven)",
    doc=KeyDoc(
        group=GROUP_MEMBERS,
        summary="Number of etcd members (odd counts recommended).",
        rule=(
            "whole number from 1 to 7 (etcd's FAQ recommends no more than seven members: each one is another"
            " copy of every write); an even count is honoured with a warning (it tolerates no more failures "
            "than one member fewer); a larger number, however many digits, is an error (falling back would "
            "remove members from a live cluster); leading zeros change nothing; anything else falls back "
            "with a warning"
        ),
        example="5",
        input_type="int",
        takes_outputs=False,
    ),
)
STORAGE_SIZE = ConfigKey(
    "etcdStorageSize",
    "10Gi",
    rules.storage_quantity,
    "is not a Kubernetes quantity of whole bytes (such as 20Gi or 500M)",
    doc=KeyDoc(
        group=GROUP_STORAGE,
        summary="Disk mode PersistentVolumeClaim size (a Kubernetes quantity).",
        rule=(
            "a Kubernetes quantity of whole bytes, at least one (`20Gi`, `500M`; not `500m`, half a byte); "
            "disk mode only"
        ),
        example="20Gi",
    ),
)
STORAGE_CLASS: ConfigKey[str | None] = ConfigKey(
    "etcdStorageClass",
    "",
    rules.storage_class_name,
    "is not a StorageClass name (a DNS-1123 subdomain: lower-case letters, digits, '-' and '.')",
    default_shown="no storage class (the cluster default)",
    doc=KeyDoc(
        group=GROUP_STORAGE,
        summary="Disk mode StorageClass; empty uses the cluster default.",
        rule=(
            "a StorageClass name (DNS-1123 subdomain); empty uses the cluster's default class; anything else"
            " falls back to it with a warning"
        ),
        default_doc="(empty)",
        example="fast-ssd",
        settings_type="str | None",
    ),
)
STORAGE_MEMORY = _boolean(
    "etcdStorageMemory",
    "false",
    ours=False,
    doc=KeyDoc(
        group=GROUP_STORAGE,
        summary="Keep the data dir in memory (tmpfs); true for 1/true/yes/on.",
        rule=(
            "true for `1`, `true`, `yes`, `on`; false for `0`, `false`, `no`, `off` (any case); anything "
            "else is false with a warning"
        ),
        example={True: "false", False: "true"},
        input_type="bool",
        takes_outputs=False,
    ),
)
AUTO_COMPACTION_MODE = ConfigKey(
    "etcdAutoCompactionMode",
    "periodic",
    rules.compaction_mode,
    "is not periodic or revision",
    doc=KeyDoc(
        group=GROUP_COMPACTION,
        summary="etcd auto-compaction mode, periodic or revision.",
        rule="`periodic` or `revision`, any case",
        example="revision",
    ),
)
# Empty means "the default for the mode" (DEFAULT_RETENTION_BY_MODE); the rule depends on the mode.
AUTO_COMPACTION_RETENTION = ConfigKey(
    "etcdAutoCompactionRetention",
    "",
    str,
    unset="",
    doc=KeyDoc(
        group=GROUP_COMPACTION,
        summary="Compaction retention; empty means 5m (periodic) or 1000000 (revision).",
        rule=(
            "periodic: a Go duration (`90s`, `5m`, `1h30m`) or a whole number of hours, at least `1s` (etcd "
            "3.4 and 3.5 panic at start below 10ns and compact thousands of times a second below a "
            "millisecond); `0` is honoured with a warning (it disables compaction). Revision: a positive "
            "whole number of revisions."
        ),
        default_doc="(empty: `5m` periodic, `1000000` revision)",
        example="1h",
    ),
)
QUOTA_BACKEND_BYTES = ConfigKey(
    "etcdQuotaBackendBytes",
    "4294967296",
    rules.byte_count,
    BYTES_REASON.format(example="4294967296 or 4Gi"),
    doc=KeyDoc(
        group=GROUP_COMPACTION,
        summary="etcd backend quota in bytes or a binary quantity such as 4Gi.",
        rule=(
            "whole bytes or a binary quantity (`4Gi`, `4096Mi`) from 1 byte to `1Ti` (no node holds more, "
            "and the maintenance script's 64-bit arithmetic stays exact; a larger one, however many digits, "
            "is an error, since falling back would shrink a live member's quota); decimal units (`4G`) are "
            "refused. Above 8 GiB (etcd's suggested maximum) it is honoured with a warning."
        ),
        example="8Gi",
        settings_type="int",
    ),
)
EXPECTED_WRITE_RATE: ConfigKey[float | None] = ConfigKey(
    "etcdExpectedWriteRate",
    "",
    rules.write_rate,
    f"is not a number of writes per second above 0 and up to {rules.MAX_WRITE_RATE:,.0f}",
    mirrors_operator_env=False,
    doc=KeyDoc(
        group=GROUP_COMPACTION,
        summary=(
            "Optional expected etcd writes/s; preview warns when the quota is below the sizing "
            "recommendation."
        ),
        rule=(
            "optional, ours: the etcd writes/s you expect (about one per produce). When set, preview warns "
            "if the quota is below what `python -m kafscale sizing` recommends for it, and in memory mode it"
            " sizes the live data a defrag copies. Not a number above 0 and up to 1,000,000 (far beyond what"
            " any etcd acknowledges): ignored with a warning."
        ),
        default_doc="(empty)",
        example="1000",
        input_type="float",
        settings_type="float | None",
    ),
)
MAINTENANCE_ENABLED = _boolean(
    "etcdMaintenanceEnabled",
    "true",
    ours=False,
    doc=KeyDoc(
        group=GROUP_MAINTENANCE,
        summary="Render the maintenance CronJobs; false for 0/false/no/off.",
        rule=(
            "false for `0`, `false`, `no`, `off` (any case), true for `1`, `true`, `yes`, `on`; anything "
            "else is true with a warning. False renders no maintenance CronJobs."
        ),
        example="false",
        input_type="bool",
        takes_outputs=False,
    ),
)
MAINTENANCE_SCHEDULE = ConfigKey(
    "etcdMaintenanceSchedule",
    "0 */6 * * *",
    rules.cron_schedule,
    CRON_REASON,
    doc=KeyDoc(
        group=GROUP_MAINTENANCE,
        summary="Cron schedule of the defrag + NOSPACE-disarm CronJob.",
        rule=(
            "a cron schedule Kubernetes accepts: five fields (names such as `MON` allowed), `@hourly`, "
            "`@daily`, `@weekly`, `@monthly`, `@yearly`, `@annually`, `@midnight`, or `@every` and a Go "
            "duration of at least `1m` (`@every 6h`; robfig/cron's parser, which Kubernetes validates "
            "with); anything else falls back with a warning"
        ),
        example="0 3 * * *",
    ),
)
MAINTENANCE_CHECK_SCHEDULE = ConfigKey(
    "etcdMaintenanceCheckSchedule",
    "*/15 * * * *",
    rules.cron_schedule,
    CRON_REASON,
    doc=KeyDoc(
        group=GROUP_MAINTENANCE,
        summary="Cron schedule of the check-only CronJob (acts only over the threshold or on NOSPACE).",
        rule="a cron schedule, as above",
        example="*/5 * * * *",
    ),
)
MAINTENANCE_SIZE_THRESHOLD_PCT = ConfigKey(
    "etcdMaintenanceSizeThresholdPct",
    "75",
    rules.whole_number(1, 100),
    "is not a whole percentage from 1 to 100",
    doc=KeyDoc(
        group=GROUP_MAINTENANCE,
        summary="Check-only mode acts when a member's dbSize reaches this percentage of the quota (1-100).",
        rule=(
            "whole number from 1 to 100: check-only runs act when a member's dbSize reaches this share of "
            "the quota"
        ),
        example="60",
        input_type="int",
    ),
)
MAINTENANCE_FRAGMENTATION_PCT = ConfigKey(
    "etcdMaintenanceFragmentationPct",
    "45",
    rules.whole_number(1, 100),
    "is not a whole percentage from 1 to 100",
    mirrors_operator_env=False,
    doc=KeyDoc(
        group=GROUP_MAINTENANCE,
        summary=(
            "Check-only mode also defragments a member whose free share of its file, (dbSize - "
            "dbSizeInUse) / dbSize, reaches this percentage (1-100)."
        ),
        rule=(
            "ours: whole number from 1 to 100 (OpenShift's etcd operator defragments at 45%); check-only "
            "runs defragment a member at least this fragmented whose dbSize is at least "
            "`etcdMaintenanceMinDefragBytes`. Anything else falls back to 45 with a warning"
        ),
        example="30",
        input_type="int",
    ),
)
MAINTENANCE_MOVE_LEADER = _boolean(
    "etcdMaintenanceMoveLeader",
    "false",
    doc=KeyDoc(
        group=GROUP_MAINTENANCE,
        summary=(
            "Move leadership to a follower already defragmented before the leader's defrag (etcdctl "
            "move-leader); off defragments the leader as the leader."
        ),
        rule=(
            "ours: boolean words (anything else is false with a warning). etcd drops the proposals that "
            "arrive during the transfer ('raft proposal dropped', measured on 3.4.23 under load), and a "
            "client that does not retry sees them fail; measured on 3.4.23 and 3.5.1, the leader's defrag "
            "held up no more writes than a follower's, so the move bought no lower p99. See "
            "[Maintenance](maintenance.md#moving-leadership-before-the-leaders-defrag)"
        ),
        example="true",
        input_type="bool",
    ),
)
MAINTENANCE_MIN_DEFRAG_BYTES = ConfigKey(
    "etcdMaintenanceMinDefragBytes",
    "100Mi",
    rules.byte_count,
    BYTES_REASON.format(example="104857600 or 100Mi"),
    mirrors_operator_env=False,
    doc=KeyDoc(
        group=GROUP_MAINTENANCE,
        summary="Check-only mode defragments a fragmented member only when its dbSize is at least this.",
        rule=(
            "ours: whole bytes or a binary quantity from 1 byte to `1Ti` (OpenShift's etcd operator: 100 "
            "MB); below it a member's free pages are left alone, however fragmented. Anything else falls "
            "back to `100Mi` with a warning"
        ),
        example="1Gi",
        settings_type="int",
    ),
)
# Deprecated: an alias of the maintenance schedule, and a false word that also disables maintenance.
DEFRAG_SCHEDULE: ConfigKey[str | None] = ConfigKey(
    "etcdDefragSchedule",
    "",
    rules.cron_schedule,
    CRON_REASON,
    doc=KeyDoc(
        group=GROUP_MAINTENANCE,
        summary="Deprecated alias of etcdMaintenanceSchedule, used when that is empty.",
        rule=(
            "deprecated: used as the maintenance schedule when `etcdMaintenanceSchedule` is unset or at its "
            "default (Pulumi.yaml declares that default, so the two look alike), ignored otherwise; a "
            "warning either way"
        ),
        default_doc="(empty)",
        example="0 3 * * *",
        settings_type="",
    ),
)
DEFRAG_ENABLED: ConfigKey[bool | None] = ConfigKey(
    "etcdDefragEnabled",
    "",
    rules.boolean_word,
    BOOLEAN_REASON,
    doc=KeyDoc(
        group=GROUP_MAINTENANCE,
        summary="Deprecated; a false value also disables maintenance.",
        rule="deprecated: a false word also disables maintenance; a warning whenever set",
        default_doc="(empty)",
        example="false",
        input_type="bool",
        takes_outputs=False,
        settings_type="",
    ),
)
ETCDCTL_IMAGE = ConfigKey(
    "etcdSnapshotEtcdctlImage",
    "ghcr.io/kafscale/kafscale-etcd-tools:dev",
    rules.image_reference,
    IMAGE_REASON,
    doc=KeyDoc(
        group=GROUP_MAINTENANCE,
        summary=(
            "Image with etcdctl, BusyBox sh, wget and nc (etcdutl from etcd 3.5) that runs membership, "
            "restore, the scale-down Job, maintenance and the snapshot's save step."
        ),
        rule=(
            "an image reference, as for `etcdImage`: the tools image (etcdctl, BusyBox `sh`, `wget` and "
            "`nc`; etcdutl from etcd 3.5 on) that runs every script but the upload: membership (join, "
            "restore, promote), the scale-down Job, maintenance and the snapshot's save step"
        ),
        example="registry.example/kafscale-etcd-tools:1.1",
    ),
)
# Snapshots to S3 (the operator's snapshot CronJob), then our own keys for them.
SNAPSHOT_BUCKET_REASON = (
    "is not a bucket name S3 accepts (3 to 63 lower-case letters, digits, '.' and '-', starting "
    "and ending with a letter or digit, not an IP address)"
)
# Empty means "derived from the namespace and cluster name" (rules.default_snapshot_bucket).
SNAPSHOT_BUCKET = ConfigKey(
    "etcdSnapshotBucket",
    "",
    rules.s3_bucket_name,
    SNAPSHOT_BUCKET_REASON,
    unset="",
    doc=KeyDoc(
        group=GROUP_BACKUPS,
        summary="S3 bucket for etcd snapshots; empty means kafscale-etcd-<namespace>-<clusterName>.",
        rule=(
            "the S3 bucket of the snapshots (see [Backups](backup-restore.md)). Empty: the operator's name, "
            "lower-cased, every run of other characters one `-`, `-` trimmed. A name S3 refuses (3 to 63 "
            "lower-case letters, digits, `.` and `-`, starting and ending with a letter or digit, not an IP "
            "address, none of S3's reserved prefixes and suffixes) falls back to that default with a "
            "warning; a derived default S3 would refuse (a long namespace and cluster name) is used with a "
            "warning that uploads fail until this key names a bucket"
        ),
        default_doc="(empty: `kafscale-etcd-<namespace>-<clusterName>`)",
        example="kafscale-backups",
    ),
)
SNAPSHOT_PREFIX = ConfigKey(
    "etcdSnapshotPrefix",
    "etcd-snapshots",
    rules.s3_prefix,
    "is not a key prefix (printable ASCII without spaces, no empty, '.' or '..' segment, up to "
    f"{rules.S3_PREFIX_MAX_LENGTH} characters once its slashes are trimmed)",
    doc=KeyDoc(
        group=GROUP_BACKUPS,
        summary="Key prefix of the snapshots in the bucket (slashes trimmed).",
        rule=(
            "the key prefix, slashes trimmed: printable ASCII without spaces, no empty, `.` or `..` segment,"
            " at most 512 characters; anything else falls back with a warning. It reaches every container "
            "exactly as written: a `$` is escaped from the kubelet's `$(VAR)` expansion, as in the bucket, "
            "endpoint and region"
        ),
        example="prod",
    ),
)
SNAPSHOT_SCHEDULE = ConfigKey(
    "etcdSnapshotSchedule",
    "0 * * * *",
    rules.cron_schedule,
    CRON_REASON,
    doc=KeyDoc(
        group=GROUP_BACKUPS,
        summary="Cron schedule of the snapshot CronJob.",
        rule="a cron schedule, as for `etcdMaintenanceSchedule`",
        example="*/30 * * * *",
    ),
)
SNAPSHOT_IMAGE = ConfigKey(
    "etcdSnapshotImage",
    "amazon/aws-cli:2.15.0",
    rules.image_reference,
    IMAGE_REASON,
    doc=KeyDoc(
        group=GROUP_BACKUPS,
        summary="Image with the AWS CLI that uploads the snapshots.",
        rule=(
            "an image reference, as for `etcdImage`: the image (the AWS CLI, v1 or v2, and a POSIX `sh`) "
            "that uploads the snapshots"
        ),
        example="amazon/aws-cli:2.17.0",
    ),
)
SNAPSHOT_S3_ENDPOINT = ConfigKey(
    "etcdSnapshotS3Endpoint",
    "",
    rules.s3_endpoint_url,
    "is not an S3 endpoint URL the AWS CLI takes (http://host:port or https://host:port, the host an "
    "IP address or labels of letters, digits and '-')",
    unset="",
    default_shown="none (AWS S3)",
    doc=KeyDoc(
        group=GROUP_BACKUPS,
        summary="S3 endpoint URL (http or https) for an S3-compatible store; empty means AWS S3.",
        rule=(
            "an S3-compatible endpoint, `http://` or `https://` with a host and an optional port (no path); "
            "the host an IP address or DNS labels of letters, digits and `-` (1 to 63 each), as the AWS CLI "
            "requires (no `_`, no empty label, no `%`); passed as `AWS_ENDPOINT_URL` and `--endpoint-url`. "
            "Anything else falls back to AWS S3 with a warning"
        ),
        default_doc="(empty: AWS S3)",
        example="https://minio.example:9000",
    ),
)
SNAPSHOT_STALE_AFTER_SEC = ConfigKey(
    "etcdSnapshotStaleAfterSec",
    "7200",
    rules.whole_number(1, rules.INT32_MAX),
    "is not a positive whole number of seconds",
    doc=KeyDoc(
        group=GROUP_BACKUPS,
        summary="Seconds after which the last snapshot counts as stale.",
        rule=(
            "whole number of seconds from 1 to 2147483647 after which the last snapshot is stale "
            "(`KafscaleEtcdSnapshotStale`); anything else falls back with a warning"
        ),
        example="3600",
        input_type="int",
    ),
)
SNAPSHOT_CREATE_BUCKET = _boolean(
    "etcdSnapshotCreateBucket",
    "false",
    ours=False,
    doc=KeyDoc(
        group=GROUP_BACKUPS,
        summary="Create the bucket when it is missing.",
        rule=(
            "boolean words, as for `etcdStorageMemory`: true creates the bucket when it is missing (with a "
            "`LocationConstraint` outside `us-east-1`)"
        ),
        example="true",
        input_type="bool",
    ),
)
SNAPSHOT_PROTECT_BUCKET = _boolean(
    "etcdSnapshotProtectBucket",
    "false",
    ours=False,
    doc=KeyDoc(
        group=GROUP_BACKUPS,
        summary=(
            "Enable versioning and the public access block on the bucket (tolerated where the endpoint lacks"
            " them)."
        ),
        rule=(
            "boolean words: true turns on versioning and the public access block on every run; an endpoint "
            "without them is logged and tolerated"
        ),
        example="true",
        input_type="bool",
    ),
)
SNAPSHOT_S3_REGION = ConfigKey(
    "etcdSnapshotS3Region",
    "",
    rules.s3_region,
    "is not a region name (lower-case letters, digits and '-', such as eu-west-1)",
    unset="",
    mirrors_operator_env=False,
    default_shown="none (the AWS CLI's default, us-east-1)",
    doc=KeyDoc(
        group=GROUP_BACKUPS,
        summary="S3 region (AWS_REGION); empty leaves the AWS CLI's default, us-east-1.",
        rule=(
            "ours: the bucket's region (`AWS_REGION` and `AWS_DEFAULT_REGION`), lower-case letters, digits "
            "and `-`, at most 63, not digits alone (the AWS CLI refuses those); anything else falls back to "
            "empty with a warning"
        ),
        default_doc="(empty: the AWS CLI's default, `us-east-1`)",
        example="eu-west-1",
    ),
)
SNAPSHOT_CREDENTIALS_SECRET = ConfigKey(
    "etcdSnapshotCredentialsSecret",
    "",
    rules.secret_name,
    "is not a Secret name (a DNS-1123 subdomain: lower-case letters, digits, '-' and '.')",
    unset="",
    mirrors_operator_env=False,
    default_shown="none (the pod's own AWS credentials)",
    doc=KeyDoc(
        group=GROUP_BACKUPS,
        summary=(
            "Secret whose optional keys KAFSCALE_S3_ACCESS_KEY, KAFSCALE_S3_SECRET_KEY, "
            "KAFSCALE_S3_SESSION_TOKEN become the AWS credentials; empty means none."
        ),
        rule=(
            "ours: a Secret name (DNS-1123 subdomain) in the namespace whose optional keys "
            "`KAFSCALE_S3_ACCESS_KEY`, `KAFSCALE_S3_SECRET_KEY`, `KAFSCALE_S3_SESSION_TOKEN` become "
            "`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`; anything else falls back to "
            "none with a warning"
        ),
        default_doc="(empty: no credentials env, the pod's own AWS identity)",
        example="etcd-s3",
    ),
)
SNAPSHOT_KEEP = ConfigKey(
    "etcdSnapshotKeep",
    "0",
    rules.whole_number(0, rules.MAX_SNAPSHOTS_KEPT),
    f"is not a whole number of snapshots from 0 (keep all) to {rules.MAX_SNAPSHOTS_KEPT:,}",
    mirrors_operator_env=False,
    doc=KeyDoc(
        group=GROUP_BACKUPS,
        summary="Keep only the newest N snapshots (pruned after each upload); 0 keeps all.",
        rule=(
            "ours: whole number from 0 to 100,000: above 0, each successful upload deletes all but the "
            "newest N snapshots (each `.db` with its `.sha256`); 0 keeps every one, as the operator does. "
            "Anything else falls back with a warning"
        ),
        example="48",
        input_type="int",
    ),
)
SNAPSHOT_ENABLED = _boolean(
    "etcdSnapshotEnabled",
    "true",
    doc=KeyDoc(
        group=GROUP_BACKUPS,
        summary="False renders no snapshot CronJob and no restore init containers.",
        rule=(
            "ours: boolean words (anything else is true with a warning). False renders no snapshot CronJob "
            "and no restore init containers: a lost cluster then waits (see [Backups](backup-restore.md))"
        ),
        example="false",
        input_type="bool",
        takes_outputs=False,
    ),
)
# A cluster that bootstrapped, lost every member and has no snapshot to restore waits; true lets it
# start again empty (KafScale's offsets gone) rather than wait for a backup or a person.
START_EMPTY_WHEN_LOST = _boolean(
    "etcdStartEmptyWhenLost",
    "false",
    doc=KeyDoc(
        group=GROUP_BACKUPS,
        summary=(
            "True lets a cluster that lost every member start again EMPTY (every offset gone) when no "
            "snapshot can be restored; false (the default) makes it wait for a backup or a person."
        ),
        rule=(
            "ours: boolean words (anything else is false with a warning). True lets a cluster that "
            "bootstrapped and then lost every member start again **empty** (every offset gone) when no "
            "snapshot can be restored (none in the bucket, none whose checksum matches, the bucket "
            "unreachable, or backups off); false makes it wait, logging why"
        ),
        example="true",
        input_type="bool",
    ),
)
PROBES = _boolean(
    "etcdProbes",
    "true",
    doc=KeyDoc(
        group=GROUP_MEMBERS,
        summary=(
            "Startup, liveness and readiness probes that ignore NOSPACE (and podManagementPolicy Parallel); "
            "off for etcd before 3.4.19 / 3.5.2."
        ),
        rule=(
            "ours: boolean words as for `etcdStorageMemory`, anything else is true with a warning. True "
            "renders startup, liveness and readiness probes that a NOSPACE alarm cannot fail, and "
            "`podManagementPolicy: Parallel` (see [Probes](architecture.md#probes)). For an image whose tag "
            "names etcd before 3.4.19, or 3.5.0 to 3.5.1, it is false with a warning."
        ),
        example="false",
        input_type="bool",
    ),
)
# etcd's initial and periodic corruption checks (kafscale/config/corruption_checks.py).
CORRUPTION_CHECKS = _boolean(
    "etcdCorruptionChecks",
    "true",
    doc=KeyDoc(
        group=GROUP_MEMBERS,
        summary=(
            "True turns on etcd's initial and periodic corruption checks, with the flag names the image's "
            "etcd version reads; false renders none."
        ),
        rule=(
            "ours: boolean words (anything else is true with a warning). True adds etcd's initial corruption"
            " check (a member whose data differs from its peers' refuses to start) and the leader's periodic"
            " check every `etcdCorruptCheckInterval` (a divergence raises the CORRUPT alarm), in the "
            "config-file keys the image tag's etcd version reads: `experimental-initial-corrupt-check` and "
            "`experimental-corrupt-check-time` up to 3.5 and for an unversioned tag, the "
            "`InitialCorruptCheck` feature gate and `corrupt-check-time` from 3.6 on. False renders none"
        ),
        example="false",
        input_type="bool",
    ),
)
CORRUPT_CHECK_INTERVAL = ConfigKey(
    "etcdCorruptCheckInterval",
    "15m",
    rules.corrupt_check_interval,
    "is not a whole number of seconds from 10s to 24h as a Go duration (such as 15m or 1h)",
    mirrors_operator_env=False,
    default_shown="15m",
    doc=KeyDoc(
        group=GROUP_MEMBERS,
        summary=(
            "How often the leader compares every member's hash (etcd's periodic corruption check), a Go "
            "duration of whole seconds from 10s to 24h; a divergence raises the CORRUPT alarm within it."
        ),
        rule=(
            "ours: a Go duration of whole seconds from `10s` to `24h`: how often the leader compares every "
            "member's hash. Each check scans every member's backend at the leader's revision (small for "
            "KafScale's compacted offsets); a diverged member is found within one interval. Anything else "
            "falls back with a warning"
        ),
        example="1h",
        settings_type="int",
    ),
)
RUN_AS_USER = ConfigKey(
    "etcdRunAsUser",
    "65532",
    rules.whole_number(1, rules.INT32_MAX),
    "is not a non-root user ID (a whole number from 1 to 2147483647)",
    mirrors_operator_env=False,
    doc=KeyDoc(
        group=GROUP_SECURITY,
        summary="Non-root user, group and fsGroup of every pod (etcd and maintenance jobs).",
        rule=(
            "ours: whole number from 1 to 2147483647: the user, group and `fsGroup` of every pod we render; "
            "`0` (root) and anything else fall back with a warning"
        ),
        example="1001",
        input_type="int",
    ),
)
READ_ONLY_ROOT_FILESYSTEM = _boolean(
    "etcdReadOnlyRootFilesystem",
    "true",
    doc=KeyDoc(
        group=GROUP_SECURITY,
        summary=(
            "Read-only root filesystem for every container; off only for an image that must write outside "
            "its volumes."
        ),
        rule=(
            "ours: boolean words; false only for an image that must write outside its volumes (anything else"
            " is true with a warning)"
        ),
        example="false",
        input_type="bool",
    ),
)
NETWORK_POLICY = _boolean(
    "etcdNetworkPolicy",
    "true",
    doc=KeyDoc(
        group=GROUP_SECURITY,
        summary=(
            "A NetworkPolicy that admits the peer port only from etcd pods and the client port only from "
            "this namespace and the listed clients."
        ),
        rule=(
            "ours: boolean words (anything else is true with a warning). True renders the NetworkPolicy "
            "`<clusterName>-etcd` (see [Security](security.md)); false renders none"
        ),
        example="false",
        input_type="bool",
        takes_outputs=False,
    ),
)
PEER_TLS_REASON_SECRET = "is not a Secret name (a DNS-1123 subdomain)"
PEER_TLS_SECRET = ConfigKey(
    "etcdPeerTlsSecret",
    "",
    rules.secret_name,
    PEER_TLS_REASON_SECRET,
    unset="",
    mirrors_operator_env=False,
    default_shown="none (peers speak plain HTTP)",
    doc=KeyDoc(
        group=GROUP_SECURITY,
        summary=(
            "Secret (tls.crt, tls.key, ca.crt) with which members speak mutual TLS to each other; "
            "empty means plain HTTP between peers unless etcdPeerTlsIssuer is set."
        ),
        rule=(
            "ours: a Secret name (DNS-1123 subdomain) in the namespace, with `tls.crt` and `tls.key` "
            "(a certificate for `*.<clusterName>-etcd.<namespace>.svc.cluster.local`, usable for server "
            "and client auth) and `ca.crt` (the CA that signs every member's). With "
            "`etcdPeerTlsIssuer` set it is the Secret cert-manager writes (default "
            "`<clusterName>-etcd-peer-tls`). A value that is not a Secret name is an error: falling back "
            "would turn peer TLS off. A running cluster turns peer TLS on or off through "
            "`etcdPeerUrlScheme=http`; straight on or off is refused by preview "
            "([Security](security.md#turning-peer-tls-on-or-off-for-a-running-cluster))"
        ),
        default_doc="(empty: plain HTTP between peers)",
        example="kafscale-etcd-peer-tls",
        takes_outputs=False,  # it decides the peer URLs and which objects exist
    ),
)
PEER_TLS_ISSUER = _issuer(
    "etcdPeerTlsIssuer",
    KeyDoc(
        group=GROUP_SECURITY,
        summary=(
            "cert-manager issuer (name, Issuer/name or ClusterIssuer/name) of the members' peer "
            "certificate; set, the program creates the Certificate and peers speak mutual TLS."
        ),
        rule=(
            "ours: `<name>` (an Issuer in the namespace), `Issuer/<name>` or `ClusterIssuer/<name>`. The "
            "program renders a cert-manager `Certificate` `<clusterName>-etcd-peer` for every member's "
            "DNS name, server and client auth, into the Secret `etcdPeerTlsSecret` names. Anything else "
            "is an error: falling back would turn peer TLS off"
        ),
        default_doc="(empty: no Certificate)",
        example="ClusterIssuer/cluster-ca",
        takes_outputs=False,  # it decides which objects exist
    ),
)
PEER_URL_SCHEME = ConfigKey(
    "etcdPeerUrlScheme",
    "auto",
    rules.peer_url_scheme,
    "is not `auto` or `http`",
    mirrors_operator_env=False,
    doc=KeyDoc(
        group=GROUP_SECURITY,
        summary=(
            "Peer URL scheme: auto is https when members have a peer certificate, else http; http keeps "
            "plain peer URLs while members carry the certificate, the step between, either way."
        ),
        rule=(
            "ours: `auto` or `http`. With a peer certificate (`etcdPeerTlsSecret` or `etcdPeerTlsIssuer`), "
            "`http` gives every member the certificate (so it can dial https peers) while it listens and "
            "advertises plain HTTP: the step a running cluster takes between plain and mutual TLS, either "
            "way. Then each member, as the rolling update restarts it, changes its own peer URL with "
            "`member update`, to https once every member still at http answers that it holds the "
            "certificate. Preview refuses a scheme change unless the members hold a certificate before "
            "and after it. Anything else is an error: a fallback could switch the scheme of a running "
            "cluster "
            "([Security](security.md#turning-peer-tls-on-or-off-for-a-running-cluster))"
        ),
        example="http",
        takes_outputs=False,  # it decides the peer URLs
    ),
)
CLIENT_TLS_SECRET = ConfigKey(
    "etcdClientTlsSecret",
    "",
    rules.secret_name,
    PEER_TLS_REASON_SECRET,
    unset="",
    mirrors_operator_env=False,
    default_shown="none (clients get plain HTTP only)",
    doc=KeyDoc(
        group=GROUP_SECURITY,
        summary=(
            "Secret (tls.crt, tls.key, ca.crt) with which members also serve clients over TLS on port "
            "2378, beside plain HTTP on 2379; empty means no TLS listener unless etcdClientTlsIssuer is set."
        ),
        rule=(
            "ours: a Secret name (DNS-1123 subdomain) in the namespace, with `tls.crt` and `tls.key` (a "
            "server certificate for `<clusterName>-etcd-client.<namespace>.svc.cluster.local` and every "
            "member's name) and `ca.crt` (its CA, for clients to verify it). With `etcdClientTlsIssuer` set "
            "it is the Secret cert-manager writes (default `<clusterName>-etcd-client-tls`). Port 2379 stays "
            "plain HTTP for the clients that use it. A value that is not a Secret name is an error "
            "([Security](security.md#client-tls))"
        ),
        default_doc="(empty: no TLS listener)",
        example="kafscale-etcd-client-tls",
        takes_outputs=False,  # it decides the listeners and which objects exist
    ),
)
CLIENT_TLS_ISSUER = _issuer(
    "etcdClientTlsIssuer",
    KeyDoc(
        group=GROUP_SECURITY,
        summary=(
            "cert-manager issuer (name, Issuer/name or ClusterIssuer/name) of the members' client TLS "
            "certificate; set, the program creates the Certificate and members serve TLS on port 2378."
        ),
        rule=(
            "ours: `<name>` (an Issuer in the namespace), `Issuer/<name>` or `ClusterIssuer/<name>`. The "
            "program renders a cert-manager `Certificate` `<clusterName>-etcd-client` for the client "
            "Service's and every member's DNS names, server auth, into the Secret `etcdClientTlsSecret` "
            "names. Anything else is an error"
        ),
        default_doc="(empty: no Certificate)",
        example="ClusterIssuer/cluster-ca",
        takes_outputs=False,  # it decides which objects exist
    ),
)
AUTH = ConfigKey(
    "etcdAuth",
    "off",
    rules.auth_mode,
    "is not `off`, `on` or `disabling`",
    mirrors_operator_env=False,
    doc=KeyDoc(
        group=GROUP_SECURITY,
        summary=(
            "etcd's client authentication: on gives root to the program's own steps and a kafscale user "
            "read-write on /kafscale/ only; disabling is the way back to off."
        ),
        rule=(
            "ours: `off`, `on` or `disabling` (or a boolean word). `on` creates the users and roles, "
            "then enables auth (a Job after the members are ready), and writes a Secret "
            "`<clusterName>-etcd-kafscale` with `ETCD_USERNAME` and `ETCD_PASSWORD` for KafScale's clients. "
            "From `on`, set `disabling` (the Job disables auth) before `off`: `on` to `off` directly is "
            "refused by preview. Anything else is an error: falling back would turn auth off "
            "([Security](security.md#client-authentication))"
        ),
        example="on",
        takes_outputs=False,  # it decides which objects exist
    ),
)
AUTH_CONSOLE_USER = _boolean(
    "etcdAuthConsoleUser",
    "false",
    doc=KeyDoc(
        group=GROUP_SECURITY,
        summary="With etcdAuth, a read-only user for KafScale's console (Secret <clusterName>-etcd-console).",
        rule=(
            "ours: boolean words (anything else is false with a warning). True with `etcdAuth` on adds the "
            "user `kafscale-console`, which reads `/kafscale/` and writes nothing, and its Secret "
            "`<clusterName>-etcd-console`"
        ),
        example="true",
        input_type="bool",
        takes_outputs=False,
    ),
)
AUTH_ROOT_SECRET = _password_secret("etcdAuthRootSecret", "root", "root")
AUTH_KAFSCALE_SECRET = _password_secret("etcdAuthKafscaleSecret", "kafscale", "kafscale")
AUTH_CONSOLE_SECRET = _password_secret("etcdAuthConsoleSecret", "kafscale-console", "console")
CLIENT_NAMESPACES = _list_of(
    "etcdClientNamespaces",
    rules.namespace_name,
    "is not a namespace name (a DNS-1123 label): left out",
    doc=KeyDoc(
        group=GROUP_SECURITY,
        summary=(
            "Other namespaces whose pods may reach the client port (comma-separated string or YAML list)."
        ),
        rule=(
            "ours: comma-separated string or YAML list of namespaces whose pods may reach the client port "
            "2379, besides etcd's own namespace; a name Kubernetes would refuse is left out with a warning"
        ),
        default_doc="(empty)",
        example="monitoring",
        input_type="list[str]",
        settings_type="tuple[str, ...]",
    ),
)
CLIENT_POD_SELECTORS = _list_of(
    "etcdClientPodSelectors",
    rules.label_selector,
    "is not a label selector such as app=kafscale-broker,tier=data: left out",
    doc=KeyDoc(
        group=GROUP_SECURITY,
        summary=(
            "Label selectors (key=value[,key=value]) of pods in any namespace that may reach the client port"
            " (';'-separated string or YAML list)."
        ),
        rule=(
            "ours: `;`-separated string or YAML list of label selectors, each `key=value[,key=value...]`: "
            "pods matching one, in any namespace, may reach the client port; an invalid selector is left out"
            " with a warning"
        ),
        default_doc="(empty)",
        example="app=kafscale-broker",
        input_type="list[str]",
        settings_type="tuple[LabelSelector, ...]",
    ),
)
# The etcd container's requests: docs/capacity.md, "Requests", measured with bench/etcd_resources.py.
CPU_REQUEST = ConfigKey(
    "etcdCpuRequest",
    "500m",
    rules.cpu_quantity,
    f"is not a CPU quantity from 1m to {rules.MAX_CPU_CORES} cores (such as 250m or 1)",
    mirrors_operator_env=False,
    doc=KeyDoc(
        group=GROUP_STORAGE,
        summary="CPU request of each etcd container, both modes (a CPU quantity such as 250m).",
        rule=(
            "ours: a CPU quantity in whole millicores from `1m` to 256 cores; anything else falls back "
            "with a warning. The default covers a leader under KafScale's offset writes with room "
            '(docs/capacity.md, "Requests"): etcd starved of CPU misses heartbeats and changes leaders'
        ),
        example="1",
    ),
)
MEMORY_REQUEST = ConfigKey(
    "etcdMemoryRequest",
    "256Mi",
    rules.memory_quantity,
    "is not a memory quantity of whole bytes from 64Mi to 1Ti (such as 512Mi)",
    mirrors_operator_env=False,
    doc=KeyDoc(
        group=GROUP_STORAGE,
        summary="Disk mode: memory request of each etcd container (memory mode requests the quota).",
        rule=(
            "ours, disk mode only: a memory quantity of whole bytes from `64Mi` to `1Ti`; anything else "
            "falls back with a warning. The default covers a member's resident memory under KafScale's "
            'offset writes with room (docs/capacity.md, "Requests"). Memory mode requests the quota '
            "instead (the tmpfs counts against the container)"
        ),
        example="1Gi",
    ),
)
GUARANTEED_QOS = _boolean(
    "etcdGuaranteedQos",
    "false",
    doc=KeyDoc(
        group=GROUP_STORAGE,
        summary="True gives the etcd pods Guaranteed QoS: every container's limits equal its requests.",
        rule=(
            "ours: boolean words (anything else is false with a warning). True sets every container's "
            "limits to its requests: etcd's CPU and memory (disk mode: `etcdMemoryRequest`; memory mode: "
            "quota + headroom, requested whole), the init containers the same, the sidecar 50m and "
            "64Mi. The kubelet then evicts these pods last under node pressure, and a member over its "
            "memory is killed rather than the node"
        ),
        example="true",
        input_type="bool",
    ),
)
MEMORY_HEADROOM = ConfigKey(
    "etcdMemoryHeadroomBytes",
    "512Mi",  # the seed's rule: limit = quota + 512 MiB
    rules.byte_count,
    BYTES_REASON.format(example="536870912 or 512Mi"),
    mirrors_operator_env=False,
    doc=KeyDoc(
        group=GROUP_STORAGE,
        summary=(
            "Memory mode only; the etcd container's memory limit (and tmpfs sizeLimit) is the quota plus "
            "this."
        ),
        rule=(
            "ours, memory mode only: whole bytes or a binary quantity from 1 byte to `1Ti` (larger is an "
            "error), as for the quota. The container's memory limit and the tmpfs `sizeLimit` are quota + "
            "this (the seed's rule at the default). Anything else falls back to `512Mi` with a warning; see "
            "[How memory mode sizes itself](architecture.md#how-memory-mode-sizes-itself) for when to raise "
            "it"
        ),
        example="1Gi",
        settings_type="int",
    ),
)
MONITORING = _boolean(
    "etcdMonitoring",
    "false",
    doc=KeyDoc(
        group=GROUP_MONITORING,
        summary=(
            "A metrics Service, a ServiceMonitor and a PrometheusRule on etcd's own metrics (needs the "
            "Prometheus operator's CRDs)."
        ),
        rule=(
            "ours: boolean words (anything else is false with a warning). True adds the metrics Service, a "
            "ServiceMonitor and a PrometheusRule (see [Alerts](monitoring.md)); they need the Prometheus "
            "operator's CRDs in the cluster"
        ),
        example="true",
        input_type="bool",
        takes_outputs=False,
    ),
)
MONITORING_LABELS: ConfigKey[rules.LabelSelector] = ConfigKey(
    "etcdMonitoringLabels",
    "",
    rules.label_selector,
    "is not a set of labels such as release=prometheus,team=streaming",
    unset=(),
    mirrors_operator_env=False,
    doc=KeyDoc(
        group=GROUP_MONITORING,
        summary=(
            "Labels (key=value[,key=value]) added to the ServiceMonitor and PrometheusRule, such as the "
            "release label your Prometheus selects."
        ),
        rule=(
            "ours: `key=value[,key=value...]` labels added to the ServiceMonitor and PrometheusRule, such as"
            " the `release` label your Prometheus selects them by; invalid: none, with a warning; `app` and "
            "`cluster` select this cluster's objects and are left out with a warning"
        ),
        default_doc="(empty)",
        example="release=prometheus",
        settings_type="LabelSelector",
    ),
)
# Empty means "the default for the storage mode" (DEFAULT_POD_ANTI_AFFINITY_BY_MEMORY).
POD_ANTI_AFFINITY = ConfigKey(
    "etcdPodAntiAffinity",
    "",
    _pod_anti_affinity,
    "is not required or preferred",
    unset="",
    mirrors_operator_env=False,
    doc=KeyDoc(
        group=GROUP_PLACEMENT,
        summary=(
            "required (every member on its own node) or preferred (the operator's soft rule); empty means "
            "required in memory mode and preferred in disk mode."
        ),
        rule=(
            "ours: `required` or `preferred`, any case. `required` puts every member on its own node (hard "
            "pod anti-affinity on `kubernetes.io/hostname`); `preferred` is the operator's soft rule. "
            "Anything else falls back to the mode's default with a warning; see "
            "[Placement](day-two.md#placement)"
        ),
        default_doc="(empty: `required` in memory mode, `preferred` in disk mode)",
        example={True: "preferred", False: "required"},
    ),
)
ZONE_SPREAD = _boolean(
    "etcdZoneSpread",
    "false",
    doc=KeyDoc(
        group=GROUP_PLACEMENT,
        summary="True spreads the members over topology.kubernetes.io/zone (maxSkew 1, ScheduleAnyway).",
        rule=(
            "ours: boolean words (anything else is false with a warning). True adds a "
            "`topologySpreadConstraints` entry over `topology.kubernetes.io/zone` (`maxSkew: 1`, "
            "`whenUnsatisfiable: ScheduleAnyway`); see [Placement](day-two.md#placement)"
        ),
        example="true",
        input_type="bool",
    ),
)
# What a platform's admission rules ask of every pod and object (kafscale/objects/platform.py).
LABELS_REASON = (
    "is not a set of labels (key=value[,key=value] or a map) that leaves app and cluster alone: left out"
)
ANNOTATIONS_REASON = "is not a set of annotations (key=value[,key=value] or a map, 256 KiB in all): left out"
POD_LABELS: ConfigKey[rules.LabelSelector] = ConfigKey(
    "etcdPodLabels",
    "",
    rules.extra_labels,
    LABELS_REASON,
    unset=(),
    mirrors_operator_env=False,
    default_shown="none",
    doc=KeyDoc(
        group=GROUP_PLATFORM,
        summary="Labels added to every pod (key=value[,key=value] or a map); never app or cluster.",
        rule=(
            "ours: labels as `key=value[,key=value]` or a YAML map, keys and values as Kubernetes allows; "
            "`app` and `cluster` are refused (the selectors use them). Anything else is left out with a "
            "warning"
        ),
        default_doc="(empty: none)",
        example="team=streaming",
        input_type="dict[str, str]",
        settings_type="LabelSelector",
    ),
)
POD_ANNOTATIONS: ConfigKey[rules.Annotations] = ConfigKey(
    "etcdPodAnnotations",
    "",
    rules.annotation_map,
    ANNOTATIONS_REASON,
    unset=(),
    mirrors_operator_env=False,
    default_shown="none",
    doc=KeyDoc(
        group=GROUP_PLATFORM,
        summary="Annotations added to every pod (key=value[,key=value] or a map).",
        rule=(
            "ours: annotations as `key=value[,key=value]` or a YAML map (a value with a comma needs the "
            "map), keys as label keys, 256 KiB in all. Anything else is left out with a warning"
        ),
        default_doc="(empty: none)",
        example="example.com/owner=streaming",
        input_type="dict[str, str]",
        settings_type="Annotations",
    ),
)
OBJECT_LABELS: ConfigKey[rules.LabelSelector] = ConfigKey(
    "etcdLabels",
    "",
    rules.extra_labels,
    LABELS_REASON,
    unset=(),
    mirrors_operator_env=False,
    default_shown="none",
    doc=KeyDoc(
        group=GROUP_PLATFORM,
        summary="Labels added to every object this program creates; never app or cluster.",
        rule=(
            "ours: labels as for `etcdPodLabels`, on every object's metadata (not on its pods: "
            "`etcdPodLabels` is theirs). Anything else is left out with a warning"
        ),
        default_doc="(empty: none)",
        example="cost-center=streaming",
        input_type="dict[str, str]",
        settings_type="LabelSelector",
    ),
)
NODE_SELECTOR: ConfigKey[rules.LabelSelector] = ConfigKey(
    "etcdNodeSelector",
    "",
    rules.label_map,
    "is not a node selector (key=value[,key=value] or a map of label keys and values): left out",
    unset=(),
    mirrors_operator_env=False,
    default_shown="none",
    doc=KeyDoc(
        group=GROUP_PLATFORM,
        summary="nodeSelector of every pod (key=value[,key=value] or a map).",
        rule=(
            "ours: node labels as `key=value[,key=value]` or a YAML map, every pod's `nodeSelector`. "
            "Anything else is left out with a warning"
        ),
        default_doc="(empty: none)",
        example="node-role.example.com/etcd=true",
        input_type="dict[str, str]",
        settings_type="LabelSelector",
    ),
)
TOLERATIONS: ConfigKey[tuple[rules.Toleration, ...]] = ConfigKey(
    "etcdTolerations",
    "",
    rules.tolerations,
    "is not a list of tolerations (a YAML list of Kubernetes tolerations, or key=value:Effect,key:Effect)",
    unset=(),
    mirrors_operator_env=False,
    default_shown="none",
    doc=KeyDoc(
        group=GROUP_PLATFORM,
        summary=(
            "Tolerations of every pod: a YAML list of tolerations, or taints as key=value:Effect,key:Effect."
        ),
        rule=(
            "ours: a YAML list of tolerations (`key`, `operator` `Equal` or `Exists`, `value`, `effect` "
            "`NoSchedule`, `PreferNoSchedule` or `NoExecute`, `tolerationSeconds` with `NoExecute` only), "
            "or the taints to tolerate as `kubectl taint` writes them (`dedicated=etcd:NoSchedule` "
            "tolerates that value, `dedicated:NoSchedule` any). Checked as Kubernetes checks them; "
            "anything else falls back to none with a warning"
        ),
        default_doc="(empty: none)",
        example="dedicated=etcd:NoSchedule",
        input_type="list[dict[str, Any]]",
        settings_type="tuple[Toleration, ...]",
    ),
)
PRIORITY_CLASS_NAME = ConfigKey(
    "etcdPriorityClassName",
    "",
    rules.dns_subdomain_name,
    "is not a PriorityClass name (a DNS-1123 subdomain)",
    unset="",
    mirrors_operator_env=False,
    default_shown="none",
    doc=KeyDoc(
        group=GROUP_PLATFORM,
        summary="PriorityClass of every pod; empty means none.",
        rule=(
            "ours: a PriorityClass name (DNS-1123 subdomain) that exists in the cluster, such as "
            "`system-cluster-critical`; anything else falls back to none with a warning"
        ),
        default_doc="(empty: none)",
        example="system-cluster-critical",
    ),
)
IMAGE_PULL_SECRETS = _list_of(
    "etcdImagePullSecrets",
    rules.secret_name,
    "is not a Secret name (a DNS-1123 subdomain): left out",
    doc=KeyDoc(
        group=GROUP_PLATFORM,
        summary="Secrets every pod pulls its images with (comma-separated string or YAML list).",
        rule=(
            "ours: Secret names in the namespace, comma-separated or a YAML list; each that is not a "
            "Secret name is left out with a warning"
        ),
        default_doc="(empty: none)",
        example="registry-credentials",
        input_type="list[str]",
        settings_type="tuple[str, ...]",
    ),
)
SERVICE_ACCOUNT_NAME = ConfigKey(
    "etcdServiceAccountName",
    "",
    rules.dns_subdomain_name,
    "is not a ServiceAccount name (a DNS-1123 subdomain)",
    unset="",
    mirrors_operator_env=False,
    default_shown="none",
    doc=KeyDoc(
        group=GROUP_PLATFORM,
        summary=(
            "ServiceAccount of the pods that reach the bucket (etcd pods with backups on, the snapshot "
            "CronJob): an existing one, or the one etcdServiceAccountAnnotations creates."
        ),
        rule=(
            "ours: a ServiceAccount name (DNS-1123 subdomain). With `etcdServiceAccountAnnotations` "
            "empty it must exist; with them, the program creates it (`<clusterName>-etcd` when this is "
            "empty). The etcd pods (their `snapshot-fetch` step) and the snapshot CronJob's pods run as it "
            "when backups are on, so IRSA or EKS Pod Identity give them S3 access; no pod mounts its API "
            "token. Anything else falls back to none with a warning"
        ),
        default_doc="(empty: none)",
        example="etcd-backups",
        takes_outputs=False,  # it names the ServiceAccount the program may create
    ),
)
SERVICE_ACCOUNT_ANNOTATIONS: ConfigKey[rules.Annotations] = ConfigKey(
    "etcdServiceAccountAnnotations",
    "",
    rules.annotation_map,
    ANNOTATIONS_REASON,
    unset=(),
    mirrors_operator_env=False,
    default_shown="none",
    doc=KeyDoc(
        group=GROUP_PLATFORM,
        summary=(
            "When set, the program creates the ServiceAccount with these annotations (such as "
            "eks.amazonaws.com/role-arn=...)."
        ),
        rule=(
            "ours: annotations as for `etcdPodAnnotations`. Set: the program creates the ServiceAccount "
            "`etcdServiceAccountName` (or `<clusterName>-etcd`) with them, with backups on. Anything else "
            "is left out with a warning"
        ),
        default_doc="(empty: none, no ServiceAccount created)",
        example="eks.amazonaws.com/role-arn=arn:aws:iam::111122223333:role/etcd-backups",
        input_type="dict[str, str]",
        takes_outputs=False,  # it decides whether the ServiceAccount exists
        settings_type="Annotations",
    ),
)
CREATE_NAMESPACE = _boolean(
    "etcdCreateNamespace",
    "false",
    doc=KeyDoc(
        group=GROUP_PLATFORM,
        summary="True creates the namespace (protected and kept on delete, like the StatefulSet).",
        rule=(
            "ours: boolean words (anything else is false with a warning). True makes the namespace a "
            "child of the stack, created before every other object, protected unless "
            "`etcdAllowReplacement` is true and kept in Kubernetes when it leaves the stack (deleting it "
            "would delete every member's data). False: the namespace must exist. A namespace that exists "
            "already is imported first (`pulumi import kubernetes:core/v1:Namespace <component>-namespace "
            "<namespace>`; the dev stack's component is `etcd`), or the create fails"
        ),
        example="true",
        input_type="bool",
        takes_outputs=False,
    ),
)
# Change safety: Pulumi's protect on the StatefulSet (lifted by true, for a deliberate replacement),
# and how long pulumi-kubernetes awaits its rollout (empty: the default for the member count).
ALLOW_REPLACEMENT = _boolean(
    "etcdAllowReplacement",
    "false",
    doc=KeyDoc(
        group=GROUP_CHANGES,
        summary=(
            "True lifts Pulumi's protect from the StatefulSet and the bootstrap marker for one deliberate "
            "replacement (every member down at once; in memory mode every offset since the last snapshot "
            "lost); false (the default) refuses any change that would replace it."
        ),
        rule=(
            "ours: boolean words (anything else is false with a warning). The StatefulSet is `protect`ed, so"
            " the engine refuses to replace or delete it; true lifts that for one deliberate replacement, "
            "and lets preview pass a memory-mode replacement it otherwise refuses. See [Change "
            "safety](day-two.md#change-safety)"
        ),
        example="true",
        input_type="bool",
        takes_outputs=False,
    ),
)
# Adoption: the first `pulumi up` after importing the operator's objects.
ADOPT_OPERATOR_OBJECTS = _boolean(
    "etcdAdoptOperatorObjects",
    "false",
    doc=KeyDoc(
        group=GROUP_CHANGES,
        summary=(
            "True for the first pulumi up after importing the operator's objects: they take "
            "pulumi.com/patchForce, and the bootstrap marker is applied before the StatefulSet."
        ),
        rule=(
            "ours: boolean words (anything else is false with a warning). True annotates the objects the "
            'operator created with `pulumi.com/patchForce: "true"`, so that the first server-side apply '
            "takes over the fields the operator's field manager owns instead of failing on the conflict "
            "(pulumi-kubernetes provider/pkg/await/await.go `patchForce`), and applies the bootstrap marker "
            "before the StatefulSet (the cluster exists: no rolled member may doubt it). Set it back to "
            "false after that `pulumi up`. See [adoption.md](adoption.md)"
        ),
        example="true",
        input_type="bool",
        takes_outputs=False,
    ),
)
DEPLOY_TIMEOUT_SEC: ConfigKey[int | str] = ConfigKey(
    "etcdDeployTimeoutSec",
    "",
    rules.whole_number(rules.MIN_DEPLOY_TIMEOUT_S, rules.MAX_DEPLOY_TIMEOUT_S),
    f"is not a whole number of seconds from {rules.MIN_DEPLOY_TIMEOUT_S} to {rules.MAX_DEPLOY_TIMEOUT_S:,}",
    unset="",
    mirrors_operator_env=False,
    default_shown="the default for the member count",
    doc=KeyDoc(
        group=GROUP_CHANGES,
        summary=(
            "Seconds pulumi-kubernetes waits for the StatefulSet's rollout (60 to 86400); empty means "
            "(members + 1) x 300, the startup budget of each member plus one."
        ),
        rule=(
            "ours: whole seconds from 60 to 86400 (anything else is the default with a warning): how long "
            "pulumi-kubernetes awaits the StatefulSet's create or rolling update (`customTimeouts`); the "
            "default is each member's 5-minute startup budget plus one, 1200 s for 3 members, where the "
            "provider's own is 10 minutes"
        ),
        default_doc="(empty: `(etcdReplicas + 1) x 300`)",
        example="3600",
        input_type="int",
        takes_outputs=False,
    ),
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
    MAINTENANCE_FRAGMENTATION_PCT,
    MAINTENANCE_MIN_DEFRAG_BYTES,
    MAINTENANCE_MOVE_LEADER,
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
    PEER_TLS_SECRET,
    PEER_TLS_ISSUER,
    PEER_URL_SCHEME,
    CLIENT_TLS_SECRET,
    CLIENT_TLS_ISSUER,
    AUTH,
    AUTH_CONSOLE_USER,
    AUTH_ROOT_SECRET,
    AUTH_KAFSCALE_SECRET,
    AUTH_CONSOLE_SECRET,
    CLIENT_NAMESPACES,
    CLIENT_POD_SELECTORS,
    MONITORING,
    MONITORING_LABELS,
    MEMORY_HEADROOM,
    CPU_REQUEST,
    MEMORY_REQUEST,
    GUARANTEED_QOS,
    POD_ANTI_AFFINITY,
    ZONE_SPREAD,
    POD_LABELS,
    POD_ANNOTATIONS,
    OBJECT_LABELS,
    NODE_SELECTOR,
    TOLERATIONS,
    PRIORITY_CLASS_NAME,
    IMAGE_PULL_SECRETS,
    SERVICE_ACCOUNT_NAME,
    SERVICE_ACCOUNT_ANNOTATIONS,
    CREATE_NAMESPACE,
    ALLOW_REPLACEMENT,
    ADOPT_OPERATOR_OBJECTS,
    DEPLOY_TIMEOUT_SEC,
)

# Keys that turn a protection on: a value their rule refuses is an error, never a fallback that
# would turn the protection off (settings.py `_security_setting`).
PROTECTION_KEYS: tuple[ConfigKey[object], ...] = (
    PEER_TLS_SECRET,
    PEER_TLS_ISSUER,
    PEER_URL_SCHEME,
    CLIENT_TLS_SECRET,
    CLIENT_TLS_ISSUER,
    AUTH,
    AUTH_ROOT_SECRET,
    AUTH_KAFSCALE_SECRET,
    AUTH_CONSOLE_SECRET,
)

# The keys the README's front page lists, in its order: those most stacks set.
COMMON_KEYS: tuple[ConfigKey[object], ...] = (
    K8S_NAMESPACE,
    CLUSTER_NAME,
    REPLICAS,
    STORAGE_MEMORY,
    QUOTA_BACKEND_BYTES,
    AUTO_COMPACTION_RETENTION,
    SNAPSHOT_BUCKET,
    SNAPSHOT_ENABLED,
    SNAPSHOT_CREDENTIALS_SECRET,
    MONITORING,
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
