"""The snapshot CronJob: the operator's `<clusterName>-etcd-snapshot`, checked and pruned.

An init container (the tools image: BusyBox, etcdctl, etcdutl) saves a snapshot of one healthy
member into an emptyDir, checks it and writes its sha256; the main container (the AWS CLI image)
uploads both to `s3://<bucket>/<prefix>/<identity>/` (EtcdNames.snapshot_identity: this
cluster's folder, no other's) and prunes that folder to the newest `etcdSnapshotKeep`.
"""

from __future__ import annotations

from kafscale.config.naming import EtcdNames
from kafscale.config.settings import EtcdSettings
from kafscale.objects.containers import literal_env, packaged_script, shell_flag
from kafscale.objects.pod_security import container_security_context
from kafscale.objects.task_pod import task_cronjob, task_pod_template

SAVE_SCRIPT_NAME = "etcd-snapshot-save.sh"
S3_SCRIPT_NAME = "etcd-snapshot-s3.sh"
# A snapshot of a full 8 GiB backend, saved and uploaded, well within the hourly schedule.
ACTIVE_DEADLINE_SECONDS = 3000
COMPONENT_LABEL = "etcd-snapshot"
TASK_LABEL = "snapshot"
SNAPSHOT_VOLUME = "snapshot"
SNAPSHOT_DIR = "/snapshot"
TMP_VOLUME = "tmp"
TMP_DIR = "/tmp"
# The credentials Secret's keys (the operator's) -> the AWS CLI's variables.
CREDENTIAL_KEYS = (
    ("AWS_ACCESS_KEY_ID", "KAFSCALE_S3_ACCESS_KEY"),
    ("AWS_SECRET_ACCESS_KEY", "KAFSCALE_S3_SECRET_KEY"),
    ("AWS_SESSION_TOKEN", "KAFSCALE_S3_SESSION_TOKEN"),
)


def save_script() -> str:
    return packaged_script(SAVE_SCRIPT_NAME)


def s3_script() -> str:
    return packaged_script(S3_SCRIPT_NAME)


def s3_command(task: str) -> list[str]:
    """The snapshot image's command for one task of the S3 script (`upload` or `fetch`)."""
    return ["/bin/sh", "-c", s3_script(), S3_SCRIPT_NAME, task]


def upload_env(settings: EtcdSettings, names: EtcdNames) -> list[dict[str, object]]:
    return [
        {"name": "SNAPSHOT_DIR", "value": SNAPSHOT_DIR},
        *s3_env(settings, names),
        {"name": "SNAPSHOT_KEEP", "value": str(settings.snapshot_keep)},
        {"name": "SNAPSHOT_CREATE_BUCKET", "value": shell_flag(settings.snapshot_create_bucket)},
        {"name": "SNAPSHOT_PROTECT_BUCKET", "value": shell_flag(settings.snapshot_protect_bucket)},
    ]


def s3_env(settings: EtcdSettings, names: EtcdNames) -> list[dict[str, object]]:
    """Where the snapshots are and how to reach them: the same for upload and fetch."""
    # What a user wrote reaches the container exactly: the kubelet would expand `$(VAR)` in it.
    env: list[dict[str, object]] = [
        literal_env("SNAPSHOT_BUCKET", settings.snapshot_bucket),
        literal_env("SNAPSHOT_PREFIX", settings.snapshot_prefix),
        {"name": "SNAPSHOT_IDENTITY", "value": names.snapshot_identity},
        # The AWS CLI keeps its cache and config under HOME: a writable emptyDir, not the image's
        # read-only root.
        {"name": "HOME", "value": TMP_DIR},
    ]
    if settings.snapshot_s3_endpoint:
        env.append(literal_env("AWS_ENDPOINT_URL", settings.snapshot_s3_endpoint))
    if settings.snapshot_s3_region:
        env += [
            literal_env("AWS_REGION", settings.snapshot_s3_region),
            literal_env("AWS_DEFAULT_REGION", settings.snapshot_s3_region),
        ]
    if settings.snapshot_credentials_secret:
        env += [
            {
                "name": variable,
                "valueFrom": {
                    "secretKeyRef": {
                        "name": settings.snapshot_credentials_secret,
                        "key": key,
                        "optional": True,
                    }
                },
            }
            for variable, key in CREDENTIAL_KEYS
        ]
    return env


def snapshot_cronjob(settings: EtcdSettings, names: EtcdNames) -> dict[str, object]:
    task_labels = {"app.kubernetes.io/component": COMPONENT_LABEL, "kafscale.io/etcd-task": TASK_LABEL}
    save_env = [
        {"name": "ETCD_MEMBERS", "value": ",".join(names.member_client_urls(settings.replicas))},
        {"name": "ETCDCTL_API", "value": "3"},
        {"name": "SNAPSHOT_DIR", "value": SNAPSHOT_DIR},
    ]
    snapshot_mount = {"name": SNAPSHOT_VOLUME, "mountPath": SNAPSHOT_DIR}
    save: dict[str, object] = {
        "name": "snapshot-save",
        "image": settings.snapshot_etcdctl_image,
        "command": ["/bin/sh", "-c", save_script()],
        "env": save_env,
        "volumeMounts": [snapshot_mount],
        "securityContext": container_security_context(settings),
    }
    upload: dict[str, object] = {
        "name": "upload",
        "image": settings.snapshot_image,
        "command": s3_command("upload"),
        "env": upload_env(settings, names),
        "volumeMounts": [{**snapshot_mount, "readOnly": True}, {"name": TMP_VOLUME, "mountPath": TMP_DIR}],
        "securityContext": container_security_context(settings),
    }
    volumes: list[dict[str, object]] = [
        {"name": SNAPSHOT_VOLUME, "emptyDir": {}},
        {"name": TMP_VOLUME, "emptyDir": {}},
    ]
    pod = task_pod_template(settings, names, task_labels, [upload], volumes, init_containers=[save])
    return task_cronjob(
        names, names.snapshot_cronjob, task_labels, settings.snapshot_schedule, ACTIVE_DEADLINE_SECONDS, pod
    )


def snapshot_cronjobs(settings: EtcdSettings, names: EtcdNames) -> list[dict[str, object]]:
    return [snapshot_cronjob(settings, names)] if settings.snapshot_enabled else []
