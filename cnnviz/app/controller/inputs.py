"""What the network is fed: one example, or a mini-batch that the panels show one example of.

`Inputs` is a collaborator of `AppController`, which keeps ``ctrl.set_input(...)``,
``ctrl.set_batch(...)`` and ``ctrl.use_test_batch(...)`` as one-line calls into it. Each
checks the input against the network's spec (``error_raised`` saying what does not fit),
then starts a new pass on it; the input itself stays in ``ctrl.input_image``,
``ctrl.input_label`` and ``ctrl.batch``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnviz.app.controller import app_state
from cnnviz.app.controller.muting import emit_all


class Inputs:
    """The input commands of one controller."""

    def __init__(self, ctrl: Any) -> None:
        """`ctrl` is the AppController that owns these commands (its state and signals)."""
        self.ctrl = ctrl

    def set_input(self, image: np.ndarray, label: int | None = None) -> bool:
        """Use a new input (H, W) or (C, H, W) of exactly the spec's input shape; new pass."""
        ctrl = self.ctrl
        array = np.asarray(image, dtype=np.float32)
        if array.ndim == 2:
            array = array[np.newaxis]
        if array.shape != tuple(ctrl.spec.input_shape):
            ctrl.error_raised.emit("Input does not fit", f"the image has shape {array.shape}, "
                                   f"the network expects {tuple(ctrl.spec.input_shape)} (C, H, W)")
            return False
        if label is not None and not 0 <= int(label) < ctrl.spec.num_classes:
            ctrl.error_raised.emit("Bad label", f"label {label} is not a class of this network "
                                                f"(0 to {ctrl.spec.num_classes - 1})")
            return False
        ctrl.input_image = np.ascontiguousarray(array)
        ctrl.input_label = None if label is None else int(label)
        ctrl.batch = None
        ctrl.selection.batch_size, ctrl.selection.example = 1, 0
        if not ctrl.busy:
            ctrl.stepper = ctrl.driver.make_stepper()
        emit_all(ctrl.input_changed, ctrl.stepper_changed)
        return True

    def set_batch(self, images: np.ndarray, labels: np.ndarray) -> bool:
        """Step a mini-batch (N, C, H, W) with labels (N,); the panels show one example."""
        ctrl = self.ctrl
        if ctrl.busy:
            ctrl.status_changed.emit("Training is running: the input cannot change now.")
            return False
        problem = app_state.batch_problem(ctrl.spec, images, labels)
        if problem:
            ctrl.error_raised.emit("Mini-batch does not fit", problem)
            return False
        x = np.ascontiguousarray(images, dtype=np.float32)
        y = np.asarray(labels, dtype=np.int64)
        ctrl.batch = (x, y) if len(x) > 1 else None
        ctrl.input_image, ctrl.input_label = x[0], int(y[0])
        ctrl.selection.batch_size, ctrl.selection.example = len(x), 0
        ctrl.stepper = ctrl.driver.make_stepper()
        emit_all(ctrl.input_changed, ctrl.stepper_changed, ctrl.selection_changed)
        ctrl.status_changed.emit(f"Stepping a mini-batch of {len(x)} examples")
        return True

    def use_test_batch(self, size: int) -> bool:
        """Step the first `size` test examples of the dataset (MNIST if none is open)."""
        try:
            images, labels = app_state.dataset_test_batch(self.ctrl.dataset, self.ctrl.spec,
                                                          size)
        except ValueError as error:
            self.ctrl.error_raised.emit("No mini-batch", str(error))
            return False
        return self.ctrl.set_batch(images, labels)
