"""The component's inputs: one field per `kafscale:` stack config key, plus the last deployment.

Written out field by field because Pulumi's component analyzer reads this class's source (types
and docstrings) to build the package schema other languages use; tests/test_component_args.py
holds the fields, types and docstrings in step with kafscale/config_keys.py and Pulumi.yaml.

A field typed `pulumi.Input[...]` may be another resource's output (a Namespace's name, say). A
plain field decides which objects exist, how they are named or how the engine treats them
(protect, timeouts), so it must be known when the program runs: an output there is an error.
Every value may also be given as stack config gives it (a string such as `4Gi` or `yes`); each
is parsed, defaulted and warned about exactly as the same stack config key would be.
"""

# No `from __future__ import annotations`: the analyzer reads these annotations as types.
import typing
from typing import Any, TypedDict

import pulumi

from kafscale.config_keys import CONFIG_KEYS, snake_case


class ManagedEtcdArgs(TypedDict, total=False):
    """The settings of one KafScale cluster's etcd, named as its stack config keys; every one is
    optional and defaults as the README's settings table says."""

    cluster_name: str
    """KafScale cluster name; prefixes every object name (<clusterName>-etcd, ...)."""
    namespace: pulumi.Input[str]
    """Kubernetes namespace of every object."""
    etcd_endpoints: list[str]
    """External etcd endpoints (comma-separated string or YAML list); when set, no etcd is provisioned."""
    etcd_image: pulumi.Input[str]
    """etcd container image."""
    etcd_replicas: int
    """Number of etcd members (odd counts recommended)."""
    etcd_storage_size: pulumi.Input[str]
    """Disk mode PersistentVolumeClaim size (a Kubernetes quantity)."""
    etcd_storage_class: pulumi.Input[str]
    """Disk mode StorageClass; empty uses the cluster default."""
    etcd_storage_memory: bool
    """Keep the data dir in memory (tmpfs); true for 1/true/yes/on."""
    etcd_auto_compaction_mode: pulumi.Input[str]
    """etcd auto-compaction mode, periodic or revision."""
    etcd_auto_compaction_retention: pulumi.Input[str]
    """Compaction retention; empty means 5m (periodic) or 1000000 (revision)."""
    etcd_quota_backend_bytes: pulumi.Input[str]
    """etcd backend quota in bytes or a binary quantity such as 4Gi."""
    etcd_expected_write_rate: pulumi.Input[float]
    """Optional expected etcd writes/s; preview warns when the quota is below the sizing recommendation."""
    etcd_maintenance_enabled: bool
    """Render the maintenance CronJobs; false for 0/false/no/off."""
    etcd_maintenance_schedule: pulumi.Input[str]
    """Cron schedule of the defrag + NOSPACE-disarm CronJob."""
    etcd_maintenance_check_schedule: pulumi.Input[str]
    """Cron schedule of the check-only CronJob (acts only over the threshold or on NOSPACE)."""
    etcd_maintenance_size_threshold_pct: pulumi.Input[int]
    """Check-only mode acts when a member's dbSize reaches this percentage of the quota (1-100)."""
    etcd_defrag_schedule: pulumi.Input[str]
    """Deprecated alias of etcdMaintenanceSchedule, used when that is empty."""
    etcd_defrag_enabled: bool
    """Deprecated; a false value also disables maintenance."""
    etcd_snapshot_etcdctl_image: pulumi.Input[str]
    """Image with etcdctl (Alpine, BusyBox sh and wget) that runs the maintenance script."""
    etcd_snapshot_bucket: pulumi.Input[str]
    """S3 bucket for etcd snapshots; empty means kafscale-etcd-<namespace>-<clusterName>."""
    etcd_snapshot_prefix: pulumi.Input[str]
    """Key prefix of the snapshots in the bucket (slashes trimmed)."""
    etcd_snapshot_schedule: pulumi.Input[str]
    """Cron schedule of the snapshot CronJob."""
    etcd_snapshot_image: pulumi.Input[str]
    """Image with the AWS CLI that uploads the snapshots."""
    etcd_snapshot_s3_endpoint: pulumi.Input[str]
    """S3 endpoint URL (http or https) for an S3-compatible store; empty means AWS S3."""
    etcd_snapshot_stale_after_sec: pulumi.Input[int]
    """Seconds after which the last snapshot counts as stale."""
    etcd_snapshot_create_bucket: pulumi.Input[bool]
    """Create the bucket when it is missing."""
    etcd_snapshot_protect_bucket: pulumi.Input[bool]
    """Enable versioning and the public access block on the bucket (tolerated where the endpoint lacks them)."""
    etcd_snapshot_s3_region: pulumi.Input[str]
    """S3 region (AWS_REGION); empty leaves the AWS CLI's default, us-east-1."""
    etcd_snapshot_credentials_secret: pulumi.Input[str]
    """Secret whose optional keys KAFSCALE_S3_ACCESS_KEY, KAFSCALE_S3_SECRET_KEY, KAFSCALE_S3_SESSION_TOKEN become the AWS credentials; empty means none."""
    etcd_snapshot_keep: pulumi.Input[int]
    """Keep only the newest N snapshots (pruned after each upload); 0 keeps all."""
    etcd_snapshot_enabled: bool
    """False renders no snapshot CronJob and no restore init containers."""
    etcd_start_empty_when_lost: pulumi.Input[bool]
    """True lets a cluster that lost every member start again EMPTY (every offset gone) when no snapshot can be restored; false (the default) makes it wait for a backup or a person."""
    etcd_probes: pulumi.Input[bool]
    """Startup, liveness and readiness probes that ignore NOSPACE (and podManagementPolicy Parallel); off for etcd before 3.4.19 / 3.5.2."""
    etcd_corruption_checks: pulumi.Input[bool]
    """True turns on etcd's initial and periodic corruption checks, with the flag names the image's etcd version reads; false renders none."""
    etcd_corrupt_check_interval: pulumi.Input[str]
    """How often the leader compares every member's hash (etcd's periodic corruption check), a Go duration of whole seconds from 10s to 24h; a divergence raises the CORRUPT alarm within it."""
    etcd_run_as_user: pulumi.Input[int]
    """Non-root user, group and fsGroup of every pod (etcd and maintenance jobs)."""
    etcd_read_only_root_filesystem: pulumi.Input[bool]
    """Read-only root filesystem for every container; off only for an image that must write outside its volumes."""
    etcd_network_policy: bool
    """A NetworkPolicy that admits the peer port only from etcd pods and the client port only from this namespace and the listed clients."""
    etcd_client_namespaces: pulumi.Input[list[str]]
    """Other namespaces whose pods may reach the client port (comma-separated string or YAML list)."""
    etcd_client_pod_selectors: pulumi.Input[list[str]]
    """Label selectors (key=value[,key=value]) of pods in any namespace that may reach the client port (';'-separated string or YAML list)."""
    etcd_monitoring: bool
    """A metrics Service, a ServiceMonitor and a PrometheusRule on etcd's own metrics (needs the Prometheus operator's CRDs)."""
    etcd_monitoring_labels: pulumi.Input[str]
    """Labels (key=value[,key=value]) added to the ServiceMonitor and PrometheusRule, such as the release label your Prometheus selects."""
    etcd_memory_headroom_bytes: pulumi.Input[str]
    """Memory mode only; the etcd container's memory limit (and tmpfs sizeLimit) is the quota plus this."""
    etcd_pod_anti_affinity: pulumi.Input[str]
    """required (every member on its own node) or preferred (the operator's soft rule); empty means required in memory mode and preferred in disk mode."""
    etcd_zone_spread: pulumi.Input[bool]
    """True spreads the members over topology.kubernetes.io/zone (maxSkew 1, ScheduleAnyway)."""
    etcd_allow_replacement: bool
    """True lifts Pulumi's protect from the StatefulSet and the bootstrap marker for one deliberate replacement (every member down at once; in memory mode every offset since the last snapshot lost); false (the default) refuses any change that would replace it."""
    etcd_deploy_timeout_sec: int
    """Seconds pulumi-kubernetes waits for the StatefulSet's rollout (60 to 86400); empty means (members + 1) x 300, the startup budget of each member plus one."""
    last_deployed_settings: pulumi.Input[dict[str, Any]]
    """The `settings` output of this stack's last deployment (a StackReference to the stack itself): preview then names each setting whose change would replace the StatefulSet, and refuses a memory-mode replacement unless etcdAllowReplacement is true."""


LAST_DEPLOYED_SETTINGS = "last_deployed_settings"


def field_name(config_key: str) -> str:
    """`etcdQuotaBackendBytes` -> `etcd_quota_backend_bytes` (the analyzer camel-cases it back)."""
    return snake_case(config_key)


def takes_outputs(field: str) -> bool:
    """Whether a field is typed `pulumi.Input[...]` (else it must be a plain value)."""
    annotation = ManagedEtcdArgs.__annotations__[field]
    return typing.get_origin(annotation) is typing.Union


def config_values(args: ManagedEtcdArgs) -> dict[str, object]:
    """The given fields keyed by config key (`etcdReplicas`, ...), unset ones left out."""
    given: dict[str, object] = dict(args)
    return {
        key.name: given[field_name(key.name)]
        for key in CONFIG_KEYS
        if given.get(field_name(key.name)) is not None
    }
