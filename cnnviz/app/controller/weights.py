"""Where the window's weights come from, and an undo stack for changes of them.

`WeightBook` is a collaborator of `AppController`: it opens a network with the user's
kept weights for its preset and dataset, else the bundled ones, else fresh seeded ones;
it keeps the user's weights on request ("Keep these weights"), resets them to a fresh
seeded init or reverts them to the bundled ones, and undoes any of these (and a
training run) by restoring a snapshot of the state dict taken before the change.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cnnviz.engine.bundled import (
    apply_weights,
    bundled_dataset_name,
    bundled_state,
    describe_bundled,
    fresh_state,
    has_bundled_weights,
    load_bundled_weights,
)
from cnnviz.engine.userweights import load_user_weights, save_user_weights

UNDO_DEPTH = 20  # snapshots kept; LeNet-5's weights are 0.25 MB each


@dataclass
class Snapshot:
    """The weights before a change, and what that change was called."""

    label: str
    state: dict[str, np.ndarray]
    source: str
    trained: bool


class WeightBook:
    """Weight sources and the weight-change undo stack of one controller."""

    def __init__(self, ctrl: Any) -> None:
        self.ctrl = ctrl
        self.source = "fresh weights"
        self.undo_stack: list[Snapshot] = []

    # ----- where the weights come from ---------------------------------------------------
    def dataset_name(self) -> str:
        """The dataset the user's weights are kept for: the open one if it fits the
        network, else the network's bundled dataset (mnist, shapes-8x8-2, …)."""
        data, spec = getattr(self.ctrl, "dataset", None), self.ctrl.spec
        if data is not None and tuple(data.input_shape) == tuple(spec.input_shape):
            return data.name
        return bundled_dataset_name(spec)

    def open_initial(self, choice: str = "auto") -> bool:
        """Load the first weights of a preset: auto = the user's kept ones, else bundled,
        else fresh; or exactly bundled, fresh, user or an .npz path (ValueError if those
        are missing or do not fit). Returns whether the weights are trained ones."""
        net, preset = self.ctrl.network, self.ctrl.preset_name
        self.source = f"fresh weights (seed {net.seed})"
        if choice == "fresh":
            return False
        if choice != "auto":
            self.source = apply_weights(net, choice, preset, self.dataset_name())
            return True
        if preset and load_user_weights(preset, self.dataset_name(), net):
            self.source = f"your kept weights ({self.dataset_name()})"
        elif load_bundled_weights(preset, net):
            self.source = describe_bundled(preset)
        return not self.source.startswith("fresh")

    def has_bundled(self) -> bool:
        """True if the current preset ships trained weights."""
        return has_bundled_weights(self.ctrl.preset_name)

    # ----- changes ---------------------------------------------------------------------
    def push(self, label: str) -> None:
        """Snapshot the current weights before a change called `label` (undoable)."""
        ctrl = self.ctrl
        self.undo_stack.append(Snapshot(label, ctrl.network.state_dict(), self.source,
                                        ctrl.has_trained_weights()))
        del self.undo_stack[:-UNDO_DEPTH]

    def reset(self) -> bool:
        """File → Reset weights: a fresh seeded init (undoable)."""
        return self._change("Reset weights", fresh_state(self.ctrl.network),
                            f"fresh weights (seed {self.ctrl.network.seed})", trained=False)

    def revert_to_bundled(self) -> bool:
        """File → Revert to bundled weights (undoable); False if the preset has none."""
        state = bundled_state(self.ctrl.preset_name)
        if state is None:
            self.ctrl.error_raised.emit("No bundled weights", "bundled weights exist for the "
                                        "presets only, and this network is not one")
            return False
        return self._change("Revert to bundled weights", state,
                            describe_bundled(self.ctrl.preset_name), trained=True)

    def keep(self) -> Path | None:
        """Keep the current weights as the user's for this preset and dataset."""
        preset, dataset = self.ctrl.preset_name, self.dataset_name()
        if not preset:
            self.ctrl.error_raised.emit("Cannot keep these weights", "kept weights belong "
                                        "to a preset; save a session to keep a custom network")
            return None
        try:
            path = save_user_weights(preset, dataset, self.ctrl.network)
        except (OSError, ValueError) as error:
            self.ctrl.error_raised.emit("Could not keep the weights", str(error))
            return None
        self.source = f"your kept weights ({dataset})"
        self.ctrl.status_changed.emit(f"Weights kept for {preset} on {dataset}: {path}")
        return path

    def undo(self) -> bool:
        """Edit → Undo weights change: back to the weights before the last change."""
        if not self.undo_stack:
            self.ctrl.status_changed.emit("No weight change to undo")
            return False
        snap = self.undo_stack.pop()
        if not self.ctrl.set_weights(snap.state, trained=snap.trained):
            return False
        self.source = snap.source
        self.ctrl.status_changed.emit(f"Undone: {snap.label} — now {snap.source}")
        return True

    def undo_label(self) -> str:
        """The change Undo would take back ('' if none)."""
        return self.undo_stack[-1].label if self.undo_stack else ""

    def forget(self, source: str = "") -> None:
        """The network was replaced (new spec, session): old snapshots no longer apply."""
        self.undo_stack.clear()
        self.source = source or f"fresh weights (seed {self.ctrl.network.seed})"

    def _change(self, label: str, state: dict, source: str, trained: bool) -> bool:
        """Snapshot, then load `state`; the status bar says which weights these are."""
        if self.ctrl.busy:
            self.ctrl.status_changed.emit("Training is running: the weights cannot change now.")
            return False
        self.push(label)
        if not self.ctrl.set_weights(state, trained=trained):
            self.undo_stack.pop()
            return False
        self.source = source
        self.ctrl.status_changed.emit(f"{label}: now {source} (Edit → Undo weights change)")
        return True

