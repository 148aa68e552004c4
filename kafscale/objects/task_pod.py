"""The pod of every Job and CronJob we render (maintenance, scale-down)."""

from __future__ import annotations

from collections.abc import Mapping

from kafscale.naming import EtcdNames
from kafscale.objects.metadata import task_pod_labels
from kafscale.objects.pod_security import pod_security_context
from kafscale.settings import EtcdSettings


def task_pod_template(
    settings: EtcdSettings,
    names: EtcdNames,
    task_labels: Mapping[str, str],
    containers: list[dict[str, object]],
    volumes: list[dict[str, object]] | None = None,
) -> dict[str, object]:
    """A pod that runs once (`restartPolicy: Never`), with no API token, the restricted security
    context, and labels outside the members' selectors."""
    spec: dict[str, object] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": pod_security_context(settings),
        "containers": containers,
    }
    if volumes:
        spec["volumes"] = volumes
    return {"metadata": {"labels": task_pod_labels(names, task_labels)}, "spec": spec}
