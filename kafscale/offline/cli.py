"""`python -m kafscale`: render a stack, size a quota and list what each change does, without the
Pulumi CLI or a cluster.

The lab's commands (`python -m kafscale_lab simulate`) build on the same parser helpers.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import pulumi

from kafscale.config import keys
from kafscale.config.naming import EtcdNames
from kafscale.config.quantities import parse_byte_count
from kafscale.config.rules import COMPACTION_MODES, MAX_BACKEND_BYTES, shown
from kafscale.config.settings import SettingsError, parse_settings
from kafscale.config.sizing import beyond_one_member, recommend, tmpfs_worst_case
from kafscale.edge.change_effects import change_table
from kafscale.edge.component import COMPONENT_TYPE
from kafscale.offline.adoption import adoption_steps, import_file
from kafscale.offline.render import manifest_file_name, render_stack, to_yaml
from kafscale.offline.stack_config import StackConfigError

PROJECT_DIR = Path(__file__).resolve().parents[2]
EXIT_FAILED = 1
EXIT_USAGE = 2


class InputError(ValueError):
    """Command-line input that cannot be used (a bad sizing value, an output path that cannot be
    written)."""


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line on stderr and exit 2, like every other input error here."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {message} (see {self.prog} --help)\n")


def add_stack_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    command.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value (KEY may omit the 'kafscale:' prefix); repeatable",
    )
    command.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m kafscale", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    render = commands.add_parser("render", help="print the stack's Kubernetes objects as YAML")
    add_stack_arguments(render)
    render.add_argument("--output", type=Path, help="write one YAML file per object into this directory")
    render.add_argument(
        "--last-settings",
        type=Path,
        metavar="FILE",
        help="the last deployment's settings (`pulumi stack output settings --json --show-secrets`): "
        "check the change against it, as preview does",
    )
    render.set_defaults(run=_render)

    sizing = commands.add_parser("sizing", help="recommend a quota and memory-mode sizes for a write rate")
    sizing.add_argument("--write-rate", type=float, required=True, help="expected etcd writes per second")
    sizing.add_argument(
        "--retention",
        help="compaction retention (default: "
        + ", ".join(f"{value} {mode}" for mode, value in keys.DEFAULT_RETENTION_BY_MODE.items())
        + ")",
    )
    sizing.add_argument(
        "--mode",
        choices=COMPACTION_MODES,
        default=keys.AUTO_COMPACTION_MODE.default,
        help=f"compaction mode (default {keys.AUTO_COMPACTION_MODE.default})",
    )
    sizing.add_argument(
        "--quota", help="the configured quota to check for memory mode (default: the recommended one)"
    )
    sizing.add_argument(
        "--memory-headroom",
        default=keys.MEMORY_HEADROOM.default,
        help=f"memory mode: limit = quota + this ({keys.MEMORY_HEADROOM.full_name}, "
        f"default {keys.MEMORY_HEADROOM.default})",
    )
    sizing.set_defaults(run=_sizing)

    changes = commands.add_parser(
        "changes", help="print what changing each setting does to a live stack (docs/change-safety.md)"
    )
    changes.set_defaults(run=_changes)

    adopt = commands.add_parser(
        "import-file",
        help="print a `pulumi import --file` file that adopts the objects the KafScale operator created",
    )
    add_stack_arguments(adopt)
    adopt.set_defaults(run=_import_file)

    steps = commands.add_parser(
        "adoption-steps",
        help="print, in order, every command that moves the operator's etcd under this stack",
    )
    add_stack_arguments(steps)
    steps.set_defaults(run=_adoption_steps)
    return parser


def run_command(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    failures: tuple[type[Exception], ...] = (),
) -> int:
    """Parse `argv` and run the chosen command. Input that cannot be used is one `error:` line
    and exit 2; a command's own `failures` are one `error:` line and exit 1."""
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (StackConfigError, SettingsError, pulumi.RunError, InputError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except failures as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(build_parser(), argv)


def _render(args: argparse.Namespace) -> int:
    rendered = render_stack(args.project_dir, args.stack, args.overrides, _last_settings(args.last_settings))
    for warning in rendered.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.output is None:
        sys.stdout.write(to_yaml(rendered.manifests))
        return 0
    try:
        args.output.mkdir(parents=True, exist_ok=True)
        for manifest in rendered.manifests:
            path = args.output / manifest_file_name(manifest)
            path.write_text(to_yaml([manifest]), encoding="utf-8")
            print(path)
    except OSError as error:
        where = shown(str(error.filename or args.output))
        raise InputError(f"--output {where}: {error.strerror or type(error).__name__}") from None
    return 0


def _is_settings_output(value: object) -> bool:
    """The component's `settings` output: an object of config keys (short names) naming at least
    the cluster and its namespace, nothing else (a stack's whole outputs, `{"settings": {...}}`
    or any other object would read as an all-defaults deployment). An older version's output may
    lack keys added since."""
    known = {key.name for key in keys.CONFIG_KEYS}
    required = {keys.CLUSTER_NAME.name, keys.K8S_NAMESPACE.name}
    return isinstance(value, dict) and required <= set(value) <= known


def _last_settings(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(
            f"--last-settings {shown(str(path))}: {error.strerror or type(error).__name__}"
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError(f"--last-settings {shown(str(path))}: not a JSON document") from None
    except (RecursionError, ValueError):  # nested past Python's stack, an integer past 4,300 digits
        raise InputError(
            f"--last-settings {shown(str(path))}: not a settings output (nested too deep, "
            "or a number too long)"
        ) from None
    if not _is_settings_output(settings):
        raise InputError(
            f"--last-settings {shown(str(path))}: not a settings output: an object of config keys such as "
            "`pulumi stack output settings --json` prints"
        )
    return settings


def _import_file(args: argparse.Namespace) -> int:
    _, entries = _operator_objects(args)
    print(json.dumps(entries, indent=2))
    return 0


def _adoption_steps(args: argparse.Namespace) -> int:
    names, entries = _operator_objects(args)
    sys.stdout.write(adoption_steps(args.stack, names, entries))
    return 0


def _operator_objects(args: argparse.Namespace) -> tuple[EtcdNames, dict[str, Any]]:
    """The stack's names and the import file of the operator's objects it registers."""
    rendered = render_stack(args.project_dir, args.stack, args.overrides)
    for warning in rendered.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    settings = rendered.exports["settings"]
    names = EtcdNames(settings[keys.CLUSTER_NAME.name], settings[keys.K8S_NAMESPACE.name])
    entries = import_file(rendered.resources, COMPONENT_TYPE, names)
    if len(entries["resources"]) == 1:
        raise InputError(
            f"stack {shown(args.stack)} provisions no etcd (etcdEndpoints is set): nothing to adopt"
        )
    return names, entries


def _changes(args: argparse.Namespace) -> int:
    sys.stdout.write(change_table())
    return 0


def _sizing(args: argparse.Namespace) -> int:
    parsed = parse_settings(
        {
            keys.AUTO_COMPACTION_MODE.name: args.mode,
            keys.AUTO_COMPACTION_RETENTION.name: args.retention,
            keys.EXPECTED_WRITE_RATE.name: str(args.write_rate),
            keys.QUOTA_BACKEND_BYTES.name: args.quota,
            keys.MEMORY_HEADROOM.name: args.memory_headroom,
        }
    )
    # A value that fell back is an error here (no default stands in for what was asked); one used
    # as given with a warning (a quota above etcd's suggested 8Gi) is used, as render uses it.
    asked = {
        keys.QUOTA_BACKEND_BYTES.name: (args.quota, parsed.settings.quota_backend_bytes),
        keys.MEMORY_HEADROOM.name: (args.memory_headroom, parsed.settings.memory_headroom_bytes),
    }
    refused = [
        w
        for w in parsed.warnings
        if w.key not in asked or parse_byte_count(str(asked[w.key][0]).strip()) != asked[w.key][1]
    ]
    if refused:
        raise InputError("; ".join(w.message for w in refused))
    for warning in parsed.warnings:
        print(f"warning: {warning.message}", file=sys.stderr)
    settings = parsed.settings
    assert settings.expected_write_rate is not None
    try:
        recommendation = recommend(
            settings.expected_write_rate,
            settings.auto_compaction_mode,
            settings.auto_compaction_retention,
            settings.memory_headroom_bytes,
        )
    except ValueError as error:
        raise InputError(str(error)) from None
    if recommendation.quota_bytes > MAX_BACKEND_BYTES:
        raise InputError(beyond_one_member(recommendation))
    quota = settings.quota_backend_bytes if args.quota else recommendation.quota_bytes
    worst = tmpfs_worst_case(
        quota,
        quota + settings.memory_headroom_bytes,
        settings.expected_write_rate,
        settings.auto_compaction_mode,
        settings.auto_compaction_retention,
    )
    print("\n".join([*recommendation.lines(), *worst.lines()]))
    return 0
