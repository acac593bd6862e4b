"""The registry: built-ins by name, user data by path, options checked, one error type."""

import numpy as np
import pytest
from PIL import Image

import cnnviz.data as data_pkg
from cnnviz.data import DataError, list_datasets, open_dataset
from cnnviz.data.registry import dataset_options, describe_dataset


def test_built_ins_listed_with_descriptions():
    assert list_datasets() == ["mnist", "shapes", "shapes-rgb"]
    for name in list_datasets():
        text = describe_dataset(name)
        assert text and "\n" not in text
    assert "square" in describe_dataset("shapes")
    with pytest.raises(DataError, match="unknown dataset"):
        describe_dataset("cifar")
    assert dataset_options("shapes")["n"] == 1000


def test_shapes_options_and_square_preset():
    square = open_dataset("shapes", preset="square", n=50)
    assert square.input_shape == (1, 8, 8) and square.class_names == ["square", "other"]
    custom = open_dataset("shapes", size=12, classes=("circle", "cross", "triangle"), n=30)
    assert custom.input_shape == (1, 12, 12) and custom.num_classes == 3
    assert open_dataset("shapes", n=20).input_shape == (1, 28, 28)


@pytest.mark.parametrize("name, options, words", [
    ("mnist", {"size": 8}, "unknown option"),
    ("shapes", {"colour": "red"}, "unknown option"),
    ("shapes", {"preset": "lenet"}, "unknown preset"),
])
def test_bad_builtin_options(name, options, words):
    with pytest.raises(DataError, match=words):
        open_dataset(name, **options)


def test_missing_path_names_it_and_the_built_ins(tmp_path):
    with pytest.raises(DataError, match=r"nowhere.*mnist, shapes"):
        open_dataset(tmp_path / "nowhere")


def test_unknown_file_type_and_bad_argument(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match="notes.txt: not a file type"):
        open_dataset(tmp_path / "notes.txt")
    with pytest.raises(DataError, match="string or a path"):
        open_dataset(None)


def test_single_image_is_a_one_example_dataset(tmp_path):
    Image.fromarray(np.full((40, 30), 200, np.uint8)).save(tmp_path / "one.png")
    data = open_dataset(tmp_path / "one.png", label=3)
    assert len(data) == 1 and data.input_shape == (1, 28, 28) and data.labels.tolist() == [3]
    assert data.train_indices.tolist() == [0] and data.test_indices.size == 0
    assert open_dataset(tmp_path / "one.png", size=(8, 8)).input_shape == (1, 8, 8)
    with pytest.raises(DataError, match="label"):
        open_dataset(tmp_path / "one.png", label=10)
    with pytest.raises(DataError, match="unknown option"):
        open_dataset(tmp_path / "one.png", labels="x")


def test_single_drawn_digit_with_preprocessing(tmp_path):
    paper = np.full((120, 100), 240, np.uint8)
    paper[20:90, 60:70] = 20  # a dark "1" on light paper, off-centre
    Image.fromarray(paper).save(tmp_path / "one.jpg", quality=95)
    data = open_dataset(tmp_path / "one.jpg", preprocess=True, invert="auto", label=1)
    image = data.images[0, 0]
    ys, xs = np.indices(image.shape)
    assert abs((xs * image).sum() / image.sum() - 14) <= 0.5
    assert image[0].max() == 0 and image.max() == pytest.approx(1.0)
    small = open_dataset(tmp_path / "one.jpg", preprocess=True, invert=True, size=(14, 14))
    assert small.input_shape == (1, 14, 14)
    with pytest.raises(DataError, match="size"):
        open_dataset(tmp_path / "one.jpg", size=7)


def test_exports_and_no_heavy_imports():
    for name in ("DataError", "Dataset", "open_dataset", "list_datasets", "load_image",
                 "preprocess_digit", "load_idx"):
        assert hasattr(data_pkg, name)
    import subprocess
    import sys
    code = ("import sys, cnnviz.data; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numba', 'PySide6')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
