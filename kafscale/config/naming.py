"""Names, labels, ports and URLs of the managed etcd, exactly as the KafScale operator spells them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

APP_LABEL = "kafscale-etcd"
TASK_APP_LABEL = "kafscale-etcd-task"  # the pods of the Jobs and CronJobs: outside every selector
SELECTOR_LABEL_NAMES = ("app", "cluster")  # the labels every selector matches on
CLIENT_PORT = 2379
PEER_PORT = 2380
# Where each member answers the others, whatever state etcd is in: whether it holds data
# (scripts/etcd-member.sh; a port etcd does not use).
EVIDENCE_PORT = 2382
# Where a member serves clients over TLS, beside the plain client port (etcdClientTlsSecret; a
# port etcd does not use by default).
CLIENT_TLS_PORT = 2378
DATA_DIR = "/var/lib/etcd"

# The longest derived name is the CronJob `<cluster>-etcd-maintenance-check`, and Kubernetes caps
# CronJob names at 52 characters (its Jobs add an 11-character suffix to stay within 63).
CRONJOB_NAME_MAX_LENGTH = 52
MAINTENANCE_CHECK_SUFFIX = "-etcd-maintenance-check"
SNAPSHOT_SUFFIX = "-etcd-snapshot"
CLUSTER_NAME_MAX_LENGTH = CRONJOB_NAME_MAX_LENGTH - len(MAINTENANCE_CHECK_SUFFIX)

# Kubernetes' own expansion of container env in args: must stay literal in the manifest.
POD_NAME_REF = "$(POD_NAME)"
POD_NAMESPACE_REF = "$(POD_NAMESPACE)"


# The objects the KafScale operator creates for its managed etcd (operator-parity.md): by kind and
# the name after `<clusterName>-etcd`. What adoption imports and forces over.
OPERATOR_OBJECTS = frozenset(
    {
        ("Service", ""),
        ("Service", "-client"),
        ("StatefulSet", ""),
        ("PodDisruptionBudget", ""),
        ("CronJob", "-maintenance"),
        ("CronJob", "-maintenance-check"),
        ("CronJob", "-snapshot"),
    }
)


@dataclass(frozen=True)
class EtcdNames:
    """Every derived name for one KafScale cluster's etcd in one namespace."""

    cluster: str
    namespace: str
    # The Pulumi stack that deploys it (`<project>/<stack>`): part of the
    # snapshots' identity, so that two stacks with the same names never share snapshots.
    deployment: str = ""

    @property
    def labels(self) -> dict[str, str]:
        """Labels on every object; selectors use exactly these two."""
        return dict(zip(SELECTOR_LABEL_NAMES, (APP_LABEL, self.cluster), strict=True))

    def is_operator_object(self, kind: str, name: str) -> bool:
        """Whether the operator creates an object of this kind and name for this cluster."""
        prefix = self.object_prefix
        return name.startswith(prefix) and (kind, name.removeprefix(prefix)) in OPERATOR_OBJECTS

    @property
    def object_prefix(self) -> str:
        """What every object's name starts with (and the whole name of several)."""
        return f"{self.cluster}-etcd"

    @property
    def headless_service(self) -> str:
        return self.object_prefix

    @property
    def client_service(self) -> str:
        return f"{self.cluster}-etcd-client"

    @property
    def statefulset(self) -> str:
        return f"{self.cluster}-etcd"

    @property
    def pod_disruption_budget(self) -> str:
        return f"{self.cluster}-etcd"

    @property
    def network_policy(self) -> str:
        return f"{self.cluster}-etcd"

    @property
    def metrics_service(self) -> str:
        return f"{self.cluster}-etcd-metrics"

    @property
    def service_monitor(self) -> str:
        return f"{self.cluster}-etcd"

    @property
    def prometheus_rule(self) -> str:
        return f"{self.cluster}-etcd"

    @property
    def maintenance_cronjob(self) -> str:
        return f"{self.cluster}-etcd-maintenance"

    @property
    def maintenance_check_cronjob(self) -> str:
        return f"{self.cluster}{MAINTENANCE_CHECK_SUFFIX}"

    @property
    def snapshot_cronjob(self) -> str:
        return f"{self.cluster}{SNAPSHOT_SUFFIX}"

    @property
    def members_configmap(self) -> str:
        return f"{self.cluster}-etcd-members"

    @property
    def bootstrap_marker(self) -> str:
        return f"{self.cluster}-etcd-bootstrapped"

    @property
    def recovery_configmap(self) -> str:
        """A person's decision on a lost cluster (docs/backup-restore.md): never rendered, read by
        the pods when it exists."""
        return f"{self.cluster}-etcd-recovery"

    @property
    def scale_down_job(self) -> str:
        return f"{self.cluster}-etcd-scale-down"

    @property
    def auth_job(self) -> str:
        """The Job that creates etcd's users and roles and turns auth on or off (etcdAuth)."""
        return f"{self.cluster}-etcd-auth"

    def credentials_secret(self, user: str) -> str:
        """The Secret of an etcd user's password (`root`, `kafscale`, `kafscale-console`):
        `<cluster>-etcd-root`, `<cluster>-etcd-kafscale`, `<cluster>-etcd-console`."""
        return f"{self.cluster}-etcd-{user.removeprefix('kafscale-')}"

    @property
    def snapshot_identity(self) -> str:
        """The folder under the snapshot prefix that holds this cluster's snapshots and no other
        cluster's: `<namespace>.<cluster>.<12 hex digits>`, the digits a SHA-256 of the stack,
        namespace and cluster name. Each checksum object names its snapshot under this folder, so
        a snapshot copied in from another cluster's folder is refused too. Two stacks that share a
        bucket and prefix (staging and production with the same names, say) never restore or
        prune each other's snapshots (docs/backup-restore.md)."""
        source = f"{self.deployment}\n{self.namespace}\n{self.cluster}".encode()
        return f"{self.namespace}.{self.cluster}.{hashlib.sha256(source).hexdigest()[:12]}"

    @property
    def peer_certificate(self) -> str:
        """cert-manager's Certificate of the members' peer TLS."""
        return f"{self.cluster}-etcd-peer"

    @property
    def client_certificate(self) -> str:
        """cert-manager's Certificate of the members' client TLS listener."""
        return f"{self.cluster}-etcd-client"

    @property
    def initial_cluster_token(self) -> str:
        return f"{self.cluster}-etcd"

    def member_names(self, replicas: int) -> list[str]:
        return [f"{self.statefulset}-{index}" for index in range(replicas)]

    def member_host(self, member: str, namespace: str | None = None) -> str:
        """A member's stable DNS name through the headless Service."""
        return f"{member}.{self.headless_service}.{namespace or self.namespace}.svc.cluster.local"

    def member_client_urls(self, replicas: int) -> list[str]:
        return [f"http://{self.member_host(member)}:{CLIENT_PORT}" for member in self.member_names(replicas)]

    @property
    def client_url(self) -> str:
        """What the brokers use: the client Service."""
        return f"http://{self.client_service}.{self.namespace}.svc.cluster.local:{CLIENT_PORT}"

    @property
    def client_tls_url(self) -> str:
        """The client Service's TLS listener (etcdClientTlsSecret)."""
        return f"https://{self.client_service}.{self.namespace}.svc.cluster.local:{CLIENT_TLS_PORT}"
