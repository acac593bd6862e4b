"""`cnnviz step`: the backprop debugger without the window.

Runs one pass step by step (F0 … L … B0, U; a residual block's inner steps too, F3.0,
F3.s0, F3, B3, B3.s0, B3.0), prints what every step computed, and can explain one unit of
one step with its actual numbers.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np


def register(subparsers: Any) -> None:
    """Add the `step` parser."""
    p = subparsers.add_parser(
        "step", help="step a pass forward, through the loss, backward and the update",
        description="Run one pass of a network one step at a time (F0 … L … B0, U), print "
                    "each step's tensors, and explain a unit's formula with its numbers.")
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.commands.argtypes import non_negative_float, non_negative_int, seed
    from cnnviz.commands.common import add_weights_argument

    net = p.add_mutually_exclusive_group()
    net.add_argument("--preset", help="a built-in network (default lenet5)")
    net.add_argument("--spec", metavar="FILE", help="a network spec (JSON file)")
    net.add_argument("--session", metavar="FILE",
                     help="a saved .cnnviz session: its network, weights, optimizer and input")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--image", metavar="FILE", help="an image file as the input")
    source.add_argument("--dataset", help="take the input from a dataset (default mnist)")
    source.add_argument("--input", metavar="FILE", help="a .npy array: (C,H,W) or (N,C,H,W)")
    p.add_argument("--digit", action="store_true",
                   help="with --image: crop, scale and centre a digit as MNIST (28×28 nets)")
    p.add_argument("--index", type=non_negative_int,
                   help="which example of the dataset's --split (default 0); not with "
                        "--image/--input")
    p.add_argument("--split", choices=("test", "train"), default="test",
                   help="which split --index counts in (default test, as `cnnviz export`)")
    p.add_argument("--label", help="the class label(s), e.g. 7 or 3,1,4 for a batch")
    add_weights_argument(p)
    p.add_argument("--seed", type=seed, default=0, help="initial weights (default 0)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--optimizer", help="sgd, momentum, nesterov, rmsprop, adagrad, adadelta "
                   "or adam (default sgd, or the session's optimizer)")
    p.add_argument("--lr", type=non_negative_float,
                   help="learning rate (default 0.01, or the session's)")
    p.add_argument("--to", metavar="STEP", help="stop after this step (default: U, the end)")
    p.add_argument("--explain", nargs=2, metavar=("STEP", "UNIT"),
                   help="explain one unit: UNIT like 0,2,3,4 or weight:0,0,1,2 (B steps) or "
                        "0.weight:0,0,1,2 (U)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the stepper, run it to --to, print the steps and the explanation."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.cli import UserError
    from cnnviz.core.budget import require_network
    from cnnviz.engine.stepper import Stepper

    if args.digit and not args.image:
        raise UserError("--digit prepares an --image; give --image FILE with it")
    if args.index is not None and (args.image or args.input):
        raise UserError(f"--index {args.index} picks a dataset example; it does not go with "
                        f"{'--image' if args.image else '--input'}")
    net, optimizer, session_input = _network(args)
    x, y = _input(args, net, session_input)
    optimizer = _optimizer(args.optimizer, args.lr, optimizer)
    require_network(net.spec, net.dtype, len(x) if np.ndim(x) == 4 else 1, "step",
                    type(optimizer).__name__)
    try:
        st = Stepper(net, x, y, optimizer)
    except ValueError as error:
        where = f"--label {args.label}: " if args.label else ""
        raise UserError(f"{where}{error}") from error
    target = args.to or st.steps[-1]
    if target not in st.steps:
        raise UserError(f"--to {target}: not a step of this pass; steps are {' '.join(st.steps)}")
    st.run_to(target)
    explanation = _explain(st, args.explain) if args.explain else None
    if args.json:
        print(json.dumps(_json_report(st, explanation), default=_json_default))
    else:
        print(_text_report(st, explanation))
    return 0


# -- building ------------------------------------------------------------------------------


def _network(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """(net, optimizer or None, (x, y) from a session or None)."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.cli import UserError
    from cnnviz.commands.common import build_network, load_chosen_weights, spec_source

    if args.session:
        # lazy import: the CLI loads only what this command needs (start-up time)
        from cnnviz.core.budget import require_network
        from cnnviz.core.spec import parse_spec
        from cnnviz.engine.session import load_session

        if args.weights:
            raise UserError("--weights and --session do not go together: a session has weights")

        session = load_session(args.session)
        batch = 1 if session.input is None else len(session.input)
        require_network(parse_spec(session.spec), session.dtype, batch, "step", args.optimizer)
        restored = session.restore()
        given = None
        if restored.stepper is not None:
            given = (restored.stepper.x, restored.stepper.y)
            restored.stepper.reset()
        elif not args.dataset:  # a session from `cnnviz train`: its dataset, not mnist
            training = restored.extra.get("training")
            if isinstance(training, dict) and isinstance(training.get("dataset"), str):
                args.dataset = training["dataset"]
        return restored.net, restored.optimizer, given
    net = build_network(spec_source(args.spec, args.preset), args.seed, args.dtype, "step",
                        optimizer=args.optimizer)
    preset = None if args.spec else (args.preset or "lenet5")
    load_chosen_weights(net, args.weights, preset, args.dataset)
    return net, None, None


def _optimizer(name: str | None, lr: float | None, restored: Any) -> Any:
    """--optimizer/--lr, else the session's optimizer, else SGD(lr=0.01); UserError if bad."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.cli import UserError
    from cnnviz.core.optim import make_optimizer

    if name is None and restored is not None:
        if lr is not None:
            restored.lr = lr
        return restored
    try:
        return make_optimizer(name or "sgd", lr=0.01 if lr is None else lr)
    except ValueError as error:
        raise UserError(f"--optimizer {name}: {error}") from error


def _input(args: argparse.Namespace, net: Any, session_input: Any) -> tuple[np.ndarray, Any]:
    """The input batch and its labels from --image, --input, --dataset or the session."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.cli import UserError
    from cnnviz.commands.common import read_input

    C, H, W = net.spec.input_shape
    if args.image:
        x = _image(args.image, args.digit, (C, H, W))
    elif args.input:
        x = read_input(args.input, (C, H, W))
    elif session_input is not None and not args.dataset and args.index is None:
        x, y = session_input
        return x, _labels(args.label, len(x)) if args.label else y
    else:
        return _dataset_example(args, net)
    if args.label is None:
        raise UserError(f"--label is needed with {'--image' if args.image else '--input'}: "
                        f"the class of the input (0…{net.spec.num_classes - 1})")
    return x, _labels(args.label, x.shape[0] if x.ndim == 4 else 1)


def _image(path: str, digit: bool, shape: tuple[int, int, int]) -> np.ndarray:
    """An image file as a (C, H, W) input (grayscale copied to every channel)."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.cli import UserError
    from cnnviz.data.images import load_image

    C, H, W = shape
    if digit:
        # lazy import: the CLI loads only what this command needs (start-up time)
        from cnnviz.data.preprocess import preprocess_digit

        if (H, W) != (28, 28):
            raise UserError(f"--digit makes a 28×28 digit, but this network takes {H}×{W}")
        gray = preprocess_digit(load_image(path, size=None), invert="auto")
    else:
        gray = load_image(path, size=(H, W))
    return np.repeat(gray[None], C, axis=0)


def _labels(text: str, n: int) -> np.ndarray:
    """--label as n integers."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.cli import UserError

    try:
        labels = [int(v) for v in text.split(",")]
    except ValueError:
        raise UserError(f"--label {text}: expected integers like 7 or 3,1,4") from None
    if len(labels) != n:
        raise UserError(f"--label {text}: {len(labels)} label(s) for {n} input example(s)")
    return np.asarray(labels, dtype=np.int64)


def _dataset_example(args: argparse.Namespace, net: Any) -> tuple[np.ndarray, Any]:
    """Example --index of --split (default test) of --dataset (default mnist) and its label
    (or --label); the same example `cnnviz export --index` picks."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.commands.common import dataset_example

    name = args.dataset or "mnist"
    x, label = dataset_example(name, net, args.index, args.split, f"--dataset {name}")
    y = _labels(args.label, 1) if args.label else np.array([label])
    return x, y


# -- explaining ----------------------------------------------------------------------------


def parse_unit(text: str) -> tuple:
    """`0,2,3,4` → (0, 2, 3, 4); `weight:0,0,1,2` → ("weight", (0, 0, 1, 2))."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.cli import UserError

    name, _, numbers = text.rpartition(":")
    try:
        index = tuple(int(v) for v in numbers.split(","))
    except ValueError:
        raise UserError(f"--explain unit {text!r}: expected integers like 0,2,3,4, "
                        "weight:0,0,1,2 or 0.weight:0,0,1,2") from None
    return (name, index) if name else index


def format_unit(unit: tuple) -> str:
    """The inverse of parse_unit: (0, 2, 3) → `0,2,3`; ("weight", (0, 1)) → `weight:0,1`."""
    if unit and isinstance(unit[0], str):
        return f"{unit[0]}:{','.join(str(int(v)) for v in unit[1])}"
    return ",".join(str(int(v)) for v in unit)


def _explain(st: Any, request: list[str]) -> Any:
    """st.explain for --explain STEP UNIT; mistakes become UserErrors."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.cli import UserError

    step, unit_text = request
    if step not in st.steps:
        raise UserError(f"--explain {step}: not a step of this pass; steps are "
                        f"{' '.join(st.steps)}")
    if st.record(step) is None:
        raise UserError(f"--explain {step}: that step has not run (the run stopped after "
                        f"{st.current.name if st.current else 'nothing'}; see --to)")
    try:
        return st.explain(step, parse_unit(unit_text))
    except ValueError as error:
        raise UserError(f"--explain {step} {unit_text}: {error}") from error


# -- reporting -----------------------------------------------------------------------------


def _text_report(st: Any, explanation: Any) -> str:
    """Every executed step's summary, then the explanation."""
    net = st.net
    head = (f"{len(net.layers)} layers, {net.dtype.name}, batch {st.x.shape[0]}, "
            f"labels {' '.join(str(int(v)) for v in st.y)}, optimizer {st.optimizer!r}")
    lines = [head, ""] + [rec.summary() for rec in st.records]
    if explanation is not None:
        lines += ["", f"explain {explanation.step} {format_unit(explanation.unit)}:",
                  "  formula: " + explanation.formula.replace("\n", "\n           "), "",
                  explanation.text]
    return "\n".join(lines)


def _stats(value: np.ndarray) -> dict:
    """Shape, min/max/mean and norm of one tensor."""
    v = np.asarray(value, dtype=np.float64)
    if v.size == 0:
        return {"shape": list(v.shape)}
    return {"shape": list(v.shape), "min": float(v.min()), "max": float(v.max()),
            "mean": float(v.mean()), "norm": float(np.linalg.norm(v.ravel()))}


def _json_report(st: Any, explanation: Any) -> dict:
    """The JSON document of --json."""
    steps = []
    for rec in st.records:
        item = {"name": rec.name, "layer": rec.layer, "inner": rec.inner, "kind": rec.kind,
                "layer_type": rec.layer_type,
                "tensors": {k: _stats(v) for k, v in rec.values.items() if k != "argmax"}}
        if rec.kind == "loss":
            item["loss"] = float(rec.values["loss"])
        steps.append(item)
    report: dict[str, Any] = {"steps": steps, "cursor": st.cursor,
                              "labels": [int(v) for v in st.y]}
    if explanation is not None:
        report["explanation"] = {k: getattr(explanation, k) for k in (
            "step", "layer", "unit", "kind", "terms", "constant", "value", "recorded", "text",
            "formula", "cells", "linear")}
    return report


def _json_default(obj: Any) -> Any:
    """NumPy scalars and tuples inside explanations, as JSON."""
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON-able: {type(obj).__name__}")
