"""`python -m kafscale`: commands that run here, without the Pulumi CLI or a cluster."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import pulumi

from kafscale.render import manifest_file_name, render_stack, to_yaml
from kafscale.stack_config import StackConfigError

PROJECT_DIR = Path(__file__).resolve().parent.parent
EXIT_USAGE = 2


class _OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line on stderr and exit 2, like every other input error here."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="python -m kafscale", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_OneLineParser)

    render = commands.add_parser("render", help="print the stack's Kubernetes objects as YAML")
    render.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    render.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value (KEY may omit the 'kafscale:' prefix); repeatable",
    )
    render.add_argument("--output", type=Path, help="write one YAML file per object into this directory")
    render.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _render(args)
    except (StackConfigError, pulumi.RunError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE


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
