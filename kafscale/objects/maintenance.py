"""The maintenance CronJobs: defrag + NOSPACE disarm, and the same script in check-only mode."""

from __future__ import annotations

from importlib import resources

from kafscale.naming import EtcdNames
from kafscale.objects.pod_security import container_security_context
from kafscale.objects.task_pod import task_cronjob, task_pod_template
from kafscale.settings import EtcdSettings
from kafscale.tmpfs_footprint import DEFRAG_COPY_DIVISOR, DEFRAG_RESERVE_BYTES

SCRIPT_NAME = "etcd-maintenance.sh"
ACTIVE_DEADLINE_SECONDS = 1800
COMPONENT_LABEL = "etcd-maintenance"


def maintenance_script() -> str:
    """The script text, verbatim from the package (tests run this very text)."""
    return resources.files("kafscale").joinpath("scripts", SCRIPT_NAME).read_text(encoding="utf-8")


def _cronjob(
    settings: EtcdSettings, names: EtcdNames, name: str, task: str, schedule: str, check_only: bool
) -> dict[str, object]:
    task_labels = {"app.kubernetes.io/component": COMPONENT_LABEL, "kafscale.io/etcd-task": task}
    env = [
        {"name": "ETCD_MEMBERS", "value": ",".join(names.member_client_urls(settings.replicas))},
        {"name": "ETCDCTL_API", "value": "3"},
        {"name": "ETCD_QUOTA_BYTES", "value": str(settings.quota_backend_bytes)},
        {"name": "THRESHOLD_PCT", "value": str(settings.maintenance_size_threshold_pct)},
        {"name": "CHECK_ONLY", "value": "1" if check_only else "0"},
    ]
    if settings.storage_memory:
        env += [
            {"name": "ETCD_MEMORY_LIMIT_BYTES", "value": str(settings.memory_limit_bytes)},
            {"name": "DEFRAG_RESERVE_BYTES", "value": str(DEFRAG_RESERVE_BYTES)},
            {"name": "DEFRAG_COPY_DIVISOR", "value": str(DEFRAG_COPY_DIVISOR)},
        ]
    container: dict[str, object] = {
        "name": "maintenance",
        "image": settings.snapshot_etcdctl_image,
        "command": ["/bin/sh", "-c", maintenance_script()],
        "env": env,
        "securityContext": container_security_context(settings),
    }
    pod = task_pod_template(settings, names, task_labels, [container])
    return task_cronjob(names, name, task_labels, schedule, ACTIVE_DEADLINE_SECONDS, pod)


def maintenance_cronjobs(settings: EtcdSettings, names: EtcdNames) -> list[dict[str, object]]:
    if not settings.maintenance_enabled:
        return []
    return [
        _cronjob(
            settings,
            names,
            names.maintenance_cronjob,
            "maintenance",
            settings.maintenance_schedule,
            check_only=False,
        ),
        _cronjob(
            settings,
            names,
            names.maintenance_check_cronjob,
            "maintenance-check",
            settings.maintenance_check_schedule,
            check_only=True,
        ),
    ]
