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
from cnnviz.paths import configure_frozen
from cnnviz.qt_preflight import qt_problem

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
    actions = parser.add_mutually_exclusive_group()
    actions.add_argument("--self-test", action="store_true",
                         help="check Qt, the kernels, the numbers, the data and the window; "
                         "exit 0 if all is well")
    actions.add_argument("--install-desktop", action="store_true",
                         help="add cnnviz to your desktop's application menu (this user only)")
    actions.add_argument("--uninstall-desktop", action="store_true",
                         help="remove what --install-desktop added")
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
    configure_frozen()
    args = build_parser().parse_args(argv)
    if args.self_test or args.install_desktop or args.uninstall_desktop:
        return _top_level_action(args)
    if args.command is None:
        return open_window()
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("cnnviz: interrupted", file=sys.stderr)
        return 130
    except _user_error_types() as error:
        print(f"cnnviz {args.command}: {error}", file=sys.stderr)
        return 2


def open_window() -> int:
    """The GUI, unless Qt could not start: then one line saying why, and exit code 2."""
    problem = qt_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    # Imported here: the headless commands never load Qt (start-up time).
    from cnnviz.app.shell.launch import launch

    return launch()


def _top_level_action(args: argparse.Namespace) -> int:
    """--self-test, --install-desktop or --uninstall-desktop."""
    if args.self_test:
        # Imported here: Qt and Numba load only for the self-test (start-up time).
        from cnnviz.commands.selftest import self_test

        return self_test()
    # Imported here: the desktop files are only needed for these two flags (start-up time).
    from cnnviz.commands.desktop import install_desktop, uninstall_desktop

    try:
        return install_desktop() if args.install_desktop else uninstall_desktop()
    except OSError as error:
        print(f"cnnviz: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
