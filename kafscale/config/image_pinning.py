"""Images named by a tag alone. A registry lets a tag be pushed again, so pods started at different
times (a rolling update, a member that rejoins, a restore) may run different images; a digest
(`@sha256:...`) names one image for good. Preview says so once, naming every unpinned image."""

from __future__ import annotations

from kafscale.config import keys
from kafscale.config.rules import shown
from kafscale.config.settings import EtcdSettings


def unpinned_images(settings: EtcdSettings) -> list[tuple[str, str]]:
    """(key, image) for each image the rendered pods run that carries no digest."""
    if not settings.managed:
        return []
    images = [
        (keys.IMAGE.full_name, settings.image),
        (keys.ETCDCTL_IMAGE.full_name, settings.snapshot_etcdctl_image),
    ]
    if settings.snapshot_enabled:
        images.append((keys.SNAPSHOT_IMAGE.full_name, settings.snapshot_image))
    return [(key, image) for key, image in images if "@" not in image]  # image_reference checked the form


UNPINNED = "a tag without a digest can be pushed again"


def pinning_warning(settings: EtcdSettings) -> str | None:
    """One warning for every unpinned image, or None when each has a digest."""
    unpinned = unpinned_images(settings)
    if not unpinned:
        return None
    named = "; ".join(f"{key} {shown(image)}" for key, image in unpinned)
    return (
        f"{named}: {UNPINNED}, so pods started at different times may run different images; pin each "
        "as <image>@sha256:<digest> (docs/etcd-versions.md)"
    )
