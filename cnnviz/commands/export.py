"""`cnnviz export`: write one pass's tensors (.npz) or a session's metric history (.csv)."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from cnnviz.commands.argtypes import non_negative_int, seed
from cnnviz.commands.common import add_weights_argument, load_chosen_weights


def register(subparsers: Any) -> None:
    """Add the `export` parser."""
    p = subparsers.add_parser(
        "export", help="export a pass's tensors (.npz) or a training history (.csv)",
        description="Run one pass (forward, loss, backward; no update) and write every "
                    "tensor to an .npz with keys like layer3.output, layer3.output_grad, "
                    "layer0.weight_grad, layer2.argmax (inside residual blocks, and for "
                    "batch norm and dropout, also by step name: F4.0.output, "
                    "B4.s0.grad_input, F1.running_mean_after); or, with --history, write a "
                    "session's metric history as CSV.")
    # lazy import: the CLI loads only what this command needs (start-up time)

    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--preset", help="a built-in network")
    source.add_argument("--spec", metavar="FILE", help="a network spec (JSON file)")
    source.add_argument("--session", metavar="FILE", help="a .cnnviz session")
    add_weights_argument(p)
    p.add_argument("--trained", action="store_true",
                   help="the same as --weights user (your kept weights for --preset)")
    inputs = p.add_mutually_exclusive_group()
    inputs.add_argument("--index", type=non_negative_int, metavar="I",
                        help="example I of --dataset (default: 0, or the session's input)")
    inputs.add_argument("--image", metavar="FILE", help="an image file, scaled to the input")
    inputs.add_argument("--input", metavar="FILE", help="an .npy array (C,H,W) or (N,C,H,W)")
    p.add_argument("--dataset", help="dataset for --index (default: the one a session was "
                   "trained on, else mnist)")
    p.add_argument("--split", choices=("test", "train"), default="test",
                   help="which split --index counts in (default test)")
    p.add_argument("--label", type=non_negative_int,
                   help="the target class (default: the dataset's label, the session's, "
                        "or the network's prediction)")
    p.add_argument("--history", action="store_true",
                   help="write the session's metric history instead of a pass")
    p.add_argument("--table", choices=("epochs", "batches", "evals"), default="epochs",
                   help="which history table (default epochs; batches includes gradient "
                        "norms and update ratios per parameter)")
    p.add_argument("--seed", type=seed, default=0, help="initial weights (default 0)")
    p.add_argument("--dtype", choices=("float32", "float64"),
                   help="default float32, or the session's")
    p.add_argument("--out", "-o", required=True, metavar="FILE",
                   help="output file: .npz for a pass, .csv for --history")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export a pass or a history; returns the exit code."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.cli import UserError
    from cnnviz.commands.common import check_writable

    out = check_writable(args.out, "--out")
    if args.history:
        return _export_history(args, out)
    if out.suffix != ".npz":
        raise UserError(f"--out {args.out}: a pass is written as .npz")
    session = _load(args.session) if args.session else None
    net = _network(args, session)
    x, y = _input(args, net, session)
    arrays = pass_arrays(net, x, y)
    _write_npz(out, arrays)
    print(f"wrote {len(arrays)} arrays to {out} (loss {float(arrays['loss']):.6g})")
    return 0


def _load(path: str) -> Any:
    """load_session, imported lazily."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.engine.session import load_session

    return load_session(path)


def _export_history(args: argparse.Namespace, out: Path) -> int:
    """Write a session's history table as CSV."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.cli import UserError
    from cnnviz.engine.metrics import History

    if not args.session:
        raise UserError("--history needs --session FILE (a saved session with a history)")
    if out.suffix != ".csv":
        raise UserError(f"--out {args.out}: a history is written as .csv")
    session = _load(args.session)
    if session.history is None:
        raise UserError(f"{args.session}: this session has no training history")
    history = History.from_dict(session.history)
    history.to_csv(out, table=args.table)
    print(f"wrote the {args.table} table ({len(history.csv_rows(args.table)[1])} rows) to {out}")
    return 0


def _network(args: argparse.Namespace, session: Any) -> Any:
    """The network from the session, preset or spec, with the requested weights."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.cli import UserError
    from cnnviz.commands.common import build_network, spec_source

    if session is not None:
        net = build_network(session.spec, session.seed, args.dtype or session.dtype, "pass")
        net.load_state_dict(session.state_dict)
        if session.rng_state is not None:  # the dropout masks the session's pass drew
            net.rng.bit_generator.state = session.rng_state
    else:
        net = build_network(spec_source(args.spec, args.preset), args.seed,
                            args.dtype or "float32", "pass")
    if args.trained and args.weights not in (None, "user"):
        raise UserError(f"--trained and --weights {args.weights} do not go together")
    choice = "user" if args.trained else args.weights
    if session is None or choice is not None:
        load_chosen_weights(net, choice, args.preset, args.dataset,
                            "--trained" if args.trained else "")
    return net


def _input(args: argparse.Namespace, net: Any, session: Any) -> tuple[np.ndarray, Any]:
    """(x, labels or None) from --image, --input, the session or --dataset/--index."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.commands.common import dataset_example, read_input

    if args.image:
        # lazy import: the CLI loads only what this command needs (start-up time)
        from cnnviz.data import load_image

        _, H, W = net.spec.input_shape
        x = load_image(args.image, size=(H, W))[None]
        return _shaped(net, x, args.image), args.label
    if args.input:
        return _shaped(net, read_input(args.input, net.spec.input_shape), args.input), args.label
    if session is not None and session.input is not None and args.index is None:
        return session.input, args.label if args.label is not None else session.labels
    name = args.dataset or _trained_on(session) or "mnist"
    flag = f"--dataset {name}" if args.dataset else f"dataset {name} (the default)"
    x, label = dataset_example(name, net, args.index, args.split, flag)
    return x, args.label if args.label is not None else label


def _trained_on(session: Any) -> str | None:
    """The dataset a session saved by `cnnviz train` was trained on, if it says."""
    training = session.extra.get("training") if session is not None else None
    name = training.get("dataset") if isinstance(training, dict) else None
    return name if isinstance(name, str) else None


def _shaped(net: Any, x: np.ndarray, where: str) -> np.ndarray:
    """net.prepare_input, with a UserError naming the file when the shape is wrong."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.cli import UserError

    try:
        x = net.prepare_input(x)
    except ValueError as error:
        raise UserError(f"{where}: {error}") from error
    if not np.isfinite(x).all():
        raise UserError(f"{where}: the input contains NaN or infinity")
    return x


def pass_arrays(net: Any, x: np.ndarray, y: Any) -> dict[str, np.ndarray]:
    """Every tensor of one pass (no update), keyed input, logits, layer<i>.output, ...,
    and, inside residual blocks and for batch norm and dropout, <step>.<tensor>
    (F3.0.output, B3.s0.grad_input, F1.running_mean_after, F5.mask)."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.cli import UserError
    from cnnviz.core.budget import require_network
    from cnnviz.engine.steps import input_grad_of

    x = net.prepare_input(x)
    if y is None:
        y = np.argmax(net.forward(x), axis=1)
    try:
        y = net.prepare_labels(np.asarray(y), len(x))
    except ValueError as error:
        raise UserError(f"--label: {error}") from error
    require_network(net.spec, net.dtype, len(x), "pass")
    st = _stepped_pass(net, x, y)
    arrays = {"input": st.x, "label": y, "loss": st.record("L").values["loss"],
              "logits": st.record("L").values["logits"], "input_grad": input_grad_of(st, 0),
              "spec": np.asarray(json.dumps(net.spec.to_dict()))}
    for layer in net.layers:
        arrays.update(_layer_arrays(st, layer))
    for rec in st.records:  # inside blocks, batch norm and dropout: by step name
        if rec.inner is not None or rec.layer_type in INNER_TYPES:
            arrays.update({f"{rec.name}.{key}": value for key, value in rec.values.items()})
    return arrays


INNER_TYPES = ("residual", "batchnorm2d", "batchnorm1d", "dropout")


def _stepped_pass(net: Any, x: np.ndarray, y: np.ndarray) -> Any:
    """Every step of one pass but the update, run by the stepper (run_pass's numbers)."""
    from cnnviz.engine.stepper import Stepper  # lazy: start-up time of the CLI

    st = Stepper(net, x, y)
    st.run_to(st.steps[-2])
    return st


def _layer_arrays(st: Any, layer: Any) -> dict[str, np.ndarray]:
    """layer<i>.output, .output_grad, .argmax, and each parameter with its gradient."""
    from cnnviz.engine.steps import param_step  # lazy: start-up time of the CLI

    i = layer.index
    forward = st.record(f"F{i}").values
    arrays = {f"layer{i}.output": forward["output"],
              f"layer{i}.output_grad": st.record(f"B{i}").values["grad_output"]}
    if "argmax" in forward:
        arrays[f"layer{i}.argmax"] = forward["argmax"]
    for name in layer.params:
        step, pname = param_step(f"{i}.{name}")
        arrays[f"layer{i}.{name}"] = st.net.params()[f"{i}.{name}"].copy()
        arrays[f"layer{i}.{name}_grad"] = st.record(step).values[f"grad_{pname}"]
    return arrays


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez to a buffer, then an atomic write."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.data.fileio import write_bytes_atomically

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_bytes_atomically(path, buffer.getvalue())
