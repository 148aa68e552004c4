from __future__ import annotations

import os

import pytest
from hypothesis import settings

from tests.support import ETCD_BUILD_LABELS, require_etcd_binary

# Property tests explore new inputs on a developer's machine; under CI they replay a fixed set, so
# that a run fails only for a change, never for a draw.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(params=ETCD_BUILD_LABELS)
def etcd_binary(request: pytest.FixtureRequest) -> str:
    """Each etcd build this project tests against."""
    return require_etcd_binary(request.param)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest tests first, so that under `-n` the others run beside them, not after."""
    items.sort(key=lambda item: not item.get_closest_marker("longest"))
