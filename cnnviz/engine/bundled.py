"""Weights shipped with cnnviz (resources/weights/<preset>.npz and a JSON beside it), and
the choice of weights the commands and the window offer: bundled, fresh, user or a file.

Every preset is trained on its bundled dataset: MNIST for 28×28 inputs, the colour
shapes for 3-channel inputs, the grey shapes (square vs other for two classes) otherwise.
"""

from __future__ import annotations

import io
import json
from functools import lru_cache
from typing import Any

from cnnviz.core.network import Network
from cnnviz.core.spec import NetworkSpec
from cnnviz.data.arrays import read_npz
from cnnviz.data.dataset import Dataset
from cnnviz.data.errors import DataError
from cnnviz.data.fileio import bundled_file
from cnnviz.data.registry import open_dataset, open_dataset_with_channels
from cnnviz.engine.userweights import load_fitting, load_user_weights, load_weights_npz

WEIGHT_CHOICES = ("bundled", "fresh", "user")  # or the path of an .npz


def bundled_dataset(spec: NetworkSpec) -> str:
    """The built-in dataset a network of this shape is trained on by default."""
    channels, H, W = spec.input_shape
    if channels == 3:
        return "shapes-rgb"
    return "mnist" if (H, W) == (28, 28) else "shapes"


def open_dataset_fitting(name: str, spec: NetworkSpec) -> Dataset:
    """open_dataset(name) made to fit the network: shapes at its input size (2 classes:
    square vs other), image files and folders in colour for a 3-channel input."""
    return _open_fitting(name, tuple(spec.input_shape), spec.num_classes)


def _open_fitting(name: str, input_shape: tuple, num_classes: int) -> Dataset:
    """open_dataset_fitting for a network's input shape and class count."""
    channels, H, _ = input_shape
    if name == "shapes":
        classes = {"classes": ("square", "other")} if num_classes == 2 else {}
        return open_dataset("shapes", size=H, **classes)
    if name == "shapes-rgb":
        return open_dataset(name, size=H)
    return open_dataset_with_channels(name, channels)


@lru_cache(maxsize=16)
def _builtin_name(name: str, input_shape: tuple, num_classes: int) -> str:
    """The Dataset.name of a built-in opened for a network (e.g. shapes-8x8-2), cached."""
    return _open_fitting(name, input_shape, num_classes).name


def _dataset_name(name: str, spec: NetworkSpec) -> str:
    """_builtin_name for spec."""
    return _builtin_name(name, tuple(spec.input_shape), spec.num_classes)


def bundled_dataset_name(spec: NetworkSpec) -> str:
    """The name (Dataset.name) of the network's bundled dataset: the key of user weights."""
    return _dataset_name(bundled_dataset(spec), spec)


def dataset_name_for(name: str, spec: NetworkSpec) -> str:
    """Dataset.name of a dataset argument (mnist, shapes, a path) opened for spec."""
    if name in ("mnist", "shapes", "shapes-rgb"):
        return _dataset_name(name, spec)
    try:
        return open_dataset_fitting(name, spec).name
    except DataError as error:
        raise ValueError(str(error)) from None


def bundled_info(preset: str) -> dict | None:
    """The JSON beside a preset's bundled weights (dataset, seed, command, accuracy, …)."""
    try:
        return json.loads(bundled_file("weights", f"{preset}.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None


def bundled_state(preset: str | None) -> dict | None:
    """A preset's bundled weights as a state dict (float32), or None if it has none."""
    if not preset:
        return None
    try:
        data = bundled_file("weights", f"{preset}.npz").read_bytes()
        return read_npz(io.BytesIO(data), f"bundled weights of {preset}")
    except (OSError, DataError):
        return None


def has_bundled_weights(preset: str | None) -> bool:
    """True if cnnviz ships trained weights for the preset."""
    return bool(preset) and bundled_file("weights", f"{preset}.npz").is_file()


def load_bundled_weights(preset: str | None, net: Any) -> bool:
    """Load a preset's bundled weights into net; False if there are none or they do not fit."""
    state = bundled_state(preset)
    return state is not None and load_fitting(net, state)


def fresh_state(net: Any) -> dict:
    """The seeded initial weights of net's spec (its seed and dtype): a fresh start."""
    return Network.from_spec(net.spec, seed=net.seed, dtype=net.dtype).state_dict()


def describe_bundled(preset: str) -> str:
    """'bundled weights (mnist, test accuracy 97.7 %)' from the JSON beside them."""
    info = bundled_info(preset) or {}
    accuracy = info.get("test_accuracy")
    tail = f", test accuracy {100 * accuracy:.1f} %" if isinstance(accuracy, float) else ""
    return f"bundled weights ({info.get('dataset', '?')}{tail})"


def apply_weights(net: Any, choice: str, preset: str | None, dataset: str) -> str:
    """Load the chosen weights into net and say which, e.g. 'bundled weights (mnist, …)'.

    choice: bundled, fresh, user (kept for preset on dataset, a Dataset.name) or an .npz
    path. ValueError saying why if they are not there or do not fit (net untouched)."""
    if choice == "bundled":
        if not load_bundled_weights(preset, net):
            raise ValueError(f"no bundled weights for {preset or 'a network from a spec'} "
                             "(bundled weights exist for the presets only)")
        return describe_bundled(preset)
    if choice == "fresh":
        net.load_state_dict(fresh_state(net))
        return f"fresh weights (seed {net.seed})"
    if choice == "user":
        if not preset or not load_user_weights(preset, dataset, net):
            raise ValueError(f"no kept weights for {preset or 'a network from a spec'} on "
                             f"{dataset} (keep some with `cnnviz train --remember` or the "
                             "Training panel's Keep these weights)")
        return f"your weights ({dataset})"
    if not load_fitting(net, load_weights_npz(choice)):
        raise ValueError(f"{choice}: these weights do not fit the network (other names "
                         "or shapes)")
    return f"weights from {choice}"
