"""The explain panel: the selected unit's computation at the current step, with its numbers.

The engine builds the ``Explanation`` (terms, value, text, cells, figures); this panel only
chooses which step to ask about and shows the answer three ways: the computation view
(grids of numbers), the formula as text, and the sliding-window animation of the map.
With a residual block selected it follows the block's inner steps (`_block_request`).
"""

from __future__ import annotations

import html

from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from cnnviz.app.controller import AppController
from cnnviz.app.debugger.animation_view import AnimationView
from cnnviz.app.debugger.computation_view import ComputationView
from cnnviz.app.debugger.targets import delta_step, selected_target
from cnnviz.app.widgets.glyphs import drawable
from cnnviz.engine.explain import Explanation
from cnnviz.engine.explain_terms import idx
from cnnviz.engine.records import StepRecord

KIND_TITLES = {"forward": "Forward", "loss": "Loss", "backward": "Backward", "update": "Update"}


def pick_request(ctrl: AppController) -> tuple[str, tuple[int, ...]] | str:
    """(step, unit) to explain for the selection at the current step, or a hint why not.
    The selection may be an inner layer of a block: its steps are F4.0 / B4.0, its
    parameters 4.body.0.weight."""
    st, sel, n = ctrl.stepper, ctrl.selection, ctrl.selection.example
    rec, t = st.current, selected_target(ctrl)
    if t is None:
        return "Click a unit in the pipeline or the inspector to see its formula."
    label, has_params = t.label(ctrl), bool(t.params(ctrl))
    kind = rec.kind if rec is not None else "forward"
    F, B = t.step("F"), t.step("B")
    if ctrl.weight_focus is not None and ctrl.weight_focus[0] == t.layer:
        index = ctrl.weight_focus[1]
        if kind == "update":
            return "U", (f"{label}.weight", index)
        if st.record(B) is not None:
            return B, ("weight", index)
        return f"Weight w{idx(*index)} of layer {label}: its gradient appears once {B} has run."
    if sel.unit is None:
        return f"Layer {label} selected: click one of its units to see its formula."
    unit = (n, *sel.unit)
    inner = _block_request(rec, t.layer, unit) if t.inner is None else None
    if inner is not None:
        return inner
    if kind == "update" and has_params:
        return "U", (f"{label}.bias", (sel.unit[0],))
    delta = delta_step(ctrl, t) if kind in ("backward", "loss", "update") else None
    if delta is not None:
        return delta, unit
    if st.record(F) is not None:
        return F, unit
    return (f"Unit {idx(*sel.unit)} of layer {label} is computed by step {F}: step forward to "
            "it (F10).")


def _block_request(rec: StepRecord | None, L: int,
                   unit: tuple[int, ...]) -> tuple[str, tuple[int, ...]] | str | None:
    """While the current step is one of the selected block's own — an inner layer's, or B<L>
    handing δ to both branches — explain that step at the selected unit (the block's units
    index its inner maps too), or say why the unit is not one of the step's. None otherwise."""
    if rec is None or rec.layer != L or rec.kind not in ("forward", "backward"):
        return None
    if rec.inner is not None:
        tensor = rec.values["output" if rec.kind == "forward" else "grad_input"]
    elif rec.layer_type == "residual" and rec.kind == "backward":
        tensor = rec.values["grad_output"]
    else:
        return None
    if len(unit) == tensor.ndim and all(0 <= u < s for u, s in zip(unit, tensor.shape,
                                                                    strict=True)):
        return rec.name, unit
    what = "output" if rec.kind == "forward" else "input delta"
    dims = "×".join(str(s) for s in tensor.shape[1:])
    return (f"Step {rec.name} ({rec.layer_type}, inside block {L}) has a {dims} {what}: unit "
            f"{idx(*unit[1:])} is not in it. Select a unit within {dims} to see its grids.")


def current_explanation(ctrl: AppController) -> tuple[Explanation | None, str]:
    """(Explanation or None, message): the engine's answer for the current selection."""
    request = pick_request(ctrl)
    if isinstance(request, str):
        return None, request
    step, unit = request
    try:
        return ctrl.stepper.explain(step, unit), ""
    except ValueError as error:
        return None, str(error)


def to_html(ex: Explanation, big: bool = True) -> str:
    """Rich text of an Explanation: a heading, the formula, then the numbers; sized from
    the application font, so that zoom and presentation mode enlarge it too."""
    base = QGuiApplication.font().pointSize()
    size = max(10, base + 2 if big else base)
    title = f"{KIND_TITLES.get(ex.kind, ex.kind)} step {ex.step}"
    if ex.layer is not None:
        title += f", layer {ex.layer}"
    unit = html.escape(unit_label(ex.unit))
    lines = [f"<p style='font-size:{size - 1}pt'><b>{html.escape(title)} — unit {unit}</b></p>"]
    if ex.formula:
        lines.append(f"<p style='font-size:{size}pt'><i>{html.escape(ex.formula)}</i></p>")
    body = html.escape(ex.text)
    lines.append(f"<pre style='font-size:{size}pt; font-family: monospace; "
                 f"white-space: pre-wrap'>{body}</pre>")
    lines.append(f"<p style='font-size:{size + 3}pt'><b>value = {ex.value:.6g}</b>"
                 f" &nbsp; (recorded {ex.recorded:.6g})</p>")
    return "\n".join(lines)


def result_html(ex: Explanation) -> str:
    """The unit's result as one big bold line, e.g. `x[0,2,4,4] = -2.22213`, with the
    recorded value when it differs in print (the recomputed sum's rounding)."""
    size = QGuiApplication.font().pointSize() + 4
    text = f"{result_symbol(ex.text)} = {ex.value:.6g}"
    if f"{ex.value:.6g}" != f"{ex.recorded:.6g}":
        text += f"   (recorded {ex.recorded:.6g})"
    return f"<span style='font-size:{size}pt'><b>{html.escape(text)}</b></span>"


def result_symbol(text: str) -> str:
    """The left-hand side of an explanation's sum: the line followed by its aligned
    `= numbers` line (batch norm prints its statistics first), else the first line's."""
    lines = text.split("\n")
    for line, after in zip(lines, lines[1:], strict=False):
        if " = " in line and after[:1] == " " and after.lstrip().startswith("= "):
            return line.split(" = ", 1)[0].strip()
    return lines[0].split(" = ", 1)[0].strip() if " = " in lines[0] else "value"


def unit_label(unit: object) -> str:
    """A unit or weight as the app writes indices: `[0,2,3]`, `w[0,0,3,2]`,
    `0.weight[3,0,2,2]` — never Python's tuple syntax."""
    if isinstance(unit, tuple) and len(unit) == 2 and isinstance(unit[0], str):
        name, index = unit
        return ("w" if name == "weight" else name) + idx(*index)
    return idx(*unit) if isinstance(unit, tuple) else str(unit)


def to_text(ex: Explanation) -> str:
    """Plain text of an Explanation, for the clipboard."""
    head = f"{ex.step} unit {unit_label(ex.unit)}"
    formula = f"\n{ex.formula}" if ex.formula else ""
    return f"{head}{formula}\n{ex.text}\nvalue = {ex.value:.9g} (recorded {ex.recorded:.9g})"


class ExplainPanel(QWidget):
    """Shows the selected unit at the current step as grids, as a formula, and animated."""

    def __init__(self, ctrl: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctrl = ctrl
        self.explanation: Explanation | None = None
        self.message = ""
        self.browser = QTextBrowser()
        self.browser.setObjectName("explain_text")
        self.header = QLabel("")
        self.result = QLabel("")  # the unit's value, above the tabs: never below the fold
        self.result.setObjectName("explain_result")
        self.result.setWordWrap(True)
        self.copy_button = QPushButton("Copy as text")
        self.copy_button.setToolTip("Copy the formula with its numbers as plain text (Ctrl+C)")
        self.copy_button.clicked.connect(self.copy_text)
        shortcut = QShortcut(QKeySequence.StandardKey.Copy, self)
        shortcut.activated.connect(self.copy_text)
        self.computation = ComputationView()
        self.animation = AnimationView()
        self.tabs = QTabWidget()
        self.tabs.setObjectName("explain_tabs")
        self.tabs.addTab(self.computation, "Computation")
        self.tabs.addTab(self.browser, "Formula")
        self.tabs.addTab(self.animation, "Animation")
        self.tabs.currentChanged.connect(self._refresh_animation)
        self._page_policies = [self.tabs.widget(i).sizePolicy() for i in range(self.tabs.count())]
        self.tabs.currentChanged.connect(self._size_by_current_page)
        self._size_by_current_page(self.tabs.currentIndex())
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.copy_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.result)
        layout.addWidget(self.tabs, 1)
        for signal in (ctrl.stepper_changed, ctrl.selection_changed, ctrl.spec_changed,
                       ctrl.input_changed, ctrl.weights_changed):
            signal.connect(self.refresh)
        self.refresh()

    def _size_by_current_page(self, index: int) -> None:
        """Only the shown tab counts for the dock's size: a tab widget otherwise keeps its
        largest page's minimum (the animation's), and once the animation had been shown
        at 1280×720 the pipeline above could not grow back (264 px, not 330)."""
        ignored = QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        for i, policy in enumerate(self._page_policies):
            self.tabs.widget(i).setSizePolicy(policy if i == index else ignored)
        self.tabs.updateGeometry()

    def refresh(self) -> None:
        """Ask the engine for the explanation and render it."""
        self.explanation, self.message = current_explanation(self.ctrl)
        self.computation.show_explanation(self.explanation, self.message)
        self._refresh_animation()
        if self.explanation is None:
            self.header.setText("")
            self.result.setText("")
            self.browser.setHtml(f"<p style='font-size:14pt'>{html.escape(self.message)}</p>")
            return
        self.header.setText(f"step {self.explanation.step}, unit "
                            f"{unit_label(self.explanation.unit)}")
        self.result.setText(drawable(result_html(self.explanation)))
        self.browser.setHtml(drawable(to_html(self.explanation)))

    def _refresh_animation(self) -> None:
        """Stop the animation; rebuild it for the new selection if its tab is shown."""
        self.animation.stop()
        if self.tabs.currentWidget() is self.animation:
            self.animation.refresh(self.ctrl.stepper, self.explanation)

    def show_tab(self, key: str) -> QWidget:
        """Show "computation", "formula" or "animation" (tests and screenshots)."""
        index = ["computation", "formula", "animation"].index(key)
        self.tabs.setCurrentIndex(index)
        return self.tabs.currentWidget()

    def text(self) -> str:
        """What Copy puts on the clipboard."""
        return to_text(self.explanation) if self.explanation is not None else self.message

    def copy_text(self) -> None:
        """Put the explanation on the clipboard as plain text."""
        QGuiApplication.clipboard().setText(self.text())
        self.ctrl.status_changed.emit("Formula copied to the clipboard")
