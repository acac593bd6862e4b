"""The inspector: the selected layer in detail, one tab per kind of tensor.

Tabs: the layer's input, its feature maps, its filters (weights), its deltas, its weight
gradients and (max pool) the pooling winners. Every tab is a ``MapView``: colour bar,
exact value on hover, zoom. Clicking a feature map or delta selects that unit everywhere;
clicking the input or the winners selects that unit of the previous layer (the inspector
stays on this layer); clicking a filter cell focuses that weight. The cells of the current
explanation are highlighted, the selected unit is outlined.

The inspector follows the pass (the current step's layer — inside a residual block, the
inner layer the step runs, "4.body.0" at F4.0 and B4.0) until a click pins it to a layer;
a reset, a new network, new weights or training let it follow the pass again.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from cnnviz.app.controller import AppController
from cnnviz.app.debugger.explain_panel import current_explanation
from cnnviz.app.debugger.inspector_cells import (  # re-exported: tests and the CLI use them
    SYMBOLS,
    TAB_TIPS,
    TABS,
    auto_tab,
    tied_windows,
    weight_name,
    weight_stack,
    winner_cells,
)
from cnnviz.app.debugger.norm_view import (
    NORM_TYPES,
    NormStatsView,
    layer_record,
    mask_of,
    norm_rows,
    show_rgb,
)
from cnnviz.app.debugger.targets import (
    Target,
    current_target,
    output_delta,
    previous_target,
    selected_target,
    target_of_step,
    title_text,
)
from cnnviz.app.widgets.glyphs import drawable
from cnnviz.app.widgets.mapview import MapView, unit_text
from cnnviz.app.widgets.theme import LIGHT, Colors
from cnnviz.engine.explain import Explanation
from cnnviz.engine.records import StepRecord


class Inspector(QWidget):
    """The selected layer's tensors in tabs, following the stepper and the selection."""

    def __init__(self, ctrl: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctrl = ctrl
        self.colors = LIGHT
        self.title = QLabel("")
        self.title.setObjectName("inspector_title")
        self.title.setWordWrap(True)  # an inner layer's title is long: two lines, not cut
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.example = QSpinBox()
        self.example.setPrefix("example ")
        self.example.setToolTip("Which example of the mini-batch the panels show")
        self.example.valueChanged.connect(self._on_example_changed)
        self.rgb = QCheckBox("RGB filters")
        self.rgb.setObjectName("inspector_rgb")
        self.rgb.setChecked(True)
        self.rgb.setToolTip("Filters over a colour input as RGB images (each filter scaled to "
                            "its largest |w|: mid-grey is 0); off: one map per colour channel")
        self.rgb.toggled.connect(lambda _on: self.refresh())
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.rgb)
        top.addWidget(self.example)
        self.tabs = QTabWidget()
        self.views: dict[str, MapView] = {}
        self.notes: dict[str, str] = {}
        self.norm_view = NormStatsView()
        for key, label in TABS:
            if key == "norm":
                self.tabs.setTabToolTip(self.tabs.addTab(self.norm_view, label), TAB_TIPS[key])
                continue
            view = MapView()
            view.setObjectName(f"inspector_{key}")
            view.unit_clicked.connect(lambda unit, k=key: self._on_unit_clicked(k, unit))
            view.unit_name = lambda unit, k=key: self._cell_name(k, unit)
            self.views[key] = view
            self.tabs.setTabToolTip(self.tabs.addTab(view, label), TAB_TIPS[key])
        self._auto = "maps"
        self._pinned: Target | None = None  # the layer a click chose; None: follow the pass
        self._keep: Target | None = None  # stay on this layer through the next selection change
        self.tabs.currentChanged.connect(lambda _index: self.refresh())
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.note)
        layout.addWidget(self.tabs, 1)
        ctrl.stepper_changed.connect(self._on_stepper_changed)
        ctrl.selection_changed.connect(self._on_selection_changed)
        for signal in (ctrl.spec_changed, ctrl.weights_changed):
            signal.connect(self._follow_the_pass)
        ctrl.input_changed.connect(self.refresh)
        self.refresh()

    # ----- what each tab shows -------------------------------------------------------------
    def target(self) -> Target:
        """The inspected layer: the one a click pinned, else the current step's (an inner
        layer of a block for an inner step; the last layer for the loss), else 0."""
        if self._pinned is not None and self._pinned.fits(self.ctrl):
            return self._pinned
        return current_target(self.ctrl)

    def layer(self) -> int:
        """The inspected top-level layer (a block's index for one of its inner layers)."""
        return self.target().layer

    def params(self) -> dict[str, np.ndarray]:
        """The inspected layer's live parameters ({} for none)."""
        return self.target().params(self.ctrl)

    def content(self, key: str) -> tuple[np.ndarray | None, bool, int, str]:
        """(array, signed, mosaic columns, note) for a tab of the inspected layer."""
        st, t, n = self.ctrl.stepper, self.target(), self.ctrl.selection.example
        F, B = t.step("F"), t.step("B")
        fwd, back = st.record(F), st.record(B)
        params = self.params()
        if key == "input":
            if fwd is None:
                return None, False, 0, f"step to {F} to see this layer's input"
            x = fwd.values["input"][n]
            return x, bool(np.min(x) < 0), 0, "the layer's input o (previous output)"
        if key == "maps":
            if fwd is None:
                return None, False, 0, f"step to {F} to see the feature maps"
            out = fwd.values["output"][n]
            return out, bool(np.min(out) < 0), 0, "output of the layer (per channel)"
        if key == "mask":
            rec = layer_record(self.ctrl, t, ("dropout",))
            mask = mask_of(rec, n)
            if mask is None:
                return None, False, 0, "dropout mask: select a dropout layer and step its F " \
                    "in train mode (eval mode: no mask)"
            return mask, False, 0, f"{rec.name}: dropout mask, 1 kept (scaled by 1/(1 − p)), " \
                f"0 dropped — {int(mask.sum())} of {mask.size} kept"
        if key == "filters":
            if "weight" not in params:
                return None, True, 0, "this layer has no weights"
            if self._rgb_filters():
                return params["weight"], True, 0, \
                    "filters over R, G, B as colour images (mid-grey = 0, each filter scaled)"
            stack, cols = weight_stack(params["weight"])
            return stack, True, cols, "weights w: one row per output channel"
        if key == "deltas":
            delta = output_delta(self.ctrl, t)
            if delta is None:
                return None, True, 0, "the deltas appear when the backward pass reaches this layer"
            return delta, True, 0, "δ = ∂E/∂o of the layer's output"
        if key == "wgrads":
            if back is None or "grad_weight" not in back.values:
                return None, True, 0, f"∂E/∂w appears at step {B} (layers with weights)"
            stack, cols = weight_stack(back.values["grad_weight"])
            return stack, True, cols, "∂E/∂w = δ ⋆ o (summed over the batch)"
        return self._winners_content(t, n)

    def _winners_content(self, t: Target, n: int) -> tuple[np.ndarray | None, bool, int, str]:
        """The pool's input (forward) or the routed gradient (backward), winners marked."""
        if t.spec(self.ctrl).type != "maxpool2d":
            return None, False, 0, "pool winners: select a max-pool layer"
        fwd, back = self.ctrl.stepper.record(t.step("F")), self.ctrl.stepper.record(t.step("B"))
        if fwd is None:
            return None, False, 0, f"step to {t.step('F')} to see the winners"
        if back is not None:
            return back.values["grad_input"][n], True, 0, \
                "backward: the delta goes to the winners only (marked)"
        tied = int(self._tied(fwd, n).sum())
        note = "the pool's input; the winner of each window marked"
        if tied:
            note += f" ({tied} windows have all cells equal: no real winner, none marked)"
        return fwd.values["input"][n], False, 0, note

    # ----- refresh -------------------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw the visible tab (the others are drawn when shown)."""
        self._sync_example()
        self._follow_direction()
        t = self.target()
        spec = t.spec(self.ctrl)
        key = TABS[self.tabs.currentIndex()][0]
        self.title.setText(title_text(t, spec))
        weight = spec.param_shapes.get("weight", ())
        self.rgb.setVisible(len(weight) == 4 and weight[1] == 3)
        if key == "norm":
            self.note.setText(drawable(self._refresh_norm(t)))
            return
        array, signed, cols, note = self.content(key)
        self.note.setText(drawable(note))
        view = self.views[key]
        if key == "filters" and self._rgb_filters():
            show_rgb(view, array)
            return
        view.set_array(array, signed, columns=cols)
        if array is not None:
            self._draw_overlays(key, view)

    def _rgb_filters(self) -> bool:
        """True when the filters tab draws colour images (3 input channels, RGB on)."""
        shape = self.target().spec(self.ctrl).param_shapes.get("weight", ())
        return self.rgb.isChecked() and len(shape) == 4 and shape[1] == 3

    def _refresh_norm(self, t: Target) -> str:
        """Fill the batch-norm table; the note says which step it shows."""
        rec = layer_record(self.ctrl, t, NORM_TYPES)
        if rec is None:
            self.norm_view.show_rows([], True)
            return "batch norm: select a batch-norm layer (or step to one) and run its F step"
        training = bool(rec.meta.get("training", True))
        self.norm_view.show_rows(norm_rows(self.ctrl, rec), training)
        how = "the batch's statistics" if training else "the running statistics (eval mode)"
        return f"{rec.name}: normalised with {how}; x̂ = (x − μ)/√(σ² + ε), o = γ·x̂ + β"

    def _on_selection_changed(self) -> None:
        """A click (here or in another panel) pins the inspector to the selected layer."""
        self._pinned = self._keep if self._keep is not None else selected_target(self.ctrl)
        self._keep = None
        self.refresh()

    def _on_stepper_changed(self) -> None:
        """A step ran; back at the start of a pass (reset, new pass) the pin is let go."""
        if self.ctrl.stepper.cursor == 0:
            self._pinned = None
        self.refresh()

    def _follow_the_pass(self) -> None:
        """A new network or new weights: show the pass again rather than an old click."""
        self._pinned = None
        self.refresh()

    def _follow_direction(self) -> None:
        """Switch maps ↔ deltas/winners ↔ filters as the pass turns, unless the user has
        picked another tab by hand."""
        rec = self.ctrl.stepper.current
        kind = rec.kind if rec is not None else "forward"
        spec = self.target().spec(self.ctrl)
        wanted = auto_tab(kind, spec.type, "weight" in spec.param_shapes)
        if wanted == self._auto:
            return
        if TABS[self.tabs.currentIndex()][0] == self._auto:
            self.tabs.blockSignals(True)
            self.tabs.setCurrentIndex([k for k, _ in TABS].index(wanted))
            self.tabs.blockSignals(False)
        self._auto = wanted

    def _sync_example(self) -> None:
        """Spin box range = the batch size; shown only for a mini-batch (with one example
        there is nothing to pick, and the title gets the whole width)."""
        batch = int(self.ctrl.stepper.x.shape[0])
        self.example.setVisible(batch > 1)
        self.example.blockSignals(True)
        self.example.setRange(0, max(0, batch - 1))
        self.example.setValue(self.ctrl.selection.example)
        self.example.blockSignals(False)

    def _draw_overlays(self, key: str, view: MapView) -> None:
        """Selected unit, explanation cells and pool winners."""
        sel, c, t = self.ctrl.selection, self.colors, self.target()
        shown = previous_target(self.ctrl, t) if key in ("input", "winners") else t
        selected = selected_target(self.ctrl)
        if key in ("maps", "deltas", "input", "winners") and sel.unit is not None \
                and selected is not None and selected == shown:
            view.mark_units([tuple(sel.unit)], c.outline)
        if key == "winners":  # lighter once the gradient is drawn, which it must not hide
            backward = self.ctrl.stepper.record(t.step("B")) is not None
            color = "#66" + c.winner[1:] if backward else c.winner
            view.mark_units(self.winners(), color, width=1.0)
        if key == "filters" and self.ctrl.weight_focus is not None and selected == t:
            view.mark_units([self._weight_cell(self.ctrl.weight_focus[1])], c.outline)
        ex, _ = current_explanation(self.ctrl)
        if ex is not None and target_of_step(ex.step) == t:
            cells = self._explained_cells(key, ex)
            if key == "filters":  # whole kernels outlined: every weight stays visible
                view.outline_maps([cell[0] for cell in cells], c.accent)
            else:
                view.mark_units(cells, c.accent)

    def winners(self) -> list[tuple[int, int, int]]:
        """The engine's argmax cells of the inspected max-pool layer for the shown example,
        without the windows whose cells are all equal (no real winner)."""
        t, n = self.target(), self.ctrl.selection.example
        fwd = self.ctrl.stepper.record(t.step("F"))
        if fwd is None or "argmax" not in fwd.values:
            return []
        spec = t.spec(self.ctrl)
        return winner_cells(fwd.values["argmax"][n], spec.in_shape[2], self._tied(fwd, n))

    def _tied(self, fwd: StepRecord, n: int) -> np.ndarray:
        """The inspected pool's windows without a real winner, for example n."""
        spec = self.target().spec(self.ctrl)
        config = spec.config
        return tied_windows(fwd.values["input"][n], config["kernel_size"], config["stride"],
                            config["padding"], spec.out_shape[1:])

    def _cell_name(self, key: str, unit: tuple[int, ...]) -> str:
        """How the hover readout names a cell: w[o,c,m,n] for weights, o[c,i,j] for maps."""
        if key == "filters" and self._rgb_filters():
            return f"mean over R, G, B of w[{unit[0]},:,{unit[1]},{unit[2]}]"
        if key in ("filters", "wgrads") and "weight" in self.params():
            name = weight_name(self._weight_index(unit))
            return name if key == "filters" else f"∂E/∂{name}"
        return SYMBOLS.get(key, "") + unit_text(unit)

    def _weight_index(self, cell: tuple[int, ...]) -> tuple[int, ...]:
        """The weight index of a cell of the filters mosaic (inverse of _weight_cell)."""
        shape = self.target().spec(self.ctrl).param_shapes["weight"]
        if self._rgb_filters():  # one colour tile per filter: its red weight
            return (cell[0], 0, cell[1], cell[2])
        if len(shape) == 4:
            o, ci = divmod(cell[0], shape[1])
            return (o, ci, cell[1], cell[2])
        return (cell[1], cell[2])

    def _weight_cell(self, index: tuple[int, ...]) -> tuple[int, ...]:
        """A weight index as a cell of the filters mosaic."""
        if len(index) == 4:
            cin = self.target().spec(self.ctrl).param_shapes["weight"][1]
            o, ci, m, q = index
            return (o * cin + ci, m, q)
        return (0, *index)

    def _explained_cells(self, key: str, ex: Explanation) -> list[tuple[int, ...]]:
        """Cells of an explanation that belong to a tab (input cells, weights, window)."""
        cells = ex.cells or {}
        if key in ("input", "winners"):
            found = list(cells.get("input", [])) + list(cells.get("window", []))
            winner = cells.get("winner")
            found += [winner] if winner is not None else []
            ndim = 3 if len(self.target().spec(self.ctrl).in_shape) == 3 else 1
            return [tuple(u)[-ndim:] for u in found if len(u) >= ndim]
        if key == "filters" and ex.kind == "forward":
            return [self._weight_cell(tuple(w)) for w in cells.get("weight", [])]
        return []

    # ----- clicks --------------------------------------------------------------------------
    def _on_unit_clicked(self, key: str, unit: tuple) -> None:
        """Maps and deltas select a unit; the input and the winners select that unit of the
        previous layer (the inspector stays here); filters and gradients focus a weight."""
        t = self.target()
        if key in ("maps", "deltas"):
            self.ctrl.select_unit(t.layer, unit, t.inner)
        elif key in ("input", "winners"):
            self._select_input_cell(t, key, unit)
        elif "weight" in self.params():
            self.ctrl.select_weight(t.layer, self._weight_index(unit), t.inner)

    def _select_input_cell(self, t: Target, key: str, unit: tuple) -> None:
        """A cell of this layer's input is a unit of the previous layer's output (inside a
        block: the branch's previous layer, or the layer before the block), or a pixel."""
        previous = previous_target(self.ctrl, t)
        if previous is None:
            value = self.views[key].value_at(unit)
            self.ctrl.status_changed.emit(f"network input x{unit_text(unit)} = {value:.6g}")
            return
        self._keep = t
        self.ctrl.select_unit(previous.layer, unit, previous.inner)
        self._keep = None

    def _on_example_changed(self, n: int) -> None:
        """Show another example of the batch."""
        if n != self.ctrl.selection.example:
            self.ctrl.select_example(n)

    def set_colors(self, colors: Colors) -> None:
        """Follow the theme."""
        self.colors = colors
        for view in self.views.values():
            view.setBackground(colors.panel)
        self.refresh()

    def show_tab(self, key: str) -> MapView | NormStatsView:
        """Switch to a tab by key (tests and menu actions) and return its view."""
        self.tabs.setCurrentIndex([k for k, _ in TABS].index(key))
        return self.norm_view if key == "norm" else self.views[key]
