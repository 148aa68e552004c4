"""Object metadata shared by every builder."""

from __future__ import annotations

from kafscale.naming import EtcdNames


def object_metadata(names: EtcdNames, name: str) -> dict[str, object]:
    return {"name": name, "namespace": names.namespace, "labels": dict(names.labels)}


def label_selector(names: EtcdNames) -> dict[str, object]:
    return {"matchLabels": dict(names.labels)}
