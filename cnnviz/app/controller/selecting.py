"""The controller's selection: which layer, inner layer, unit, weight and example the panels show.

`Selector` is a collaborator of `AppController`, which keeps the public commands
(``ctrl.select_layer(...)``, ``ctrl.select_unit(...)`` …) as one-line calls into it. The
selection itself is the engine's bounds-checked `Selection` (``ctrl.selection``); the
focused weight is ``ctrl.weight_focus``. A command emits one ``selection_changed``, or
``error_raised`` if the selection it asks for does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cnnviz.engine.explain_terms import idx
from cnnviz.engine.selection import Selection
from cnnviz.engine.steps import layer_spec_of


class Selector:
    """Makes the controller's selections and runs the selection commands on the current one."""

    def __init__(self, ctrl: Any) -> None:
        """`ctrl` is the AppController that owns this selector (its state and signals)."""
        self.ctrl = ctrl

    # ----- the selection -------------------------------------------------------------------
    def make_selection(self) -> Selection:
        """The engine's observable selection, bounds-checked against this network's shapes."""
        batch = 1 if self.ctrl.batch is None else len(self.ctrl.batch[0])
        return self.watch(Selection.for_spec(self.ctrl.spec, batch_size=batch))

    def watch(self, selection: Selection) -> Selection:
        """Re-emit the changes others make to `selection` as selection_changed."""
        selection.add_listener(self._on_selection_event)
        return selection

    def _on_selection_event(self, *args: Any) -> None:
        """Selection object changed: tell the panels."""
        if not self.ctrl.mute:
            self.ctrl.selection_changed.emit()

    def _apply(self, change: Callable[[], None]) -> None:
        """Apply a selection change; one selection_changed, or error_raised if it is invalid."""
        ctrl = self.ctrl
        with ctrl.mute:
            try:
                change()
            except ValueError as error:
                ctrl.error_raised.emit("Selection", str(error))
                return
        ctrl.selection_changed.emit()

    # ----- the commands --------------------------------------------------------------------
    def select_layer(self, index: int | None, inner: str | None = None) -> None:
        """Select a layer (None = nothing), or an inner layer of block `index`; the unit is
        kept only if it still fits, a focused weight only on the same layer."""
        selection = self.ctrl.selection
        if (index, inner) != (selection.layer, selection.inner):
            self.ctrl.weight_focus = None
        self._apply(lambda: selection.select_layer(index, inner))

    def select_unit(self, layer: int, unit: tuple[int, ...] | None,
                    inner: str | None = None) -> None:
        """Select one unit of a layer's output, per example: (c, i, j) or (k,); with
        `inner`, a unit of that inner layer of block `layer`."""
        self.ctrl.weight_focus = None
        selection = self.ctrl.selection
        self._apply(lambda: selection.select(layer, unit, inner))

    def select_weight(self, layer: int, index: tuple[int, ...] | None,
                      inner: str | None = None) -> None:
        """Focus one weight of a layer (or of inner layer `inner` of block `layer`),
        (o, c, m, n) or (o, k): the explain panel shows its gradient on B steps and its
        update on U."""
        ctrl = self.ctrl
        try:
            shape = layer_spec_of(ctrl.spec, layer, inner).param_shapes.get("weight")
        except (IndexError, ValueError):
            shape = None
        if index is not None and (shape is None or len(index) != len(shape)):
            name = layer if inner is None else f"{layer}.{inner}"
            ctrl.error_raised.emit("Selection", f"layer {name} has no weight w{idx(*index)}")
            return
        ctrl.weight_focus = None if index is None else (layer, tuple(int(i) for i in index))
        selection = ctrl.selection
        self._apply(lambda: selection.select_layer(layer, inner))

    def select_example(self, n: int) -> None:
        """Which example of the mini-batch the panels show."""
        ctrl = self.ctrl
        selection = ctrl.selection
        self._apply(lambda: setattr(selection, "example", int(n)))
        st = ctrl.stepper
        if len(st.x) > 1 and 0 <= n < len(st.x):  # the input panel shows that example
            ctrl.input_image, ctrl.input_label = st.x[n].copy(), int(st.y[n])
            ctrl.input_changed.emit()
