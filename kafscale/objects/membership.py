"""Membership: how each member starts, joins, is promoted and leaves (scripts/etcd-member.sh).

- An init container (tools image) decides, before etcd starts, whether this member bootstraps
  the cluster (`new`), restarts from its data, or joins as a learner (`existing`), and writes
  etcd's config file; etcd starts with `--config-file` (etcd then reads nothing else).
- A container beside etcd promotes the member once the learner has caught up, then idles.
- The members ConfigMap holds what depends on the replica count (the bootstrap's initial cluster,
  every member's client URL), so changing `etcdReplicas` leaves the pod template alone: no
  rolling restart of the members that stay.
- The bootstrap marker, a ConfigMap applied once the StatefulSet is ready, tells every later
  member that the cluster exists: with no data and no member with quorum it waits instead of
  bootstrapping a new empty cluster.
- The scale-down Job, applied before the StatefulSet, removes the members above the new count
  one at a time while their pods still run, refusing any removal that would lose quorum.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from kafscale.config.corruption_checks import corruption_check_config
from kafscale.config.etcd_versions import image_etcd_version
from kafscale.config.naming import (
    CLIENT_PORT,
    DATA_DIR,
    EVIDENCE_PORT,
    PEER_PORT,
    POD_NAME_REF,
    POD_NAMESPACE_REF,
    EtcdNames,
)
from kafscale.config.rules import MAX_REPLICAS
from kafscale.config.settings import EtcdSettings
from kafscale.objects.client_tls import client_tls_config, listen_client_urls
from kafscale.objects.containers import downward_env, env_var, packaged_script
from kafscale.objects.metadata import object_metadata
from kafscale.objects.peer_tls import peer_tls_config
from kafscale.objects.pod_security import container_security_context
from kafscale.objects.task_pod import task_pod_template

SCRIPT_NAME = "etcd-member.sh"
SCALE_DOWN_SCRIPT_NAME = "etcd-scale-down.sh"
# The member script is written once per pod template: the first init container puts it into
# this volume, and every step of the pod runs it from there (INSTALL_SCRIPTS).
SCRIPTS_VOLUME = "member-scripts"
SCRIPTS_DIR = "/var/run/etcd-member-scripts"
SCRIPTS_CONTAINER = "member-scripts"
INSTALL_SCRIPTS = """set -eu
dir=$1
shift
while [ "$#" -ge 2 ]; do
    printf '%s' "$2" >"$dir/$1.tmp"
    mv "$dir/$1.tmp" "$dir/$1"
    shift 2
done
[ "$#" -eq 0 ] || { echo "install-scripts: $1 has no text" >&2; exit 1; }
"""
CONFIG_VOLUME = "etcd-config"
CONFIG_DIR = "/etc/etcd"
CONFIG_FILE = f"{CONFIG_DIR}/etcd.conf.yml"
CLUSTER_VOLUME = "etcd-cluster"
CLUSTER_DIR = "/etc/etcd-cluster"
MARKER_VOLUME = "etcd-bootstrapped"
MARKER_DIR = "/etc/etcd-bootstrapped"
MARKER_KEY = "bootstrapped"
STATE_VOLUME = "member-state"
STATE_DIR = "/var/run/etcd-member"
VOTING_FILE = f"{STATE_DIR}/voting"
EVIDENCE_FILE = f"{STATE_DIR}/evidence"
RECOVERY_VOLUME = "etcd-recovery"
RECOVERY_DIR = "/etc/etcd-recovery"
RECOVERY_KEY = "decision"
DECISION_FILE = f"{RECOVERY_DIR}/{RECOVERY_KEY}"
# How many rounds in a row every other member must answer that it holds no data before a
# survivor recovers the cluster from its own data, one round every WATCH_INTERVAL_S.
CONFIRM_ROUNDS = 3
WATCH_INTERVAL_S = 5
VOTING_PROBE_PERIOD_S = 5
INITIAL_CLUSTER_KEY = "initial-cluster"
CLIENT_URLS_KEY = "client-urls"
# The stack's identity (hex digits Pulumi's random provider draws once per stack): a first
# bootstrap's token is `<cluster>-etcd-<identity>` (etcd-member.sh `bootstrap_token`).
IDENTITY_KEY = "identity"
IDENTITY_BYTES = 6
# The flags the join step decides; every other flag is fixed by the settings.
MEMBERSHIP_FLAGS = ("initial-cluster", "initial-cluster-state")
SHRINK_TIMEOUT_S = 300
REPLACE_UNREADY_ANNOTATION = "pulumi.com/replaceUnready"
SHRINK_JOB_DEADLINE_S = SHRINK_TIMEOUT_S + 60
COMPONENT_LABEL = "etcd-membership"
# The label value that marks the bootstrap marker: applied only once the StatefulSet is ready.
MARKER_COMPONENT_LABEL = "etcd-bootstrap-marker"

EtcdFlagValue = str | int | bool
# Flag defaults a config file does not get: etcd 3.4 started with --config-file serves no gRPC
# gateway (/v3/... over HTTP: 404) unless asked, where its flag defaults to on (measured on 3.4.23;
# 3.5.1 serves it either way). The maintenance script and the lab read status through it.
CONFIG_FILE_DEFAULTS: dict[str, EtcdFlagValue] = {"enable-grpc-gateway": True}


def member_script() -> str:
    return packaged_script(SCRIPT_NAME)


def scale_down_script() -> str:
    return packaged_script(SCALE_DOWN_SCRIPT_NAME)


def initial_cluster(settings: EtcdSettings, names: EtcdNames, namespace: str) -> str:
    """Every member's `name=peer URL`, as a brand-new cluster bootstraps."""
    return ",".join(
        f"{member}={settings.peer_scheme}://{names.member_host(member, namespace)}:{PEER_PORT}"
        for member in names.member_names(settings.replicas)
    )


def etcd_flags(settings: EtcdSettings, names: EtcdNames) -> dict[str, EtcdFlagValue]:
    """Every etcd setting of a member bootstrapping a new cluster, flag for flag in the
    operator's order: its `--flag=value` args, as etcd config file keys."""
    own_host = names.member_host(POD_NAME_REF, POD_NAMESPACE_REF)
    return {
        "name": POD_NAME_REF,
        "data-dir": DATA_DIR,
        "listen-peer-urls": f"{settings.peer_scheme}://0.0.0.0:{PEER_PORT}",
        "listen-client-urls": listen_client_urls(settings),
        "advertise-client-urls": f"http://{own_host}:{CLIENT_PORT}",
        "initial-advertise-peer-urls": f"{settings.peer_scheme}://{own_host}:{PEER_PORT}",
        "initial-cluster": initial_cluster(settings, names, POD_NAMESPACE_REF),
        "initial-cluster-state": "new",
        "initial-cluster-token": names.initial_cluster_token,
        "auto-compaction-mode": settings.auto_compaction_mode,
        "auto-compaction-retention": settings.auto_compaction_retention,
        "quota-backend-bytes": settings.quota_backend_bytes,
    }


def etcd_config_text(settings: EtcdSettings, names: EtcdNames) -> str:
    """The fixed part of etcd's config file (YAML; strings JSON-quoted, numbers bare, as etcd's
    typed fields want). `$(POD_NAME)` and `$(POD_NAMESPACE)` are expanded by the kubelet."""
    fixed: dict[str, object] = {
        k: v for k, v in etcd_flags(settings, names).items() if k not in MEMBERSHIP_FLAGS
    }
    fixed.update(CONFIG_FILE_DEFAULTS)
    fixed.update(peer_tls_config(settings))  # ours: mutual TLS between members, when set
    fixed.update(client_tls_config(settings))  # ours: a TLS client listener, when set
    if settings.corruption_checks:  # ours, beyond the operator's flags
        version = image_etcd_version(settings.image)
        fixed.update(corruption_check_config(version, settings.corrupt_check_interval))
    return "\n".join(f"{key}: {json.dumps(value)}" for key, value in fixed.items())


def members_configmap(settings: EtcdSettings, names: EtcdNames, identity: str = "") -> dict[str, object]:
    """The files every member reads: the initial cluster, the client URLs and, once the
    component drew it, the stack's identity (none: a bootstrap takes the cluster's token alone)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": object_metadata(names, names.members_configmap),
        "data": with_identity(
            {
                INITIAL_CLUSTER_KEY: initial_cluster(settings, names, names.namespace),
                CLIENT_URLS_KEY: ",".join(names.member_client_urls(settings.replicas)),
            },
            identity,
        ),
    }


def with_identity(data: Mapping[str, str], identity: str | None) -> dict[str, str]:
    """The members ConfigMap's data with the stack's identity, when there is one."""
    return {**data, IDENTITY_KEY: identity} if identity else dict(data)


def bootstrap_marker(names: EtcdNames) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": object_metadata(
            names, names.bootstrap_marker, {"app.kubernetes.io/component": MARKER_COMPONENT_LABEL}
        ),
        "data": {
            MARKER_KEY: (
                f"The etcd cluster {names.initial_cluster_token} bootstrapped: a member with no data "
                "and no member with quorum waits instead of bootstrapping a new empty cluster. "
                "Delete this ConfigMap only to start over with an empty cluster on purpose."
            )
        },
    }


def _common_env() -> list[dict[str, object]]:
    return [
        env_var("CLUSTER_DIR", CLUSTER_DIR),
        env_var("BOOTSTRAP_MARKER", f"{MARKER_DIR}/{MARKER_KEY}"),
    ]


def member_env(settings: EtcdSettings, names: EtcdNames) -> list[dict[str, object]]:
    own_host = names.member_host(POD_NAME_REF, POD_NAMESPACE_REF)
    return [
        downward_env("POD_NAME", "metadata.name"),
        downward_env("POD_NAMESPACE", "metadata.namespace"),
        downward_env("POD_IP", "status.podIP"),
        env_var("MEMBER_NAME", POD_NAME_REF),
        env_var("MEMBER_PEER_URL", f"{settings.peer_scheme}://{own_host}:{PEER_PORT}"),
        env_var("MEMBER_CLIENT_URL", f"http://{own_host}:{CLIENT_PORT}"),
        # What this member answers the others before one switches its peer URL to https.
        env_var("PEER_CERTIFICATE", "yes" if settings.peer_tls_secret else "no"),
        *_common_env(),
        *_evidence_env(names),
    ]


def _evidence_env(names: EtcdNames) -> list[dict[str, object]]:
    """What a member answers the others, and where a person's decision is read."""
    return [
        env_var("EVIDENCE_PORT", str(EVIDENCE_PORT)),
        env_var("EVIDENCE_FILE", EVIDENCE_FILE),
        env_var("DECISION_FILE", DECISION_FILE),
        env_var("RECOVERY_CONFIGMAP", names.recovery_configmap),
    ]


def cluster_mounts() -> list[dict[str, object]]:
    return [
        {"name": CLUSTER_VOLUME, "mountPath": CLUSTER_DIR, "readOnly": True},
        {"name": MARKER_VOLUME, "mountPath": MARKER_DIR, "readOnly": True},
    ]


def recovery_mount() -> dict[str, object]:
    """A person's decision (the optional recovery ConfigMap), read-only."""
    return {"name": RECOVERY_VOLUME, "mountPath": RECOVERY_DIR, "readOnly": True}


def member_mounts() -> list[dict[str, object]]:
    """What a member's own steps read besides the cluster files: the member script itself, a
    person's decision, and the state dir where its answer to the others is kept."""
    return [
        {"name": SCRIPTS_VOLUME, "mountPath": SCRIPTS_DIR, "readOnly": True},
        *cluster_mounts(),
        recovery_mount(),
        {"name": STATE_VOLUME, "mountPath": STATE_DIR},
    ]


def scripts_container(settings: EtcdSettings) -> dict[str, object]:
    """The pod's first init container: writes the member script into SCRIPTS_VOLUME, its one copy
    in the pod template, which every member step then runs (`member_step_container`)."""
    return {
        "name": SCRIPTS_CONTAINER,
        "image": settings.snapshot_etcdctl_image,
        "command": [
            "/bin/sh",
            "-c",
            INSTALL_SCRIPTS,
            "install-scripts",
            SCRIPTS_DIR,
            SCRIPT_NAME,
            member_script(),
        ],
        "securityContext": container_security_context(settings),
        "volumeMounts": [{"name": SCRIPTS_VOLUME, "mountPath": SCRIPTS_DIR}],
    }


def member_step_container(settings: EtcdSettings, name: str, task: str) -> dict[str, object]:
    """A tools-image container of the etcd pod running one task of the member script, from the
    copy the scripts container wrote (its mount is in `member_mounts`)."""
    return {
        "name": name,
        "image": settings.snapshot_etcdctl_image,
        "command": ["/bin/sh", f"{SCRIPTS_DIR}/{SCRIPT_NAME}", task],
        "securityContext": container_security_context(settings),
    }


def join_container(
    settings: EtcdSettings,
    names: EtcdNames,
    data_volume: str,
    lost_cluster_env: Sequence[dict[str, object]] = (),
    lost_cluster_mounts: Sequence[dict[str, object]] = (),
) -> dict[str, object]:
    """The init container that writes etcd's config file (restore.py adds what it needs to ask
    for a restore: `lost_cluster_env` and `lost_cluster_mounts`)."""
    return config_writer_container(
        settings, names, data_volume, "member-join", "join", lost_cluster_env, lost_cluster_mounts
    )


def config_writer_container(
    settings: EtcdSettings,
    names: EtcdNames,
    data_volume: str,
    name: str,
    task: str,
    extra_env: Sequence[dict[str, object]],
    extra_mounts: Sequence[dict[str, object]],
) -> dict[str, object]:
    """A tools-image container running a member script task that may write etcd's config file
    into the data volume's member: `join`, or restore.py's `restore`."""
    return {
        **member_step_container(settings, name, task),
        "env": [
            *member_env(settings, names),
            env_var("DATA_DIR", DATA_DIR),
            env_var("CONFIG_FILE", CONFIG_FILE),
            env_var("ETCD_CONFIG", etcd_config_text(settings, names)),
            *extra_env,
        ],
        "volumeMounts": [
            {"name": data_volume, "mountPath": DATA_DIR},
            {"name": CONFIG_VOLUME, "mountPath": CONFIG_DIR},
            *extra_mounts,
            *member_mounts(),
        ],
    }


def promote_container(settings: EtcdSettings, names: EtcdNames, data_volume: str) -> dict[str, object]:
    """The container beside etcd, for the pod's life: it promotes a learner once it has caught up,
    answers the other members on the evidence port (this member holds data, even while its etcd
    is down), and recovers the cluster from this member's data when it is the survivor (it reads
    the data dir, rewrites etcd's config file and stops this pod's etcd: the pod shares one
    process namespace). It is ready only once its member votes: a learner answers /health like a
    voter (measured on 3.4.23 and 3.5.1) yet refuses linearizable requests, so without this gate
    the client Service would send brokers to it and a rolling update would move on before it
    counts for quorum."""
    container: dict[str, object] = {
        **member_step_container(settings, "member-promote", "promote"),
        "env": [
            *member_env(settings, names),
            env_var("VOTING_FILE", VOTING_FILE),
            env_var("DATA_DIR", DATA_DIR),
            env_var("CONFIG_FILE", CONFIG_FILE),
            env_var("CONFIRM_ROUNDS", str(CONFIRM_ROUNDS)),
            env_var("WATCH_INTERVAL_S", str(WATCH_INTERVAL_S)),
        ],
        "ports": [{"name": "evidence", "containerPort": EVIDENCE_PORT}],
        "volumeMounts": [
            *member_mounts(),
            {"name": data_volume, "mountPath": DATA_DIR, "readOnly": True},
            {"name": CONFIG_VOLUME, "mountPath": CONFIG_DIR},
        ],
        # An idle shell: the smallest request a scheduler honours.
        "resources": {"requests": {"cpu": "5m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
        # The voting gate, with probes on or off: a member that started as a learner is ready
        # once promoted; one that started `new` (the bootstrap, a restart on its data, a restore)
        # at once, so that OrderedReady (probes off) still creates member 1 after member 0 of a
        # first bootstrap, which has no quorum alone. A rolling update or a drain (the
        # PodDisruptionBudget counts ready pods) thus never moves on past an unpromoted learner.
        "readinessProbe": {
            "exec": {"command": ["/bin/sh", "-c", f'test -f "{VOTING_FILE}"']},
            "periodSeconds": VOTING_PROBE_PERIOD_S,
        },
    }
    return container


def etcd_config_mount() -> dict[str, object]:
    return {"name": CONFIG_VOLUME, "mountPath": CONFIG_DIR, "readOnly": True}


def membership_volumes(names: EtcdNames) -> list[dict[str, object]]:
    return [
        {"name": SCRIPTS_VOLUME, "emptyDir": {}},
        {"name": CONFIG_VOLUME, "emptyDir": {}},
        {"name": STATE_VOLUME, "emptyDir": {}},
        *_configmap_volumes(names),
        _recovery_volume(names),
    ]


def _configmap_volumes(names: EtcdNames) -> list[dict[str, object]]:
    return [
        {"name": CLUSTER_VOLUME, "configMap": {"name": names.members_configmap}},
        {"name": MARKER_VOLUME, "configMap": {"name": names.bootstrap_marker, "optional": True}},
    ]


def _recovery_volume(names: EtcdNames) -> dict[str, object]:
    return {"name": RECOVERY_VOLUME, "configMap": {"name": names.recovery_configmap, "optional": True}}


def scale_down_job(settings: EtcdSettings, names: EtcdNames) -> dict[str, object]:
    """Removes the members above `etcdReplicas`; applied before the StatefulSet changes, and
    replaced (so run again) whenever its spec changes."""
    task_labels = {"app.kubernetes.io/component": COMPONENT_LABEL}
    container: dict[str, object] = {
        "name": "member-shrink",
        "image": settings.snapshot_etcdctl_image,
        "command": ["/bin/sh", "-c", scale_down_script(), SCALE_DOWN_SCRIPT_NAME],
        "securityContext": container_security_context(settings),
        "env": [
            *_common_env(),
            env_var("TARGET_REPLICAS", str(settings.replicas)),
            # Every member there may be, those about to go included (the members ConfigMap
            # already lists only those that stay).
            env_var("CLIENT_URLS", ",".join(names.member_client_urls(MAX_REPLICAS))),
            env_var("MEMBER_PREFIX", names.statefulset),
            env_var("SHRINK_TIMEOUT_S", str(SHRINK_TIMEOUT_S)),
        ],
        "volumeMounts": cluster_mounts(),
    }
    metadata = object_metadata(names, names.scale_down_job, task_labels)
    # A Job that failed (a removal refused for quorum) is replaced, so run again, by the next
    # `pulumi up` once the cause is fixed, instead of being awaited again as it is: pulumi-kubernetes
    # provider.go, Diff (`metadata.ReplaceUnready`: a Job that is not ready is replaced).
    metadata["annotations"] = {REPLACE_UNREADY_ANNOTATION: "true"}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": SHRINK_JOB_DEADLINE_S,
            "template": task_pod_template(
                settings, names, task_labels, [container], _configmap_volumes(names)
            ),
        },
    }
