"""`cnnviz gradcheck`: finite differences against backprop, per tensor, in float64."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `gradcheck` sub-command."""
    parser = subparsers.add_parser(
        "gradcheck",
        help="check backprop's gradients against finite differences",
        description="Central differences in float64 for every parameter tensor and the "
        "input; prints the max relative error per tensor and exits 1 if any exceeds the "
        "tolerance.",
    )
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.commands.argtypes import non_negative_int, positive_float, positive_int, seed

    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--preset", help="a preset name (see `cnnviz check --help`)")
    source.add_argument("--spec", help="a network spec JSON file")
    parser.add_argument("--seed", type=seed, default=0, help="weights and input seed (0)")
    parser.add_argument("--batch", type=positive_int, default=2, help="examples in the batch (2)")
    parser.add_argument("--tolerance", type=positive_float, default=1e-6,
                        help="max relative error (1e-6)")
    parser.add_argument(
        "--max-checks",
        type=non_negative_int,
        default=200,
        help="entries checked per tensor, a seeded sample (200); 0 checks every entry",
    )
    parser.add_argument(
        "--end-to-end",
        action="store_true",
        help="nudge the network's loss instead of checking each layer locally",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the float64 network, check it, print the table; 0 if every tensor passes."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.commands.common import build_network, spec_source
    from cnnviz.core.gradcheck import format_report, gradient_check, random_batch

    net = build_network(spec_source(args.spec, args.preset), args.seed, "float64",
                        "gradcheck", batch=args.batch)
    x, y = random_batch(net, batch=args.batch, seed=args.seed)
    checks = gradient_check(
        net,
        x,
        y,
        max_checks=args.max_checks or None,
        seed=args.seed,
        tolerance=args.tolerance,
        end_to_end=args.end_to_end,
    )
    print(format_report(checks))
    failed = [c.name for c in checks if not c.passed]
    if failed:
        print(f"FAILED: {', '.join(failed)} exceed the tolerance {args.tolerance:g}")
        return 1
    print(f"all {len(checks)} tensors within {args.tolerance:g}")
    return 0
