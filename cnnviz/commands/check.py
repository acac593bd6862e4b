"""`cnnviz check`: validate a network spec and print its shape table, without a window."""

from __future__ import annotations

import argparse
import os
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `check` sub-command."""
    parser = subparsers.add_parser(
        "check",
        help="check a network spec and print its shape table",
        description="Parse a network spec (a JSON file or a preset name), infer every "
        "layer's output shape and print the shape table with parameter counts and the "
        "output-size formula. Exits 0 if the spec is valid, 2 with the error otherwise.",
    )
    parser.add_argument("spec", nargs="?", help="a spec JSON file, or a preset name")
    parser.add_argument("--preset", help="a preset name: " + _preset_list())
    parser.set_defaults(func=run)


def _preset_list() -> str:
    """The preset names for help texts and messages."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.core.presets import preset_names

    return ", ".join(preset_names())


def load(spec: str | None, preset: str | None) -> dict | str:
    """The spec to parse: a preset's dict, or the path of a spec file."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.cli import UserError
    from cnnviz.core.presets import get_preset, preset_names

    if (spec is None) == (preset is None):
        raise UserError(
            "give either a spec file or --preset NAME (presets: " + _preset_list() + ")"
        )
    if preset is not None:
        return get_preset(preset)
    if os.path.isfile(spec) or spec.endswith(".json") or os.sep in spec:
        return spec  # parse_spec reads it, or says that it is missing
    if spec in preset_names():
        return get_preset(spec)
    raise UserError(f"'{spec}' is neither a spec file nor a preset (presets: {_preset_list()})")


def run(args: argparse.Namespace) -> int:
    """Parse the spec and print its table; a bad spec raises SpecError (exit code 2)."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.core.spec import format_shape_table, parse_spec

    spec = parse_spec(load(args.spec, args.preset))
    print(format_shape_table(spec))
    print(_memory_line(spec))
    return 0


def _memory_line(spec: Any) -> str:
    """What stepping one example would need, against the memory limit (a warning if over)."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.core.budget import format_bytes, limit_text, memory_limit, network_bytes

    need = network_bytes(spec, "float32", 1, "step")
    limit = memory_limit()
    line = f"memory: about {format_bytes(need)} to step one example (float32)"
    if limit is not None and need > limit:
        return f"{line}; WARNING: more than {limit_text(limit)}: step and train will refuse"
    return line
