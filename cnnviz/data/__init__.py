"""Datasets and image input: bundled MNIST subset, synthetic shapes, IDX, image files and
folders, NumPy arrays, and MNIST-style digit preprocessing. Never imports Qt or Numba."""

from cnnviz.data.dataset import Dataset
from cnnviz.data.errors import DataError
from cnnviz.data.idx import load_idx, save_idx
from cnnviz.data.images import load_image
from cnnviz.data.preprocess import preprocess_digit
from cnnviz.data.registry import describe_dataset, list_datasets, open_dataset
from cnnviz.data.shapes import make_shapes

__all__ = [
    "DataError",
    "Dataset",
    "describe_dataset",
    "list_datasets",
    "load_idx",
    "load_image",
    "make_shapes",
    "open_dataset",
    "preprocess_digit",
    "save_idx",
]
