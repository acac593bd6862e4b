"""Train every preset on its bundled dataset and write resources/weights/<preset>.npz
(float32, compressed) with a JSON beside it: dataset, seed, command, test accuracy,
training seconds, date and cnnviz version.

Usage (from the repository root; about three minutes on two cores):

    python scripts/train_presets.py                      # every preset
    python scripts/train_presets.py --preset lenet5      # one (repeatable)

Deterministic: seed 0 and one kernel thread (CNNVIZ_THREADS=1, set here before cnnviz is
imported), so the batch is never split and every sum runs in the same order. Each preset
is trained by `cnnviz train` itself with its defaults (the JSON's "command", run in this
process), except `square-seed`: its conv layer is seed 000's filter W_{t+n} with bias 0,
kept fixed, and only its dense layer learns (Adam, `SQUARE_SEED_EPOCHS` epochs).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ["CNNVIZ_THREADS"] = "1"  # before cnnviz is imported: one summation order

import numpy as np  # noqa: E402

from cnnviz import __version__  # noqa: E402
from cnnviz.cli import main as cnnviz_main  # noqa: E402
from cnnviz.core.network import Network  # noqa: E402
from cnnviz.core.optim import Adam  # noqa: E402
from cnnviz.core.presets import get_preset, preset_names  # noqa: E402
from cnnviz.core.seed_square import seed_filter_state  # noqa: E402
from cnnviz.core.spec import parse_spec  # noqa: E402
from cnnviz.data.fileio import write_bytes_atomically  # noqa: E402
from cnnviz.engine.bundled import bundled_dataset, open_dataset_fitting  # noqa: E402
from cnnviz.engine.metrics import evaluate  # noqa: E402
from cnnviz.engine.userweights import load_weights_npz  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEED = 0
SQUARE_SEED_EPOCHS, SQUARE_SEED_LR, SQUARE_SEED_BATCH = 60, 0.01, 32
DENSE = ("4.weight", "4.bias")  # square-seed's trainable parameters


def train_with_cli(preset: str, dataset: str) -> tuple[dict, dict, list[str]]:
    """Run `cnnviz train` for the preset in this process; (weights, summary, argv)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{preset}.npz"
        argv = ["train", "--preset", preset, "--dataset", dataset, "--seed", str(SEED),
                "--save", str(out), "--json"]
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout):
            code = cnnviz_main(argv)
        if code != 0:
            raise SystemExit(f"cnnviz {' '.join(argv)} exited with {code}")
        summary = json.loads(stdout.getvalue().strip().splitlines()[-1])
        return load_weights_npz(out), summary, argv


def train_square_seed() -> tuple[dict, dict, list[str]]:
    """square-seed: the seed's filter fixed, the dense layer trained on square vs other."""
    spec = parse_spec(get_preset("square-seed"))
    net = Network(spec, seed=SEED)
    net.load_state_dict({**net.state_dict(), **seed_filter_state()})
    data = open_dataset_fitting("shapes", spec)
    x, y = data.train()
    opt, rng, start = Adam(lr=SQUARE_SEED_LR), np.random.default_rng(SEED), time.perf_counter()
    for _ in range(SQUARE_SEED_EPOCHS):
        order = rng.permutation(len(x))
        for k in range(0, len(x), SQUARE_SEED_BATCH):
            batch = order[k:k + SQUARE_SEED_BATCH]
            grads = net.run_pass(x[batch], y[batch]).grads
            opt.step({n: net.params()[n] for n in DENSE}, {n: grads[n] for n in DENSE})
    loss, accuracy, _ = evaluate(net, *data.test())
    summary = {"test_accuracy": accuracy, "test_loss": loss, "epochs": SQUARE_SEED_EPOCHS,
               "seconds": time.perf_counter() - start}
    return net.state_dict(), summary, ["scripts/train_presets.py", "--preset", "square-seed"]


def write_preset(preset: str, out_dir: Path) -> dict:
    """Train one preset and write its .npz and .json; returns the JSON's content."""
    dataset = bundled_dataset(parse_spec(get_preset(preset)))
    if preset == "square-seed":
        state, summary, argv = train_square_seed()
        command = "CNNVIZ_THREADS=1 python " + " ".join(argv)
    else:
        state, summary, argv = train_with_cli(preset, dataset)
        argv = [a if not a.endswith(".npz") else f"{preset}.npz" for a in argv]
        command = "CNNVIZ_THREADS=1 cnnviz " + " ".join(argv)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{k: np.asarray(v, dtype=np.float32) for k, v in state.items()})
    write_bytes_atomically(out_dir / f"{preset}.npz", buffer.getvalue())
    info = {"preset": preset, "dataset": dataset, "seed": SEED, "command": command,
            "test_accuracy": round(float(summary["test_accuracy"]), 6),
            "test_loss": round(float(summary["test_loss"]), 6),
            "epochs": summary["epochs"], "train_seconds": round(summary["seconds"], 1),
            "date": datetime.date.today().isoformat(), "cnnviz_version": __version__}
    text = json.dumps(info, indent=2) + "\n"
    write_bytes_atomically(out_dir / f"{preset}.json", text.encode())
    return info


def main(argv: list[str] | None = None) -> int:
    """Train the chosen presets (all by default) and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", action="append", choices=preset_names(),
                        help="train only this preset (repeatable)")
    parser.add_argument("--out", default=str(ROOT / "resources" / "weights"),
                        help="folder for the .npz and .json files")
    args = parser.parse_args(argv)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    for preset in args.preset or preset_names():
        info = write_preset(preset, out_dir)
        size = (out_dir / f"{preset}.npz").stat().st_size
        print(f"{preset}: {info['dataset']}, test accuracy {100 * info['test_accuracy']:.1f} %, "
              f"{info['train_seconds']} s, {size / 1024:.0f} KiB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
