"""The Dataset dataclass: its checks, copies, subsets and the shared stratified split."""

import numpy as np
import pytest

from cnnviz.data import DataError, Dataset
from cnnviz.data.dataset import stratified_split


def _dataset(n=10, **overrides) -> Dataset:
    fields = dict(name="d", images=np.zeros((n, 1, 4, 4), np.float32),
                  labels=np.arange(n, dtype=np.int64) % 2, class_names=["a", "b"],
                  train_indices=np.arange(0, n - 2, dtype=np.int64),
                  test_indices=np.arange(n - 2, n, dtype=np.int64))
    fields.update(overrides)
    return Dataset(**fields)


def test_fields_and_helpers():
    data = _dataset(images=np.linspace(0, 1, 160, dtype=np.float32).reshape(10, 1, 4, 4))
    assert len(data) == 10 and data.input_shape == (1, 4, 4) and data.num_classes == 2
    x, y = data.train()
    assert x.shape == (8, 1, 4, 4) and y.tolist() == [0, 1] * 4
    x[:] = 0
    assert data.images.max() == 1.0  # train() gave a copy
    image, label = data.example(9)
    image[:] = 0
    assert label == 1 and data.images[9].max() == 1.0
    with pytest.raises(DataError, match="out of range"):
        data.example(10)


def test_subset_keeps_each_example_on_its_side():
    sub = _dataset().subset([9, 0, 8])
    assert sub.labels.tolist() == [1, 0, 0]
    assert sub.train_indices.tolist() == [1] and sub.test_indices.tolist() == [0, 2]
    with pytest.raises(DataError, match="out of range"):
        _dataset().subset([10])


@pytest.mark.parametrize("overrides, words", [
    ({"images": np.zeros((10, 4, 4), np.float32)}, "shape"),
    ({"images": np.zeros((10, 1, 4, 4), np.float64)}, "float32"),
    ({"images": np.full((10, 1, 4, 4), 2, np.float32)}, r"\[0, 1\]"),
    ({"images": np.full((10, 1, 4, 4), np.nan, np.float32)}, "finite"),
    ({"labels": np.zeros(9, np.int64)}, "10 images but 9 labels"),
    ({"labels": np.zeros(10, np.int32)}, "int64"),
    ({"labels": np.full(10, 2, np.int64)}, "label 2 out of range"),
    ({"labels": np.full(10, -1, np.int64)}, "out of range"),
    ({"class_names": []}, "class"),
    ({"train_indices": np.array([0, 0], np.int64)}, "repeated"),
    ({"test_indices": np.array([10], np.int64)}, "out of range"),
    ({"test_indices": [1, 2]}, "int64"),
])
def test_inconsistent_fields_are_refused(overrides, words):
    with pytest.raises(DataError, match=words):
        _dataset(**overrides)


def test_stratified_split_is_seeded_per_class_and_complete():
    labels = np.repeat([0, 1, 2], [50, 30, 1])
    train, test = stratified_split(labels, 0.2, seed=5)
    again = stratified_split(labels, 0.2, seed=5)
    assert np.array_equal(train, again[0]) and np.array_equal(test, again[1])
    assert np.bincount(labels[test], minlength=3).tolist() == [10, 6, 0]
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(81))
    assert not np.array_equal(test, stratified_split(labels, 0.2, seed=6)[1])
