"""The computation view and the animation: the cells on screen are the engine's numbers."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint

from cnnviz.app.controller import AppController
from cnnviz.app.debugger.animation_view import AnimationView
from cnnviz.app.debugger.computation_view import ComputationView
from cnnviz.app.debugger.explain_panel import ExplainPanel
from cnnviz.app.widgets.number_grid import format_value
from cnnviz.core import Network
from cnnviz.core.optim import Adam
from cnnviz.engine import Stepper

# stride 2 + padding, 3 input channels, max pool, dense, mse: every kind on one small net
SPEC = {
    "input": [3, 7, 7],
    "layers": [
        {"type": "conv2d", "out_channels": 2, "kernel_size": 3, "stride": 2, "padding": 1},
        {"type": "tanh"},
        {"type": "conv2d", "out_channels": 2, "kernel_size": 2, "padding": 1},
        {"type": "maxpool2d", "kernel_size": 2},
        {"type": "flatten"},
        {"type": "dense", "units": 3},
    ],
    "loss": "cross_entropy",
}


@pytest.fixture(scope="module")
def st():
    net = Network.from_spec(SPEC, seed=2, dtype="float64")
    rng = np.random.default_rng(2)
    st = Stepper(net, rng.normal(size=(2, 3, 7, 7)), np.array([1, 2]), Adam(lr=0.01))
    st.run_all()
    return st


@pytest.fixture
def view(qtbot):
    widget = ComputationView()
    qtbot.addWidget(widget)
    widget.resize(900, 700)
    widget.show()
    return widget


UNITS = [("F0", (1, 1, 0, 0)), ("F0", (0, 0, 3, 3)), ("F1", (1, 0, 2, 1)),
         ("F2", (0, 1, 0, 4)), ("F3", (1, 0, 1, 1)), ("F4", (0, 3)), ("F5", (1, 2)),
         ("L", (1, 2)), ("L", (0,)), ("B5", (1, 4)), ("B5", ("weight", (2, 3))),
         ("B3", (0, 1, 2, 3)), ("B2", (1, 0, 0, 0)), ("B2", ("weight", (1, 0, 1, 0))),
         ("B2", ("bias", (1,))), ("B1", (0, 1, 3, 3)), ("B0", (1, 2, 0, 0)),
         ("B0", ("weight", (0, 2, 0, 0))), ("U", ("0.weight", (1, 2, 0, 1)))]


@pytest.mark.parametrize(("step", "unit"), UNITS, ids=[f"{s}-{u}" for s, u in UNITS])
def test_cells_on_screen_are_the_explanation_numbers(view, st, step, unit):
    """Every grid widget shows exactly its figure grid; the figure holds the value."""
    ex = st.explain(step, unit)
    view.show_explanation(ex)
    figure = ex.figures["computation"]
    assert [g.grid for g in view.view.grids] == figure.grids()
    for widget, grid in zip(view.view.grids, figure.grids(), strict=True):
        assert widget.grid.values is grid.values
        rows, cols = grid.values.shape
        assert widget.cell_text(rows - 1, cols - 1) == format_value(grid.values[-1, -1], 4)
    values = [w.grid.values[0, 0] for w in view.view.grids if w.grid.values.size == 1]
    assert ex.value in values or step == "U"


def test_digits_switch_and_full_precision_tooltip(view, st):
    """3, 4, 6 or all significant digits in the cells; the tooltip has every digit."""
    ex = st.explain("F0", (1, 1, 0, 0))
    view.show_explanation(ex)
    widget = view.view.grids[0]
    value = float(widget.grid.values[1, 1])
    for index, digits in enumerate((3, 4, 6, 0)):
        view.digits.setCurrentIndex(index)
        text = view.view.grids[0].cell_text(1, 1)
        assert text == format_value(value, digits)
        if digits:
            assert len(text.replace("−", "").replace(".", "").lstrip("0")) <= digits
    assert float(view.view.grids[0].cell_text(1, 1).replace("−", "-")) == value
    assert repr(value) in widget.tooltip_text(1, 1) and "o[1,0,0,0]" in widget.tooltip_text(1, 1)
    assert "padding" in widget.tooltip_text(0, 0)  # the border unit's window reaches it
    assert widget.cell_at(widget.cell_rect(1, 1).center()) == (1, 1)
    assert widget.cell_at(QPoint(0, 0)) is None


def test_seed_form_toggle_on_backward_conv(view, st):
    """Only a backward conv input delta has the seed form; it folds in tanh′ of F1."""
    view.show_explanation(st.explain("F0", (0, 0, 1, 1)))
    assert not view.seed.isEnabled()
    ex = st.explain("B2", (1, 0, 2, 2))
    view.show_explanation(ex)
    assert view.seed.isEnabled()
    view.seed.setChecked(True)
    assert view.figure() is ex.figures["seed"]
    symbols = [g.grid.symbol for g in view.view.grids]
    assert "δ^l[1,0,2,2]" in symbols
    folded = next(g.grid for g in view.view.grids if g.grid.symbol == "δ^l[1,0,2,2]")
    assert folded.values[0, 0] == pytest.approx(
        float(st.record("B1").values["grad_input"][1, 0, 2, 2]), abs=1e-12)


def test_animation_frames_fill_the_recorded_map(qtbot, st):
    """Stepping the animation view fills the canvas's map with the recorded output."""
    anim = AnimationView()
    qtbot.addWidget(anim)
    anim.resize(1000, 700)
    anim.show()
    anim.refresh(st, st.explain("F0", (1, 1, 2, 2)))
    out = st.record("F0").values["output"][1, 1]
    for t in range(out.size):
        if t:
            anim.single_step()
        i, j = divmod(t, out.shape[1])
        assert anim.canvas.target_values()[i, j] == pytest.approx(out[i, j], abs=1e-12)
    assert np.allclose(anim.canvas.target_values(), out, atol=1e-12)
    anim.refresh(st, st.explain("F5", (0, 1)))  # dense: no window slides
    assert anim.animation is None and "vector" in anim.message.text()


def test_play_runs_on_a_timer_and_stops_when_the_step_changes(qtbot):
    """Play never blocks; a step or selection change stops the timer."""
    ctrl = AppController("square")
    panel = ExplainPanel(ctrl)
    qtbot.addWidget(panel)
    panel.resize(900, 700)
    panel.show()
    ctrl.run_to("F0")
    ctrl.select_unit(0, (0, 2, 2))
    panel.show_tab("animation")
    view = panel.animation
    assert view.animation is not None and view.animation.kind == "conv"
    view.speed.setValue(20)
    view.play.setChecked(True)
    assert view.timer.isActive()
    qtbot.waitUntil(lambda: view.canvas.index >= 2, timeout=3000)
    ctrl.step()
    assert not view.timer.isActive() and not view.play.isChecked()
    view.play.setChecked(True)
    ctrl.select_unit(0, (0, 1, 1))
    assert not view.timer.isActive()
    view.mode.setCurrentIndex(1)  # true convolution: the flipped kernel
    assert view.animation.notes[-1].startswith("true convolution")
    view.stop()
