"""The `cnnviz` command: the GUI with no arguments, sub-commands for headless work.

Each sub-command lives in its own module under `cnnviz.commands` with two functions:
`register(subparsers)`, which adds its parser and sets `func`, and the `func` itself,
which takes the parsed arguments and returns an exit code. Heavy imports (Numba, Qt)
stay inside the functions so that `cnnviz --help` answers at once.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

from cnnviz import __version__

# Module names under cnnviz.commands, in the order `--help` lists them.
COMMANDS = ["check", "gradcheck", "bench", "train", "export", "step", "screenshot", "animate",
            "lesson"]


class UserError(Exception):
    """A mistake in what the user asked for: printed as one line, exit code 2."""


class OneLineParser(argparse.ArgumentParser):
    """Reports a bad flag in one line on stderr (exit 2) instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every sub-command registered."""
    parser = OneLineParser(
        prog="cnnviz",
        description="See backpropagation happen. With no command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"cnnviz {__version__}")
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=OneLineParser
    )
    for name in COMMANDS:
        importlib.import_module(f"cnnviz.commands.{name}").register(subparsers)
    return parser


def _user_error_types() -> tuple[type[BaseException], ...]:
    """Exception types that mean bad input, not a bug: shown without a traceback."""
    types: list[type[BaseException]] = [UserError, OSError]
    for module, name in [
        ("cnnviz.core.spec", "SpecError"),
        ("cnnviz.data.errors", "DataError"),
        ("cnnviz.engine.session", "SessionError"),
        ("cnnviz.core.budget", "BudgetError"),
    ]:
        try:
            types.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            continue
    return tuple(types)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.console import printable_streams

    printable_streams()
    args = build_parser().parse_args(argv)
    if args.command is None:
        # Imported here: the headless commands never load Qt (start-up time).
        from cnnviz.app.shell.launch import launch

        return launch()
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("cnnviz: interrupted", file=sys.stderr)
        return 130
    except _user_error_types() as error:
        print(f"cnnviz {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
