"""Object metadata shared by every builder: the one place an object's name, namespace and labels
are put together."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from kafscale.naming import EtcdNames


def object_labels(
    names: EtcdNames, extra: Mapping[str, str] | Iterable[tuple[str, str]] = ()
) -> dict[str, str]:
    """`extra` labels plus the two selector labels, which always win: no extra label can move an
    object out of its cluster's selectors."""
    return {**dict(extra), **names.labels}


def object_metadata(
    names: EtcdNames, name: str, extra_labels: Mapping[str, str] | Iterable[tuple[str, str]] = ()
) -> dict[str, object]:
    return {"name": name, "namespace": names.namespace, "labels": object_labels(names, extra_labels)}


def label_selector(names: EtcdNames) -> dict[str, object]:
    return {"matchLabels": dict(names.labels)}
