"""Which layer a debugger panel shows: a top-level layer, or an inner layer of a residual
block ("4.body.0", whose steps are F4.0 and B4.0).

A ``Target`` names it once for the inspector, the explain panel and the pipeline: its step
records, its parameters, its δ, the layer whose output it reads. Nothing is computed here:
every array comes from the step records or the network's live parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.app.controller import AppController
from cnnviz.app.debugger.pipeline_content import INPUT, LOSS, Key, delta_of, inner_ref
from cnnviz.core.spec_types import LayerSpec
from cnnviz.engine.steps import (
    inner_name,
    inner_output_grad_of,
    layer_of,
    layer_spec_of,
    parse_step,
    split_inner,
    step_suffix,
)


@dataclass(frozen=True)
class Target:
    """Top-level layer `layer`, or its inner layer `inner` ("body.0", "shortcut.1")."""

    layer: int
    inner: str | None = None

    @property
    def key(self) -> Key:
        """The pipeline's column key: the layer index, or "4.0" / "6.s1" inside a block."""
        return self.layer if self.inner is None else step_suffix(self.layer, self.inner)

    def step(self, kind: str) -> str:
        """This layer's forward or backward step name: step("B") → "B4.0"."""
        return kind + step_suffix(self.layer, self.inner)

    def spec(self, ctrl: AppController) -> LayerSpec:
        """The layer's spec (shapes, type, parameter shapes)."""
        return layer_spec_of(ctrl.spec, self.layer, self.inner)

    def label(self, ctrl: AppController) -> str:
        """How the app names the layer and its parameters: "3", "4.body.0"."""
        return self.spec(ctrl).key

    def params(self, ctrl: AppController) -> dict[str, np.ndarray]:
        """The layer's live parameters ({} for none; a block's own: none of its inner ones)."""
        if self.inner is None and self.spec(ctrl).type == "residual":
            return {}
        return layer_of(ctrl.network, parse_step(self.step("F"))).params

    def fits(self, ctrl: AppController) -> bool:
        """True if the current network has this layer."""
        try:
            self.spec(ctrl)
        except (IndexError, ValueError, AttributeError):
            return False
        return True


def target_of_key(key: Key) -> Target | None:
    """The target of a pipeline column key (None for the input and loss columns)."""
    if key in (INPUT, LOSS):
        return None
    ref = inner_ref(key)
    return Target(int(key)) if ref is None else Target(ref.layer, ref.inner)


def target_of_step(name: str) -> Target | None:
    """The layer a step runs ("B4.3" → 4.body.3); None for L and U."""
    ref = parse_step(name)
    return None if ref.layer is None else Target(ref.layer, ref.inner)


def current_target(ctrl: AppController) -> Target:
    """The current step's layer (an inner one for an inner step); the last layer for the
    loss; layer 0 before the first step and after the update."""
    rec = ctrl.stepper.current
    if rec is not None and rec.kind == "loss":
        return Target(len(ctrl.spec.layers) - 1)
    if rec is None or rec.layer is None:
        return Target(0)
    return Target(rec.layer, rec.inner)


def selected_target(ctrl: AppController) -> Target | None:
    """The selected layer (or inner layer), None when nothing is selected."""
    sel = ctrl.selection
    return None if sel.layer is None else Target(sel.layer, sel.inner)


def previous_target(ctrl: AppController, target: Target) -> Target | None:
    """The layer whose output this one reads: the branch's layer before it, the layer before
    the block for a branch's first layer; None for the network input."""
    if target.inner is not None:
        branch, j = split_inner(target.inner)
        if j > 0:
            return Target(target.layer, f"{branch}.{j - 1}")
    return Target(target.layer - 1) if target.layer > 0 else None


def output_delta(ctrl: AppController, target: Target) -> np.ndarray | None:
    """δ = ∂E/∂o of the layer's output for the shown example, None before it is computed."""
    if target.inner is None:
        return delta_of(ctrl, target.layer)
    grad = inner_output_grad_of(ctrl.stepper, parse_step(target.step("F")))
    return None if grad is None else grad[ctrl.selection.example]


def delta_step(ctrl: AppController, target: Target) -> str | None:
    """The step whose explanation, for a unit of the layer's output, gives that unit's δ —
    None until it has run. The next layer's backward step explains its input unit; a block
    does so once its two paths joined (B<i>.0); a branch's last layer gets the addition's
    copy (B<i>) while the paths run back, then the δ of the block's output."""
    st, spec = ctrl.stepper, ctrl.spec
    if target.inner is not None:
        branch, j = split_inner(target.inner)
        if j < len(getattr(spec.layers[target.layer], branch)) - 1:
            name = inner_name("B", target.layer, branch, j + 1)
            return name if st.record(name) is not None else None
        if st.record(f"B{target.layer}.0") is None:
            name = f"B{target.layer}"
            return name if st.record(name) is not None else None
        return delta_step(ctrl, Target(target.layer))
    if target.layer == len(spec.layers) - 1:
        return "L" if st.record("L") is not None else None
    name = f"B{target.layer + 1}"
    ran = f"{name}.0" if spec.layers[target.layer + 1].type == "residual" else name
    return name if st.record(ran) is not None else None


def title_text(t: Target, spec: LayerSpec) -> str:
    """`Layer 3 relu → 16×14×14`; an inner layer by its parameter name and its steps,
    `Layer 4.body.0 conv2d → 16×14×14 · steps F4.0, B4.0`."""
    shape = "×".join(str(s) for s in spec.out_shape)
    text = f"<b>Layer {spec.key} {spec.type}</b> → {shape}"
    if t.inner is not None:
        text += f" · steps {t.step('F')}, {t.step('B')}"
    return text
