"""The stack config keys this program reads, with their defaults.

Pulumi.yaml declares the same keys (type and description) and the README documents them
(env var, default, rule); tests hold all three in step with this list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NAMESPACE = "kafscale"
OPERATOR_ENV_PREFIX = "KAFSCALE_OPERATOR_"


@dataclass(frozen=True)
class ConfigKey:
    name: str
    default: str
    mirrors_operator_env: bool = True

    @property
    def full_name(self) -> str:
        return f"{NAMESPACE}:{self.name}"

    @property
    def env_var(self) -> str | None:
        """The operator env var this key mirrors (the DEVELOPERS.md naming rule, inverted)."""
        if not self.mirrors_operator_env:
            return None
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", self.name).upper()
        return OPERATOR_ENV_PREFIX + snake


CLUSTER_NAME = ConfigKey("clusterName", "kafscale", mirrors_operator_env=False)
K8S_NAMESPACE = ConfigKey("namespace", "kafscale", mirrors_operator_env=False)
ENDPOINTS = ConfigKey("etcdEndpoints", "")
IMAGE = ConfigKey("etcdImage", "kubesphere/etcd:3.6.4-0")
REPLICAS = ConfigKey("etcdReplicas", "3")
STORAGE_SIZE = ConfigKey("etcdStorageSize", "10Gi")
STORAGE_CLASS = ConfigKey("etcdStorageClass", "")
STORAGE_MEMORY = ConfigKey("etcdStorageMemory", "false")
AUTO_COMPACTION_MODE = ConfigKey("etcdAutoCompactionMode", "periodic")
AUTO_COMPACTION_RETENTION = ConfigKey("etcdAutoCompactionRetention", "")
QUOTA_BACKEND_BYTES = ConfigKey("etcdQuotaBackendBytes", "4294967296")
EXPECTED_WRITE_RATE = ConfigKey("etcdExpectedWriteRate", "", mirrors_operator_env=False)
MAINTENANCE_ENABLED = ConfigKey("etcdMaintenanceEnabled", "true")
MAINTENANCE_SCHEDULE = ConfigKey("etcdMaintenanceSchedule", "0 */6 * * *")
MAINTENANCE_CHECK_SCHEDULE = ConfigKey("etcdMaintenanceCheckSchedule", "*/15 * * * *")
MAINTENANCE_SIZE_THRESHOLD_PCT = ConfigKey("etcdMaintenanceSizeThresholdPct", "75")
DEFRAG_SCHEDULE = ConfigKey("etcdDefragSchedule", "")  # deprecated alias of the maintenance schedule
DEFRAG_ENABLED = ConfigKey("etcdDefragEnabled", "")  # deprecated: false also disables maintenance
ETCDCTL_IMAGE = ConfigKey("etcdSnapshotEtcdctlImage", "ghcr.io/kafscale/kafscale-etcd-tools:dev")
PROBES = ConfigKey("etcdProbes", "true", mirrors_operator_env=False)
RUN_AS_USER = ConfigKey("etcdRunAsUser", "65532", mirrors_operator_env=False)
READ_ONLY_ROOT_FILESYSTEM = ConfigKey("etcdReadOnlyRootFilesystem", "true", mirrors_operator_env=False)
NETWORK_POLICY = ConfigKey("etcdNetworkPolicy", "true", mirrors_operator_env=False)
CLIENT_NAMESPACES = ConfigKey("etcdClientNamespaces", "", mirrors_operator_env=False)
CLIENT_POD_SELECTORS = ConfigKey("etcdClientPodSelectors", "", mirrors_operator_env=False)
MEMORY_HEADROOM = ConfigKey("etcdMemoryHeadroomBytes", "512Mi", mirrors_operator_env=False)
MONITORING = ConfigKey("etcdMonitoring", "false", mirrors_operator_env=False)
MONITORING_LABELS = ConfigKey("etcdMonitoringLabels", "", mirrors_operator_env=False)

CONFIG_KEYS: tuple[ConfigKey, ...] = (
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
    PROBES,
    RUN_AS_USER,
    READ_ONLY_ROOT_FILESYSTEM,
    NETWORK_POLICY,
    CLIENT_NAMESPACES,
    CLIENT_POD_SELECTORS,
    MONITORING,
    MONITORING_LABELS,
    MEMORY_HEADROOM,
)

# The retention default depends on the mode (etcdAutoCompactionRetention's declared default is
# empty, meaning "the default for the mode").
DEFAULT_RETENTION_BY_MODE = {"periodic": "5m", "revision": "1000000"}
