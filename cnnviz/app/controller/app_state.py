"""Plain helpers of the controller: the first input, weight transfer, optimizers, batches.

Kept apart from ``app_controller.py`` so that the controller stays a short list of commands.
"""

from __future__ import annotations

import numpy as np

from cnnviz.core.network import Network, transfer_matching_weights
from cnnviz.core.optim_base import Optimizer
from cnnviz.core.spec import NetworkSpec
from cnnviz.data import open_dataset
from cnnviz.data.dataset import Dataset


def default_input(spec: NetworkSpec) -> tuple[np.ndarray, int | None]:
    """A useful first input: the first MNIST test 7 if the shape fits, else a centred square."""
    C, H, W = spec.input_shape
    if (C, H, W) == (1, 28, 28):
        try:
            data = open_dataset("mnist")
            sevens = [int(i) for i in data.test_indices if int(data.labels[i]) == 7]
            index = sevens[0] if sevens else int(data.test_indices[0])
            label = int(data.labels[index])
            return np.array(data.images[index], dtype=np.float32), label
        except Exception:  # noqa: BLE001 - the bundled data is optional for a first input
            pass
    image = np.zeros((C, H, W), dtype=np.float32)
    image[:, H // 4 : H - H // 4, W // 4 : W - W // 4] = 1.0  # the seeds' square
    return image, 0


def transfer_matching(old: Network, new: Network) -> int:
    """Copy weights of layers whose type and shapes did not change; returns how many."""
    return len(transfer_matching_weights(old, new))


def fresh_optimizer(optimizer: Optimizer) -> Optimizer:
    """The same kind of optimizer with the same hyper-parameters and no state."""
    try:
        return type(optimizer)(**optimizer.hyperparams)
    except (TypeError, AttributeError):
        return optimizer


def batch_problem(spec: NetworkSpec, images: np.ndarray, labels: np.ndarray) -> str:
    """Why a mini-batch does not fit the network ('' if it does)."""
    x, y = np.asarray(images), np.asarray(labels)
    if x.ndim != 4 or tuple(x.shape[1:]) != tuple(spec.input_shape) or len(x) == 0:
        return (f"the images have shape {x.shape}, the network expects "
                f"(N, {', '.join(str(s) for s in spec.input_shape)}) with N ≥ 1")
    if y.shape != (len(x),):
        return f"{len(x)} images but labels of shape {y.shape}"
    if len(y) and (y.min() < 0 or y.max() >= spec.num_classes):
        return f"labels must be classes 0 to {spec.num_classes - 1}; got {y.min()}…{y.max()}"
    return ""


def dataset_test_batch(dataset: Dataset | None, spec: NetworkSpec,
                       size: int) -> tuple[np.ndarray, np.ndarray]:
    """The first `size` test examples of a dataset that fits the network (else bundled
    MNIST for a 1×28×28 network); ValueError saying what does not fit."""
    if dataset is None or tuple(dataset.input_shape) != tuple(spec.input_shape):
        if tuple(spec.input_shape) != (1, 28, 28):
            raise ValueError(f"open a dataset with {spec.input_shape} images first "
                             "(Input → Dataset)")
        dataset = open_dataset("mnist")
    if not 1 <= int(size) <= len(dataset.test_indices):
        raise ValueError(f"batch size {size}: choose 1 to {len(dataset.test_indices)}")
    index = np.asarray(dataset.test_indices[: int(size)])
    return np.asarray(dataset.images[index], dtype=np.float32), np.asarray(dataset.labels[index])
