"""Object metadata shared by every builder: the one place an object's name, namespace and labels
are put together."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from kafscale.config.naming import SELECTOR_LABEL_NAMES, TASK_APP_LABEL, EtcdNames


def object_labels(
    names: EtcdNames, extra: Mapping[str, str] | Iterable[tuple[str, str]] = ()
) -> dict[str, str]:
    """`extra` labels plus the two selector labels, which always win: no extra label can move an
    object out of its cluster's selectors."""
    return {**dict(extra), **names.labels}


def task_pod_labels(names: EtcdNames, extra: Mapping[str, str]) -> dict[str, str]:
    """Labels of the pods a Job or CronJob runs: their own `app`, never the members' selector.
    A task pod the Services, the PodDisruptionBudget or the members' anti-affinity selected would
    get broker traffic on a port nothing serves, count as a member in the budget, and be kept off
    every node that runs a member."""
    app_label, cluster_label = SELECTOR_LABEL_NAMES
    return {**dict(extra), app_label: TASK_APP_LABEL, cluster_label: names.cluster}


def object_metadata(
    names: EtcdNames, name: str, extra_labels: Mapping[str, str] | Iterable[tuple[str, str]] = ()
) -> dict[str, object]:
    return {"name": name, "namespace": names.namespace, "labels": object_labels(names, extra_labels)}


def label_selector(names: EtcdNames) -> dict[str, object]:
    return {"matchLabels": dict(names.labels)}
