"""Run a Pulumi program under Pulumi's mock engine and record what it registered.

No CLI, no cluster: `pulumi.runtime.set_mocks` stands in for the engine, every resource's
outputs are its inputs (a `RandomId` also gets hex digits and a `RandomPassword` a stand-in of 32,
from its name: a render is the same each time, where `pulumi up` draws them once per stack), and
what the program would send to the Kubernetes provider is kept.
Used by `render` and by the tests, so both see exactly what `pulumi up` would send.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
import runpy
import sys
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks, settings
from pulumi.runtime.settings import SETTINGS, _get_rpc_manager
from pulumi.runtime.stack import wait_for_rpcs


@dataclass(frozen=True)
class RecordedResource:
    type_token: str
    name: str
    custom: bool
    inputs: dict[str, Any]
    parent_urn: str


@dataclass(frozen=True)
class ProgramRun:
    resources: tuple[RecordedResource, ...]
    exports: dict[str, Any]
    warnings: tuple[str, ...]

    def of_type(self, type_token: str) -> list[RecordedResource]:
        return [resource for resource in self.resources if resource.type_token == type_token]


STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference"
RANDOM_ID_TYPE = "random:index/randomId:RandomId"
RANDOM_PASSWORD_TYPE = "random:index/randomPassword:RandomPassword"


def stand_in_hex(name: str, byte_length: int) -> str:
    """The hex digits the mocks give the `RandomId` named `name`: from its name, not drawn."""
    return hashlib.sha256(name.encode()).hexdigest()[: 2 * byte_length]


class _RecordingMocks(mocks.Mocks):
    def __init__(self, deployed_outputs: Mapping[str, Any]) -> None:
        self.resources: list[RecordedResource] = []
        self.deployed_outputs = dict(deployed_outputs)

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(RecordedResource(args.typ, args.name, bool(args.custom), dict(args.inputs), ""))
        if args.typ == STACK_REFERENCE_TYPE:  # a stack's last deployment: what the caller gives
            return str(args.resource_id or args.name), {
                "name": args.resource_id,
                "outputs": self.deployed_outputs,
            }
        if args.typ == RANDOM_ID_TYPE:  # stands in for the random provider: the same digits each run
            digits = stand_in_hex(args.name, int(args.inputs["byteLength"]))
            return f"{args.name}-id", {**args.inputs, "hex": digits}
        if args.typ == RANDOM_PASSWORD_TYPE:  # a stand-in, never a password: the same each run
            return f"{args.name}-id", {**args.inputs, "result": stand_in_hex(args.name, 16)}
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


class _ParentRecordingMonitor(mocks.MockMonitor):
    """The mock monitor, also noting each registration's parent (MockResourceArgs lacks it)."""

    def __init__(self, recorder: _RecordingMocks) -> None:
        super().__init__(recorder)
        self.parents: dict[tuple[str, str], str] = {}

    def RegisterResource(self, request: Any) -> Any:
        self.parents[(request.type, request.name)] = request.parent
        return super().RegisterResource(request)


class _WarningCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


# The project and stack a run stands for unless told otherwise (Pulumi.yaml's name, the dev stack).
DEFAULT_PROJECT = "kafscale"
DEFAULT_STACK = "dev"


def run_program(
    program: Path | Callable[[], object],
    config: Mapping[str, str],
    project: str = DEFAULT_PROJECT,
    stack: str = DEFAULT_STACK,
    deployed_outputs: Mapping[str, Any] | None = None,
    secret_keys: Sequence[str] = (),
) -> ProgramRun:
    """Run `program` (a `__main__.py` path or a callable) with `config` (full keys -> strings).

    `deployed_outputs` are what a StackReference reads (the stack's last deployment: none by
    default); `secret_keys` are the config keys set with `--secret`. An exception the program raises
    propagates as itself; a RunError (a one-line error) without the failed run's frames.
    """
    recorder = _RecordingMocks(deployed_outputs or {})
    monitor = _ParentRecordingMonitor(recorder)
    collector = _WarningCollector()
    logger = logging.Logger("kafscale.offline.engine", level=logging.WARNING)
    logger.addHandler(collector)

    pulumi.runtime.set_all_config(dict(config), list(secret_keys))
    settings.set_root_resource(None)  # type: ignore[arg-type]  # a fresh stack per run
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # One engine thread, so the event loop the mocks open on it can be closed with the run.
    engine_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pulumi-mock-engine")
    loop.set_default_executor(engine_thread)
    failed = False
    try:
        mocks.set_mocks(recorder, project=project, stack=stack, preview=False, logger=logger, monitor=monitor)
        exports = loop.run_until_complete(_run_and_collect_exports(program))
    except pulumi.RunError as error:
        failed = True
        # A one-line error alone, without the frames of the failed run: they hold its outputs,
        # whose failed futures are finalized below rather than at some later garbage collection.
        error.__cause__ = error.__context__ = None
        raise error.with_traceback(None) from None
    except BaseException:
        failed = True  # anything else keeps its traceback: it is a bug to read
        raise
    finally:
        engine_thread.submit(_close_thread_event_loop).result()
        engine_thread.shutdown()
        loop.close()
        asyncio.set_event_loop(None)
        if failed:
            settings.set_root_resource(None)  # type: ignore[arg-type]
            _finalize_quietly()
    resources = tuple(
        replace(resource, parent_urn=monitor.parents.get((resource.type_token, resource.name), ""))
        for resource in recorder.resources
    )
    return ProgramRun(resources, exports, tuple(collector.messages))


def _finalize_quietly() -> None:
    """Collect what the run left, now: a failed `apply` leaves futures whose exception nothing
    retrieved, and asyncio logs each as it is finalized. Finalized at an arbitrary later point
    (inside another test's `ast.parse`, say) that logging can disturb the interpreter."""
    asyncio_logger = logging.getLogger("asyncio")
    disabled = asyncio_logger.disabled
    asyncio_logger.disabled = True
    try:
        gc.collect()
    finally:
        asyncio_logger.disabled = disabled


def _close_thread_event_loop() -> None:
    with contextlib.suppress(RuntimeError):
        thread_loop = asyncio.get_event_loop()
        thread_loop.close()
    asyncio.set_event_loop(None)


async def _run_and_collect_exports(program: Path | Callable[[], object]) -> dict[str, Any]:
    try:
        if isinstance(program, Path):
            _run_file(program)
        else:
            program()
        await wait_for_rpcs()
    except BaseException:
        # Let what the program started settle in this loop (an error raised in an `apply` stops
        # wait_for_rpcs at the first registration it fails), so the next run starts clean.
        await _drain_rpcs()
        raise
    root = settings.get_root_resource()
    outputs = getattr(root, "outputs", {})
    return await pulumi.Output.from_input(outputs).future() or {}


async def _drain_rpcs() -> None:
    """Await every registration and output the failed run left, their errors dropped."""
    manager = _get_rpc_manager()
    while manager.rpcs:
        with contextlib.suppress(Exception):
            await wait_for_rpcs(await_all_outstanding_tasks=False)
    manager.clear()
    with SETTINGS.lock:
        outputs = list(SETTINGS.outputs)
        SETTINGS.outputs.clear()
    await asyncio.gather(*outputs, return_exceptions=True)


def _run_file(path: Path) -> None:
    project_dir = str(path.parent.resolve())
    added = project_dir not in sys.path
    if added:
        sys.path.insert(0, project_dir)
    try:
        runpy.run_path(str(path), run_name="__main__")
    finally:
        if added:
            sys.path.remove(project_dir)
