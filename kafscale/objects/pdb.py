"""The PodDisruptionBudget: voluntary evictions take at most one member at a time."""

from __future__ import annotations

from kafscale.config.naming import EtcdNames
from kafscale.objects.metadata import label_selector, object_metadata


def pod_disruption_budget(names: EtcdNames) -> dict[str, object]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": object_metadata(names, names.pod_disruption_budget),
        "spec": {"maxUnavailable": 1, "selector": label_selector(names)},
    }
