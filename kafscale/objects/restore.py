"""Restore of a lost cluster, with backups on: one init container before `member-join`, two after.

- `snapshot-list` (the snapshot image, scripts/etcd-snapshot-s3.sh `list`): for a member with no
  data, the snapshot names in the bucket, newest first, so that `member-join` can tell members
  restored from one of them (which it joins in restoring) from members that may hold data (over
  which nothing is ever restored).
- `snapshot-fetch` (the snapshot image, scripts/etcd-snapshot-s3.sh `fetch`): when `member-join`
  found the whole cluster gone and asked for a restore, downloads the newest snapshot whose
  checksum matches; no usable snapshot or no bucket is a failure (the kubelet retries) unless
  `etcdStartEmptyWhenLost` is on.
- `member-restore` (the tools image, scripts/etcd-member.sh `restore`): restores that snapshot
  into the data dir under a cluster token naming the snapshot, then writes etcd's config file; a
  member that finds quorum back in the meantime joins it instead.

A member whose data is gone while any other member answers never restores: it rejoins
(membership.py). When no restore is asked for, the three steps only look and exit.
"""

from __future__ import annotations

from kafscale.naming import DATA_DIR, EtcdNames
from kafscale.objects.membership import config_writer_container, env_var
from kafscale.objects.pod_security import container_security_context
from kafscale.objects.snapshot import TMP_DIR, TMP_VOLUME, s3_command, s3_env, shell_flag
from kafscale.settings import EtcdSettings

RESTORE_VOLUME = "restore"
RESTORE_DIR = "/var/lib/etcd-restore"
# How long no member may answer at all before a member takes the cluster for lost.
LOST_AFTER_S = 15


def join_restore_env(settings: EtcdSettings) -> list[dict[str, object]]:
    """What `member-join` needs to decide on a lost cluster."""
    env = [
        env_var("START_EMPTY_WHEN_LOST", shell_flag(settings.start_empty_when_lost)),
        env_var("LOST_AFTER_S", str(LOST_AFTER_S)),
    ]
    if settings.snapshot_enabled:
        env.append(env_var("RESTORE_DIR", RESTORE_DIR))
    return env


def restore_mount() -> dict[str, object]:
    return {"name": RESTORE_VOLUME, "mountPath": RESTORE_DIR}


def join_restore_mounts(settings: EtcdSettings) -> list[dict[str, object]]:
    return [restore_mount()] if settings.snapshot_enabled else []


def _s3_container(
    settings: EtcdSettings,
    name: str,
    task: str,
    data_env: list[dict[str, object]],
    data_mounts: list[dict[str, object]],
) -> dict[str, object]:
    return {
        "name": name,
        "image": settings.snapshot_image,
        "command": s3_command(task),
        "env": [
            *data_env,
            env_var("RESTORE_DIR", RESTORE_DIR),
            env_var("START_EMPTY_WHEN_LOST", shell_flag(settings.start_empty_when_lost)),
            *s3_env(settings),
        ],
        "volumeMounts": [*data_mounts, restore_mount(), {"name": TMP_VOLUME, "mountPath": TMP_DIR}],
        "securityContext": container_security_context(settings),
    }


def list_container(settings: EtcdSettings, data_volume: str) -> dict[str, object]:
    """Reads the data dir only to skip the listing when this member has data."""
    return _s3_container(
        settings,
        "snapshot-list",
        "list",
        [env_var("DATA_DIR", DATA_DIR)],
        [{"name": data_volume, "mountPath": DATA_DIR, "readOnly": True}],
    )


def fetch_container(settings: EtcdSettings) -> dict[str, object]:
    return _s3_container(settings, "snapshot-fetch", "fetch", [], [])


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


def list_init_containers(settings: EtcdSettings, data_volume: str) -> list[dict[str, object]]:
    """Before `member-join`."""
    return [list_container(settings, data_volume)] if settings.snapshot_enabled else []


def restore_init_containers(
    settings: EtcdSettings, names: EtcdNames, data_volume: str
) -> list[dict[str, object]]:
    """After `member-join`."""
    if not settings.snapshot_enabled:
        return []
    return [fetch_container(settings), restore_container(settings, names, data_volume)]


def restore_volumes(settings: EtcdSettings) -> list[dict[str, object]]:
    if not settings.snapshot_enabled:
        return []
    return [{"name": RESTORE_VOLUME, "emptyDir": {}}, {"name": TMP_VOLUME, "emptyDir": {}}]
