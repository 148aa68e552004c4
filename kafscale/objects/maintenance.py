"""The maintenance CronJobs: defrag + NOSPACE disarm, and the same script in check-only mode."""

from __future__ import annotations

from kafscale.config.naming import EtcdNames
from kafscale.config.settings import EtcdSettings
from kafscale.config.tmpfs_footprint import DEFRAG_COPY_DIVISOR, DEFRAG_RESERVE_BYTES
from kafscale.objects.containers import env_var, packaged_script, shell_flag
from kafscale.objects.pod_security import container_security_context
from kafscale.objects.task_pod import task_cronjob, task_pod_template

SCRIPT_NAME = "etcd-maintenance.sh"
ACTIVE_DEADLINE_SECONDS = 1800
COMPONENT_LABEL = "etcd-maintenance"


def maintenance_script() -> str:
    return packaged_script(SCRIPT_NAME)


def _cronjob(
    settings: EtcdSettings, names: EtcdNames, name: str, task: str, schedule: str, check_only: bool
) -> dict[str, object]:
    task_labels = {"app.kubernetes.io/component": COMPONENT_LABEL, "kafscale.io/etcd-task": task}
    env = [
        env_var("ETCD_MEMBERS", ",".join(names.member_client_urls(settings.replicas))),
        env_var("ETCDCTL_API", "3"),
        env_var("ETCD_QUOTA_BYTES", str(settings.quota_backend_bytes)),
        env_var("THRESHOLD_PCT", str(settings.maintenance_size_threshold_pct)),
        env_var("CHECK_ONLY", shell_flag(check_only)),
        env_var("FRAGMENTATION_PCT", str(settings.maintenance_fragmentation_pct)),
        env_var("MIN_DEFRAG_BYTES", str(settings.maintenance_min_defrag_bytes)),
        env_var("MOVE_LEADER", shell_flag(settings.maintenance_move_leader)),
    ]
    if settings.storage_memory:
        env += [
            env_var("ETCD_MEMORY_LIMIT_BYTES", str(settings.memory_limit_bytes)),
            env_var("DEFRAG_RESERVE_BYTES", str(DEFRAG_RESERVE_BYTES)),
            env_var("DEFRAG_COPY_DIVISOR", str(DEFRAG_COPY_DIVISOR)),
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
