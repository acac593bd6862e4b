"""The controller's selection: the selected layer (or a block's inner layer), unit, weight
and example, set through the engine's `Selection` with one `selection_changed` per change.

A mixin of `AppController`. Conventions every panel relies on: ``selection.unit`` is a
unit of the (inner) layer's OUTPUT per example, ``(c, i, j)`` or ``(k,)``;
``weight_focus`` ``(layer, index)`` is a weight of the selected (inner) layer, or None. An
invalid selection is refused with ``error_raised`` and leaves everything as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import SignalInstance

from cnnviz.core.spec import NetworkSpec
from cnnviz.engine.explain_terms import idx
from cnnviz.engine.selection import Selection
from cnnviz.engine.stepper import Stepper
from cnnviz.engine.steps import layer_spec_of


class Selecting:
    """Select layers, inner layers, units, weights and the shown example."""

    spec: NetworkSpec
    batch: tuple[np.ndarray, np.ndarray] | None
    selection: Selection
    stepper: Stepper
    weight_focus: tuple[int, tuple[int, ...]] | None
    input_image: np.ndarray
    input_label: int | None
    _quiet: int
    selection_changed: SignalInstance
    input_changed: SignalInstance
    error_raised: SignalInstance

    def _make_selection(self) -> Selection:
        """The engine's observable selection, bounds-checked against this network's shapes."""
        batch = 1 if self.batch is None else len(self.batch[0])
        selection = Selection.for_spec(self.spec, batch_size=batch)
        selection.add_listener(self._on_selection_event)
        return selection

    def _on_selection_event(self, *args: Any) -> None:
        """Selection object changed: tell the panels."""
        if not self._quiet:
            self.selection_changed.emit()

    def select_layer(self, index: int | None, inner: str | None = None) -> None:
        """Select a layer (None = nothing), or an inner layer of block `index`; the unit is
        kept only if it still fits, a focused weight only on the same layer."""
        if (index, inner) != (self.selection.layer, self.selection.inner):
            self.weight_focus = None
        self._set_selection(lambda: self.selection.select_layer(index, inner))

    def select_unit(self, layer: int, unit: tuple[int, ...] | None,
                    inner: str | None = None) -> None:
        """Select one unit of a layer's output, per example: (c, i, j) or (k,); with
        `inner`, a unit of that inner layer of block `layer`."""
        self.weight_focus = None
        self._set_selection(lambda: self.selection.select(layer, unit, inner))

    def select_weight(self, layer: int, index: tuple[int, ...] | None,
                      inner: str | None = None) -> None:
        """Focus one weight of a layer (or of inner layer `inner` of block `layer`),
        (o, c, m, n) or (o, k): the explain panel shows its gradient on B steps and its
        update on U."""
        try:
            shape = layer_spec_of(self.spec, layer, inner).param_shapes.get("weight")
        except (IndexError, ValueError):
            shape = None
        if index is not None and (shape is None or len(index) != len(shape)):
            name = layer if inner is None else f"{layer}.{inner}"
            self.error_raised.emit("Selection", f"layer {name} has no weight w{idx(*index)}")
            return
        self.weight_focus = None if index is None else (layer, tuple(int(i) for i in index))
        self._set_selection(lambda: self.selection.select_layer(layer, inner))

    def select_example(self, n: int) -> None:
        """Which example of the mini-batch the panels show."""
        self._set_selection(lambda: setattr(self.selection, "example", int(n)))
        st = self.stepper
        if len(st.x) > 1 and 0 <= n < len(st.x):  # the input panel shows that example
            self.input_image, self.input_label = st.x[n].copy(), int(st.y[n])
            self.input_changed.emit()

    def _set_selection(self, change: Callable[[], None]) -> None:
        """Apply a selection change; one selection_changed, or error_raised if it is invalid."""
        self._quiet += 1
        try:
            change()
        except ValueError as error:
            self.error_raised.emit("Selection", str(error))
            return
        finally:
            self._quiet -= 1
        self.selection_changed.emit()
