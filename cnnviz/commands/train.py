"""`cnnviz train`: train a network on a dataset without the window.

Exit codes: 0 finished, 2 bad input, 3 the run diverged (loss or weights became inf/NaN),
130 stopped with Ctrl+C (the first Ctrl+C stops after the batch in progress).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from cnnviz.commands.argtypes import non_negative_int, positive_float, positive_int, seed

DEFAULT_PRESET = "lenet5"
SCHEDULES = ("constant", "step", "cosine", "onecycle")
EXIT_DIVERGED = 3
EXIT_STOPPED = 130
EVAL_CHUNK = 500  # examples per forward pass when evaluating (engine.metrics.evaluate)


def register(subparsers: Any) -> None:
    """Add the `train` parser."""
    p = subparsers.add_parser(
        "train", help="train a network on a dataset (headless)",
        description="Train a network headless. The defaults train LeNet-5 on the bundled "
                    "MNIST subset to about 98% test accuracy (Adam, one-cycle, shifts).")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--preset", help=f"a built-in network (default {DEFAULT_PRESET})")
    source.add_argument("--spec", metavar="FILE", help="a network spec (JSON file)")
    p.add_argument("--dataset", default="mnist",
                   help="mnist, shapes, shapes-rgb, or a path to data (default mnist)")
    p.add_argument("--epochs", type=positive_int, default=20, help="default 20")
    p.add_argument("--batch-size", type=positive_int, default=64,
                   help="examples per update; 1 = online learning (default 64)")
    p.add_argument("--optimizer", default="adam", help="sgd, momentum, nesterov, rmsprop, "
                   "adagrad, adadelta or adam (default adam)")
    p.add_argument("--lr", type=positive_float, default=3e-3,
                   help="learning rate; the peak rate for onecycle (default 0.003)")
    p.add_argument("--schedule", choices=SCHEDULES, default="onecycle",
                   help="learning-rate schedule (default onecycle)")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=True,
                   help="random ±2-pixel shifts of the training images (default on)")
    p.add_argument("--seed", type=seed, default=0,
                   help="initial weights, shuffling and shifts (default 0)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--eval-every", type=non_negative_int, default=0, metavar="N",
                   help="also evaluate the test set every N batches (default: each epoch)")
    p.add_argument("--save", metavar="FILE",
                   help="write the result: a .cnnviz session or a .npz of weights")
    p.add_argument("--remember", action="store_true",
                   help="keep the result as your weights for this preset and dataset (the "
                        "window and --weights user then use them); off by default")
    p.add_argument("--no-remember", action="store_true", help=argparse.SUPPRESS)  # 0.1's flag
    p.add_argument("--json", action="store_true",
                   help="one JSON object per epoch on stdout, then a summary object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build, train, report and save; returns the exit code."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.cli import UserError
    from cnnviz.engine.trainer import TrainConfig, Trainer

    _check_save_path(args.save)
    if args.remember and args.spec:
        raise UserError("--remember: kept weights belong to a preset; with --spec use "
                        "--save FILE.npz (and --weights FILE later)")
    net, preset = _build_network(args)
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.commands.common import open_dataset_for

    dataset = open_dataset_for(args.dataset, net)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size,
                         optimizer=args.optimizer, lr=args.lr, seed=args.seed,
                         augment=args.augment, schedule=args.schedule,
                         eval_every=args.eval_every)
    optimizer = _make_optimizer(args.optimizer, args.lr)
    reporter = _Reporter(args.json, config.epochs)
    try:
        trainer = Trainer(net, dataset, config, optimizer,
                          on_progress=reporter.progress, on_epoch_end=reporter.epoch)
    except ValueError as error:
        raise UserError(str(error)) from error
    previous = _stop_on_interrupt(trainer)
    try:
        result = trainer.run()
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    reporter.finish()
    saved = [] if result.diverged else _save(args, preset, net, trainer, result, dataset.name)
    reporter.summary(result, saved)
    if result.diverged:
        print(f"cnnviz train: training diverged: {result.message}", file=sys.stderr)
        return EXIT_DIVERGED
    if result.state == "stopped":
        print(f"cnnviz train: {result.message}", file=sys.stderr)
        return EXIT_STOPPED
    return 0


def _stop_on_interrupt(trainer: Any) -> Any:
    """Make the first Ctrl+C stop training cleanly after its batch; returns the old handler."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)   # a second Ctrl+C aborts
        print("\ncnnviz train: stopping after this batch (Ctrl+C again to abort)",
              file=sys.stderr)
        trainer.stop()

    return signal.signal(signal.SIGINT, handler)


def _check_save_path(save: str | None) -> None:
    """Refuse a --save target we could not write, before spending time training."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.cli import UserError
    from cnnviz.commands.common import check_writable

    if save is None:
        return
    if Path(save).suffix not in (".cnnviz", ".npz"):
        raise UserError(f"--save {save}: the file name must end in .cnnviz (a session) "
                        "or .npz (weights)")
    check_writable(save, "--save")


def _build_network(args: argparse.Namespace) -> tuple[Any, str | None]:
    """The network from --spec or --preset (default lenet5), built within the memory
    budget (a batch, the evaluation chunks, the optimizer); also the preset name."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.commands.common import build_network, spec_source

    preset = None if args.spec else (args.preset or DEFAULT_PRESET)
    batch = max(args.batch_size, EVAL_CHUNK // 2)  # evaluation runs forward-only chunks
    net = build_network(spec_source(args.spec, preset), args.seed, args.dtype, "train",
                        batch=batch, optimizer=args.optimizer)
    return net, preset


def _make_optimizer(name: str, lr: float) -> Any:
    """The optimizer by name; a bad name or value is a UserError."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.cli import UserError
    from cnnviz.core.optim import make_optimizer

    try:
        return make_optimizer(name, lr=lr)
    except ValueError as error:
        raise UserError(f"--optimizer {name}: {error}") from error


def _save(args: argparse.Namespace, preset: str | None, net: Any, trainer: Any,
          result: Any, dataset: str) -> list[str]:
    """Write --save and, with --remember, the user's weights for preset and dataset;
    returns the paths written."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.engine.session import Session, save_session
    from cnnviz.engine.trainer import save_user_weights
    from cnnviz.engine.userweights import save_weights_npz

    saved = []
    if args.save:
        if args.save.endswith(".cnnviz"):
            extra = {"training": {"dataset": args.dataset, **vars(trainer.config)}}
            session = Session.capture(net, trainer.optimizer, history=result.history,
                                      extra=json.loads(json.dumps(extra, default=str)))
            save_session(args.save, session)
        else:
            save_weights_npz(args.save, net.state_dict())
        saved.append(str(args.save))
    if preset is not None and args.remember and result.state == "finished":
        try:
            saved.append(str(save_user_weights(preset, dataset, net)))
        except OSError as error:  # a read-only data dir: --save worked, so only a warning
            print(f"cnnviz train: warning: could not remember the weights for {preset} "
                  f"({error.strerror or error}); use --save FILE instead of --remember",
                  file=sys.stderr)
    if not args.json:
        for path in saved:
            print(f"saved {path}", file=sys.stderr)
    return saved


class _Reporter:
    """Progress on stderr (an in-place bar on a terminal), JSON lines on stdout."""

    def __init__(self, as_json: bool, epochs: int) -> None:
        self.as_json, self.epochs = as_json, epochs
        self.tty = sys.stderr.isatty()
        self.bar_shown = False

    def progress(self, p: Any) -> None:
        """Redraw the bar (terminals only)."""
        if not self.tty:
            return
        width = 24
        filled = int(round(p.fraction * width))
        loss = p.metrics.get("loss", math.nan)
        line = (f"epoch {p.epoch}/{p.epochs} [{'#' * filled}{'.' * (width - filled)}] "
                f"batch {p.batch}/{p.batches_per_epoch} loss {loss:.4f} "
                f"left {_clock(p.eta)}")
        room = _columns() - 1  # never wrap: a wrapped bar cannot be redrawn in place
        sys.stderr.write("\r" + line[:room].ljust(room))
        sys.stderr.flush()
        self.bar_shown = True

    def epoch(self, row: dict[str, float]) -> None:
        """One JSON line on stdout with --json, else one text line on stderr."""
        if self.as_json:
            print(json.dumps(_json_row(row)), flush=True)
            return
        self.finish()
        print(f"epoch {row['epoch']}/{self.epochs}: train loss {row['train_loss']:.4f} "
              f"acc {_pct(row['train_accuracy'], 1)} | test {_test_text(row)} | "
              f"lr {row['lr']:.3g} | {row['seconds']:.1f} s", file=sys.stderr, flush=True)

    def finish(self) -> None:
        """End the in-place bar's line."""
        if self.bar_shown:
            sys.stderr.write("\r" + " " * (_columns() - 1) + "\r")
            sys.stderr.flush()
            self.bar_shown = False

    def summary(self, result: Any, saved: list[str]) -> None:
        """The last line: a JSON summary with --json (with where the batch shares ran),
        else a sentence on stderr."""
        # lazy import: the CLI loads only what this command needs (start-up time)
        from cnnviz.core import share_processes

        if self.as_json:
            print(json.dumps(_json_row({
                "summary": True, "state": result.state, "message": result.message,
                "epochs": result.epochs_completed, "batches": result.batches_completed,
                "test_loss": result.test_loss, "test_accuracy": result.test_accuracy,
                "seconds": result.seconds, "saved": saved,
                "shares": share_processes.describe()})), flush=True)
        elif not result.diverged:
            test = (f"test accuracy {_pct(result.test_accuracy, 2)} (loss {result.test_loss:.4f})"
                    if math.isfinite(result.test_accuracy) else "no test result")
            print(f"{result.message}: {test} in {result.seconds:.1f} s", file=sys.stderr)


def _columns() -> int:
    """Width of the terminal stderr is on (80 if unknown)."""
    return max(20, shutil.get_terminal_size((80, 24)).columns)


def _pct(fraction: float, digits: int) -> str:
    """A fraction as a percentage, or 'n/a' when there is none (an empty test split)."""
    return f"{100 * fraction:.{digits}f}%" if math.isfinite(fraction) else "n/a"


def _test_text(row: dict[str, float]) -> str:
    """`loss 0.1234 acc 98.00%` of an epoch row, or `n/a` without test examples."""
    if not math.isfinite(row["test_accuracy"]):
        return "n/a"
    return f"loss {row['test_loss']:.4f} acc {_pct(row['test_accuracy'], 2)}"


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    """JSON-safe copy: non-finite floats become null."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in row.items()}


def _clock(seconds: float) -> str:
    """m:ss, or '?' when unknown."""
    if not math.isfinite(seconds):
        return "?"
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}:{s:02d}"
