"""`cnnviz bench`: milliseconds per training step, a recorded pass, compile times."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `bench` sub-command."""
    parser = subparsers.add_parser(
        "bench",
        help="time training steps, a recorded pass and kernel compilation",
        description="Times a training step of a preset (LeNet-5 by default; mini-resnet "
        "and the other block presets too) at batch 1 and 64, a single-image run_pass and "
        "the kernels' first-call compile; beside PyTorch's figure for the same step when "
        "PyTorch is installed.",
    )
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.commands.argtypes import positive_int

    parser.add_argument("--preset", default="lenet5", help="network preset (lenet5)")
    parser.add_argument("--repeats", type=positive_int, default=50,
                        help="timed runs per figure (50)")
    parser.add_argument("--threads", type=positive_int, default=2, help="PyTorch threads (2)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--startup", action="store_true",
                        help="instead: seconds from launch to an interactive window, cold "
                        "(empty Numba cache) and warm, in fresh processes")
    parser.add_argument("--startup-runs", type=positive_int, default=3,
                        help="cold and warm launches each for --startup (3)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the figures (text, or JSON with --json)."""
    if args.startup:
        # lazy import: the CLI loads only what this command needs (start-up time)
        from cnnviz.commands.bench_startup import format_startup, startup_figures

        figures = startup_figures(args.startup_runs)
        print(json.dumps(figures) if args.json else format_startup(figures))
        return 0
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.benchmark import format_figures, run_benchmarks

    figures = run_benchmarks(args.preset, args.repeats, args.threads)
    print(json.dumps(figures) if args.json else format_figures(figures))
    return 0
