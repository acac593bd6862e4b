"""Helpers several sub-commands share: networks built within the memory budget, `--input`
arrays, dataset examples by `--index`, and output paths checked before any work."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def build_network(source: Any, seed: int, dtype: str, command: str, batch: int = 1,
                  optimizer: str | None = None) -> Any:
    """Parse the spec (dict, Path or NetworkSpec), check the memory budget, then build it."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.core.budget import require_network
    from cnnviz.core.network import Network
    from cnnviz.core.spec import NetworkSpec, parse_spec

    spec = source if isinstance(source, NetworkSpec) else parse_spec(source)
    require_network(spec, dtype, batch, command, optimizer)
    return Network(spec, seed=seed, dtype=dtype)


def spec_source(spec: str | None, preset: str | None, default: str = "lenet5") -> Any:
    """What --spec FILE (always a path, never JSON text) or --preset NAME name."""
    if spec:
        return Path(spec)
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.core.presets import get_preset

    return get_preset(preset or default)


def read_input(path: str, shape: tuple[int, int, int]) -> np.ndarray:
    """An --input .npy: (H, W) for one channel, (C, H, W) or (N, C, H, W) finite numbers."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.cli import UserError
    from cnnviz.data.arrays import read_npy_file
    from cnnviz.data.errors import DataError

    try:
        x = read_npy_file(path)
    except DataError as error:
        raise UserError(f"--input {error}") from None
    if x.ndim == 2 and shape[0] == 1:
        x = x[None]
    if x.shape[-3:] != tuple(shape) or x.ndim not in (3, 4) or x.dtype.kind not in "biuf":
        raise UserError(f"--input {path}: array of shape {x.shape} and dtype {x.dtype}; this "
                        f"network takes numbers of shape {tuple(shape)} or (N, *{tuple(shape)})")
    if not np.isfinite(x).all():
        raise UserError(f"--input {path}: the input contains NaN or infinity")
    return x


def dataset_example(name: str, net: Any, index: int | None, split: str,
                    flag: str) -> tuple[np.ndarray, int]:
    """Example `index` (default 0) of the dataset's `split` ("test" or "train") as a
    (1, C, H, W) batch and its label; `step` and `export` count the same way."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.cli import UserError

    data = open_dataset_for(name, net)
    xs, ys = data.test() if split == "test" else data.train()
    index = 0 if index is None else index
    if not 0 <= index < len(xs):
        raise UserError(f"--index {index}: the {split} split of {name} has "
                        f"{len(xs)} examples (0..{len(xs) - 1})")
    if tuple(xs.shape[1:]) != tuple(net.spec.input_shape):
        raise UserError(f"{flag}: its images are {tuple(xs.shape[1:])}, this network "
                        f"takes {tuple(net.spec.input_shape)}; choose a dataset that fits, "
                        "or --image/--input")
    return xs[index:index + 1], int(ys[index])


def check_writable(path: str, flag: str) -> Path:
    """Refuse an output path we could not write (a directory, a missing or read-only
    folder) before any work is done; the file itself is written later, atomically.

    Writability is probed by creating and removing a temporary file in the folder, the
    one test that also covers read-only mounts and ACLs (os.access does not)."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.cli import UserError

    out = Path(path)
    if out.is_dir():
        raise UserError(f"{flag} {path}: is a directory; give a file name")
    if not out.parent.resolve().is_dir():
        raise UserError(f"{flag} {path}: folder {out.parent} does not exist")
    try:
        fd, probe = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".probe")
    except OSError as error:
        raise UserError(f"{flag} {path}: cannot write in folder {out.parent} "
                        f"({error.strerror or error})") from None
    os.close(fd)
    os.unlink(probe)
    return out


def open_dataset_for(name: str, net: Any) -> Any:
    """open_dataset(name); synthetic shapes are generated to fit the network, and image
    files and folders keep colour when the network takes 3 channels."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.engine.bundled import open_dataset_fitting

    return open_dataset_fitting(name, net.spec)


WEIGHTS_HELP = ("bundled (a preset's trained weights, the default for --preset), fresh "
                "(seeded initial weights, the default for --spec), user (your kept weights "
                "for the preset and dataset) or FILE (an .npz)")


def add_weights_argument(parser: Any) -> None:
    """The --weights bundled|fresh|user|FILE option."""
    parser.add_argument("--weights", metavar="bundled|fresh|user|FILE", help=WEIGHTS_HELP)


def load_chosen_weights(net: Any, choice: str | None, preset: str | None,
                        dataset: str | None = None, flag: str = "") -> str:
    """Load --weights into net (default: bundled for a preset, else fresh); returns what
    was loaded in words. `dataset` (default the bundled one) keys the user's weights."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.cli import UserError
    from cnnviz.engine.bundled import apply_weights, bundled_dataset, dataset_name_for

    choice = choice or ("bundled" if preset else "fresh")
    if choice == "fresh":
        return f"fresh weights (seed {net.seed})"
    try:
        key = dataset_name_for(dataset or bundled_dataset(net.spec), net.spec)
        return apply_weights(net, choice, preset, key if choice == "user" else "")
    except ValueError as error:
        raise UserError(f"{flag or f'--weights {choice}'}: {error}") from None
