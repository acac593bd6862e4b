"""Datasets from user files: npz/npy arrays, image folders, IDX folders and pairs."""

import gzip

import numpy as np
import pytest
from PIL import Image

from cnnviz.data import DataError, open_dataset, save_idx
from cnnviz.data.arrays import load_arrays
from cnnviz.data.folders import load_idx_folder, load_idx_pair, load_image_folder

RNG = np.random.default_rng(0)


def _digits(n=30, h=6, w=5):
    return RNG.integers(0, 256, (n, h, w), dtype=np.uint8), np.arange(n, dtype=np.uint8) % 3


# --- npz / npy -------------------------------------------------------------------------

def test_npz_round_trip_uint8_images(tmp_path):
    x, y = _digits()
    np.savez(tmp_path / "d.npz", images=x, labels=y)
    data = load_arrays(tmp_path / "d.npz")
    assert data.images.shape == (30, 1, 6, 5)
    assert np.allclose(data.images[:, 0] * 255, x, atol=1e-4)
    assert data.labels.tolist() == y.tolist() and data.class_names == ["0", "1", "2"]
    assert len(data.train_indices) == 24 and len(data.test_indices) == 6


def test_npz_with_x_y_float_nchw_names_and_a_stored_split(tmp_path):
    x = RNG.random((8, 3, 4, 4)).astype(np.float32)
    y = np.array([0, 1] * 4)
    np.savez(tmp_path / "d.npz", x=x, y=y, class_names=np.array(["cat", "dog"]),
             train_indices=np.arange(6), test_indices=np.arange(6, 8))
    data = open_dataset(tmp_path / "d.npz")
    assert data.input_shape == (3, 4, 4) and np.array_equal(data.images, x)
    assert data.class_names == ["cat", "dog"] and data.test_indices.tolist() == [6, 7]


def test_npy_pair(tmp_path):
    x, y = _digits()
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y.astype(np.int64))
    data = open_dataset(tmp_path / "x.npy", labels=tmp_path / "y.npy")
    assert len(data) == 30 and data.labels.tolist() == y.tolist()
    with pytest.raises(DataError, match="labels"):
        open_dataset(tmp_path / "x.npy")


@pytest.mark.parametrize("arrays, words", [
    ({"images": np.zeros((4, 2, 2), np.uint8)}, "no labels"),
    ({"pictures": np.zeros((4, 2, 2), np.uint8), "labels": np.zeros(4, int)}, "no 'images'"),
    ({"images": np.zeros((4, 2), np.uint8), "labels": np.zeros(4, int)}, "rank 2"),
    ({"images": np.zeros((4, 2, 2), np.int32), "labels": np.zeros(4, int)}, "int32"),
    ({"images": np.full((4, 2, 2), 3.0), "labels": np.zeros(4, int)}, r"\[0, 1\]"),
    ({"images": np.zeros((4, 2, 2), np.uint8), "labels": np.zeros(3, int)}, "4 images but 3"),
    ({"images": np.zeros((4, 2, 2), np.uint8), "labels": np.zeros(4)}, "integers"),
    ({"images": np.zeros((4, 2, 2), np.uint8), "labels": np.array([0, 1, -1, 0])}, "negative"),
    ({"images": np.zeros((4, 2, 2), np.uint8), "labels": np.array([0, 1, 2, 0]),
      "class_names": np.array(["a", "b"])}, "label 2 out of range"),
    ({"images": np.zeros((4, 2, 2), np.uint8), "labels": np.zeros(4, int),
      "train_indices": np.arange(3)}, "only one"),
    ({"images": np.zeros((4, 2, 2), np.uint8), "labels": np.zeros(4, int),
      "train_indices": np.arange(3), "test_indices": np.arange(2, 4)}, "overlap"),
])
def test_bad_npz_contents(tmp_path, arrays, words):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=words) as info:
        open_dataset(tmp_path / "bad.npz")
    assert "bad.npz" in str(info.value)


def test_pickled_objects_are_never_loaded(tmp_path):
    np.savez(tmp_path / "evil.npz", images=np.array([object()], dtype=object),
             labels=np.zeros(1, int))
    with pytest.raises(DataError, match="pickled"):
        open_dataset(tmp_path / "evil.npz")
    np.save(tmp_path / "evil.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="pickled"):
        open_dataset(tmp_path / "evil.npy", labels=tmp_path / "evil.npy")


def test_corrupt_npz_and_npy(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "junk.npy").write_bytes(b"\x93NUMPY garbage")
    for name in ("junk.npz", "junk.npy"):
        with pytest.raises(DataError, match=name):
            open_dataset(tmp_path / name, **({"labels": tmp_path / name} if "npy" in name else {}))


# --- image folders ---------------------------------------------------------------------

def _image_folder(root, sizes=((6, 5),) * 5, classes=("b_cat", "a_dog")):
    for name in classes:
        (root / name).mkdir(parents=True)
        for i, (h, w) in enumerate(sizes):
            Image.fromarray(RNG.integers(0, 256, (h, w), dtype=np.uint8)).save(
                root / name / f"{i}.png")
    (root / "a_dog" / "notes.txt").write_text("ignored: not an image")
    return root


def test_image_folder_round_trip(tmp_path):
    root = _image_folder(tmp_path / "pets")
    data = open_dataset(root)
    assert data.class_names == ["a_dog", "b_cat"] and data.input_shape == (1, 6, 5)
    assert np.bincount(data.labels).tolist() == [5, 5]
    assert np.bincount(data.labels[data.test_indices]).tolist() == [1, 1]
    first = np.asarray(Image.open(root / "a_dog" / "0.png")) / 255.0
    assert np.allclose(data.images[0, 0], first, atol=1e-6)


def test_image_folder_mixed_sizes_refused_unless_resized(tmp_path):
    root = _image_folder(tmp_path / "mixed", sizes=((6, 5), (6, 5), (7, 5)))
    with pytest.raises(DataError, match="mixed sizes"):
        open_dataset(root)
    assert open_dataset(root, size=(8, 8)).input_shape == (1, 8, 8)


def test_empty_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no class sub-folders"):
        load_image_folder(tmp_path / "empty")
    (tmp_path / "empty" / "zero").mkdir()
    with pytest.raises(DataError, match="empty class folder"):
        load_image_folder(tmp_path / "empty")


def test_unreadable_image_in_folder_names_the_file(tmp_path):
    root = _image_folder(tmp_path / "pets")
    (root / "b_cat" / "broken.png").write_bytes(b"definitely not a png")
    with pytest.raises(DataError, match="broken.png"):
        open_dataset(root)


# --- IDX -------------------------------------------------------------------------------

def _mnist_folder(root, gz: bool, n_train=40, n_test=10, sep="-"):
    root.mkdir()
    suffix = ".gz" if gz else ""
    parts = {"train": n_train, "t10k": n_test}
    arrays = {}
    for prefix, n in parts.items():
        x = RNG.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        y = (np.arange(n) % 10).astype(np.uint8)
        save_idx(root / f"{prefix}-images{sep}idx3-ubyte{suffix}", x)
        save_idx(root / f"{prefix}-labels{sep}idx1-ubyte{suffix}", y)
        arrays[prefix] = (x, y)
    return arrays


@pytest.mark.parametrize("gz, sep", [(False, "-"), (True, "-"), (False, ".")])
def test_idx_folder_uses_the_official_split(tmp_path, gz, sep):
    arrays = _mnist_folder(tmp_path / "mnist", gz, sep=sep)
    data = open_dataset(tmp_path / "mnist")
    x_train, y_train = data.train()
    x_test, y_test = data.test()
    assert np.allclose(x_train[:, 0] * 255, arrays["train"][0], atol=1e-4)
    assert y_test.tolist() == arrays["t10k"][1].tolist()
    assert len(y_train) == 40 and data.class_names == [str(d) for d in range(10)]


def test_idx_folder_with_class_names(tmp_path):
    _mnist_folder(tmp_path / "fashion", gz=True)
    names = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
             "Bag", "Ankle boot"]
    assert open_dataset(tmp_path / "fashion", class_names=names).class_names == names


def test_idx_folder_missing_file(tmp_path):
    _mnist_folder(tmp_path / "m", gz=False)
    (tmp_path / "m" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="missing IDX files for test labels"):
        load_idx_folder(tmp_path / "m")


def test_idx_counts_disagree(tmp_path):
    save_idx(tmp_path / "x-images-idx3-ubyte", np.zeros((5, 4, 4), np.uint8))
    save_idx(tmp_path / "x-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(DataError, match="5 images but .* 4 labels"):
        load_idx_pair(tmp_path / "x-images-idx3-ubyte", tmp_path / "x-labels-idx1-ubyte")


def test_idx_pair_by_image_path_finds_its_labels(tmp_path):
    x = RNG.integers(0, 256, (20, 4, 4), dtype=np.uint8)
    save_idx(tmp_path / "my-images-idx3-ubyte.gz", x)
    save_idx(tmp_path / "my-labels-idx1-ubyte.gz", (np.arange(20) % 2).astype(np.uint8))
    data = open_dataset(tmp_path / "my-images-idx3-ubyte.gz")
    assert np.allclose(data.images[:, 0] * 255, x, atol=1e-4)
    assert np.bincount(data.labels[data.test_indices]).tolist() == [2, 2]
    save_idx(tmp_path / "lonely", x)
    with pytest.raises(DataError, match="labels"):
        open_dataset(tmp_path / "lonely")


def test_idx_labels_truncated_in_gzip(tmp_path):
    save_idx(tmp_path / "a-images-idx3-ubyte", np.zeros((5, 4, 4), np.uint8))
    whole = gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 5, 1, 2, 3, 4, 5]))
    (tmp_path / "a-labels-idx1-ubyte.gz").write_bytes(whole[:-6])
    with pytest.raises(DataError, match="a-labels-idx1-ubyte.gz"):
        open_dataset(tmp_path / "a-images-idx3-ubyte", labels=tmp_path / "a-labels-idx1-ubyte.gz")
