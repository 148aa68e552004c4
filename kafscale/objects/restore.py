"""Restore of a lost cluster, with backups on: two init containers after `member-join`.

- `snapshot-fetch` (the snapshot image, scripts/etcd-snapshot-s3.sh `fetch`): when no marker says
  the cluster bootstrapped, looks for this cluster's snapshots, the second witness that it
  existed (none: `member-restore` bootstraps; some: it decides on evidence as for a lost cluster,
  with the snapshot a restore would take already fetched). When `member-join`
  found the whole cluster gone (every other member answered that it holds no data) and asked for
  a restore, downloads the newest snapshot in this cluster's folder whose checksum matches and
  names it (another cluster's snapshot is never taken); no usable snapshot is a
  failure (the kubelet retries) unless `etcdStartEmptyWhenLost` is on, and a bucket that cannot
  be listed is always one: an S3 error is never taken for "no snapshot".
- `member-restore` (the tools image, scripts/etcd-member.sh `restore`): restores that snapshot
  into the data dir under a cluster token naming the snapshot, then writes etcd's config file; a
  member that finds quorum back in the meantime joins it instead.

A member whose data is gone never restores while another member holds data or does not answer:
it rejoins, or waits (membership.py, scripts/etcd-member.sh). When no restore is asked for, both
steps only look and exit.
"""

from __future__ import annotations

from kafscale.config.naming import EtcdNames
from kafscale.config.settings import EtcdSettings
from kafscale.objects.containers import downward_env, env_var, shell_flag
from kafscale.objects.membership import DECISION_FILE, config_writer_container, recovery_mount
from kafscale.objects.pod_security import container_security_context
from kafscale.objects.snapshot import (
    ACTIVE_DEADLINE_SECONDS,
    TMP_DIR,
    TMP_VOLUME,
    s3_command,
    s3_env,
)

RESTORE_VOLUME = "restore"
RESTORE_DIR = "/var/lib/etcd-restore"


def join_restore_env(settings: EtcdSettings) -> list[dict[str, object]]:
    """What `member-join` needs to decide on a lost cluster."""
    env = [
        env_var("START_EMPTY_WHEN_LOST", shell_flag(settings.start_empty_when_lost)),
    ]
    if settings.snapshot_enabled:
        env.append(env_var("RESTORE_DIR", RESTORE_DIR))
    return env


def restore_mount() -> dict[str, object]:
    return {"name": RESTORE_VOLUME, "mountPath": RESTORE_DIR}


def join_restore_mounts(settings: EtcdSettings) -> list[dict[str, object]]:
    return [restore_mount()] if settings.snapshot_enabled else []


def fetch_container(settings: EtcdSettings, names: EtcdNames) -> dict[str, object]:
    return {
        "name": "snapshot-fetch",
        "image": settings.snapshot_image,
        "command": s3_command("fetch"),
        "env": [
            env_var("RESTORE_DIR", RESTORE_DIR),
            env_var("START_EMPTY_WHEN_LOST", shell_flag(settings.start_empty_when_lost)),
            # A snapshot without its checksum younger than this is an upload in flight: wait.
            env_var("UPLOAD_DEADLINE_S", str(ACTIVE_DEADLINE_SECONDS)),
            # With no marker, a person's `restore <snapshot>` or `start-empty` decides.
            env_var("DECISION_FILE", DECISION_FILE),
            env_var("RECOVERY_CONFIGMAP", names.recovery_configmap),
            downward_env("POD_NAMESPACE", "metadata.namespace"),
            *s3_env(settings, names),
        ],
        "volumeMounts": [restore_mount(), {"name": TMP_VOLUME, "mountPath": TMP_DIR}, recovery_mount()],
        "securityContext": container_security_context(settings),
    }


def restore_container(settings: EtcdSettings, names: EtcdNames, data_volume: str) -> dict[str, object]:
    return config_writer_container(
        settings,
        names,
        data_volume,
        "member-restore",
        "restore",
        join_restore_env(settings),
        [restore_mount()],
    )


def restore_init_containers(
    settings: EtcdSettings, names: EtcdNames, data_volume: str
) -> list[dict[str, object]]:
    """After `member-join`."""
    if not settings.snapshot_enabled:
        return []
    return [fetch_container(settings, names), restore_container(settings, names, data_volume)]


def restore_volumes(settings: EtcdSettings) -> list[dict[str, object]]:
    if not settings.snapshot_enabled:
        return []
    return [{"name": RESTORE_VOLUME, "emptyDir": {}}, {"name": TMP_VOLUME, "emptyDir": {}}]
