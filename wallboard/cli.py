"""The `wallboard` command line: one sub-command per module, loaded on demand.

Each command lives in its own module exposing ``add_arguments(parser)`` and
``run(args) -> int``. Any :class:`~wallboard.errors.UserError` becomes one
line on stderr and a non-zero exit: never a traceback in a user's face.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from wallboard.errors import UserError

# name -> (module, one-line help). Modules are imported only when their
# command runs, so `wallboard report` never pays for Textual.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("wallboard.cmd_demo", "live demo: built-in simulator feeding the real pipeline"),
    "run": ("wallboard.cmd_run", "show the board for a live feed (ingest and screen in one)"),
    "ingest": ("wallboard.cmd_ingest", "follow a feed into the database, headless"),
    "simulate": ("wallboard.cmd_simulate", "write a simulated contact centre's events"),
    "report": ("wallboard.report", "print the metrics at an instant, without a screen"),
    "db": ("wallboard.cmd_db", "inspect a database: info, quarantine"),
    "config": ("wallboard.config", "check a configuration file"),
    "alerts": ("wallboard.cmd_alerts", "list the alert history"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``only`` set, only that command's module is imported."""
    parser = argparse.ArgumentParser(
        prog="wallboard",
        description="A live wallboard for contact centres, in the terminal.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if only in (None, name):
            module = importlib.import_module(module_name)
            module.add_arguments(p)
            p.set_defaults(_module=module)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("wallboard")
    except PackageNotFoundError:
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in args_list if not a.startswith("-")), None)
    parser = build_parser(only=first if first in COMMANDS else None)
    args = parser.parse_args(args_list)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args._module.run(args) or 0)
    except UserError as exc:
        print(f"wallboard {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # disk full, permissions, a vanished file...
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"wallboard {args.command}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: say so in one line, keep the traceback on request
        if os.environ.get("WALLBOARD_DEBUG"):
            raise
        print(
            f"wallboard {args.command}: internal error: {type(exc).__name__}: {exc} "
            "(set WALLBOARD_DEBUG=1 to see where, and please report it)",
            file=sys.stderr,
        )
        return 70


if __name__ == "__main__":
    sys.exit(main())
