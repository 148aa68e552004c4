"""The pod of every Job and CronJob we render (maintenance, snapshot, scale-down), and the
CronJob around it."""

from __future__ import annotations

from collections.abc import Mapping

from kafscale.config.naming import EtcdNames
from kafscale.config.settings import EtcdSettings
from kafscale.objects.metadata import object_metadata, task_pod_labels
from kafscale.objects.pod_security import pod_security_context


def task_pod_template(
    settings: EtcdSettings,
    names: EtcdNames,
    task_labels: Mapping[str, str],
    containers: list[dict[str, object]],
    volumes: list[dict[str, object]] | None = None,
    init_containers: list[dict[str, object]] | None = None,
) -> dict[str, object]:
    """A pod that runs once (`restartPolicy: Never`), with no API token, the restricted security
    context, and labels outside the members' selectors."""
    spec: dict[str, object] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": pod_security_context(settings),
    }
    if init_containers:
        spec["initContainers"] = init_containers
    spec["containers"] = containers
    if volumes:
        spec["volumes"] = volumes
    return {"metadata": {"labels": task_pod_labels(names, task_labels)}, "spec": spec}


# A CronJob never runs two of its Jobs at once and keeps the last three of each outcome.
JOB_HISTORY = 3


def task_cronjob(
    names: EtcdNames,
    name: str,
    task_labels: Mapping[str, str],
    schedule: str,
    active_deadline_s: int,
    pod_template: dict[str, object],
) -> dict[str, object]:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": object_metadata(names, name, task_labels),
        "spec": {
            "schedule": schedule,
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": JOB_HISTORY,
            "failedJobsHistoryLimit": JOB_HISTORY,
            "jobTemplate": {
                "metadata": {"labels": task_pod_labels(names, task_labels)},
                "spec": {"activeDeadlineSeconds": active_deadline_s, "template": pod_template},
            },
        },
    }
