"""Finite-difference gradient check: central differences in float64, per tensor.

Entries are nudged by ±h and the change of a loss, (E(θ+h) − E(θ−h)) / 2h, is compared
with the gradient backprop computed: per layer (parameters and input delta) by default,
or for the whole network's loss. Large tensors are sampled (a seeded subset of
entries) unless `max_checks` is None. The check runs in the network's mode: batch norm in
training mode is checked with its batch statistics (the three-term backward), and the
dropout masks of the recorded pass are kept fixed while entries are nudged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.core.layers import Dropout, iter_layers
from cnnviz.core.network import Network

DEFAULT_TOLERANCE = 1e-6
EPS = float(np.finfo(np.float64).eps)


@dataclass
class TensorCheck:
    """The outcome for one tensor: how many entries were checked and the worst errors."""

    name: str
    shape: tuple[int, ...]
    checked: int
    max_abs_error: float
    max_rel_error: float
    tolerance: float
    kinks: int = 0  # entries on a kink, checked against a one-sided slope

    @property
    def passed(self) -> bool:
        return bool(self.max_rel_error <= self.tolerance)


def relative_error(analytic: float, numeric: float, floor: float = 1e-7) -> float:
    """|a − n| / max(|a|, |n|, floor): the floor keeps near-zero gradients meaningful."""
    return abs(analytic - numeric) / max(abs(analytic), abs(numeric), floor)


def _entries(size: int, max_checks: int | None, rng: np.random.Generator) -> np.ndarray:
    if max_checks is None or size <= max_checks:
        return np.arange(size)
    return np.sort(rng.choice(size, size=max_checks, replace=False))


def _check_tensor(name, array, analytic, loss_of, h, max_checks, rng, tolerance) -> TensorCheck:
    """Nudge sampled entries of `array` by ±h and compare slopes with `analytic`.

    `loss_of` returns (value, weigh, scale): the loss, or a layer's output with
    `weigh(difference)` turning a difference of outputs into one of the surrogate loss
    (differencing outputs before summing keeps zeros small), and the size of the summed
    terms. A slope is only as exact as the rounding noise 4·ε·scale/h of the differences:
    below it (a conv bias before batch norm has a gradient of exactly 0) errors are
    measured against that noise, which counts as a relative error of DEFAULT_TOLERANCE.
    An entry on a kink (relu at 0, a max-pool tie) has no two-sided derivative; there
    the gradient must equal one of the one-sided slopes, and the entry is counted in
    `kinks` so that the report says so.
    """
    flat = array.reshape(-1)
    grad = analytic.reshape(-1)
    worst_abs = worst_rel = 0.0
    kinks = 0
    base, weigh, scale = loss_of()
    floor = max(1e-7, 4 * EPS * scale / h / DEFAULT_TOLERANCE)
    picks = _entries(flat.size, max_checks, rng)
    for k in picks:
        keep = flat[k]
        flat[k] = keep + h
        up = loss_of()[0]
        flat[k] = keep - h
        down = loss_of()[0]
        flat[k] = keep
        a = float(grad[k])
        slope = weigh(up - down) / (2 * h)
        rel = relative_error(a, slope, floor)
        if rel > tolerance:
            sides = (weigh(up - base) / h, weigh(base - down) / h)
            one_sided = min((abs(a - s), s) for s in sides)[1]
            if relative_error(a, one_sided, floor) <= tolerance:
                kinks += 1
                slope, rel = one_sided, relative_error(a, one_sided, floor)
        worst_abs = max(worst_abs, abs(a - slope))
        worst_rel = max(worst_rel, rel)
    return TensorCheck(name, array.shape, len(picks), worst_abs, worst_rel, tolerance, kinks)


def float64_copy(net: Network) -> Network:
    """The same network (spec, seed, weights, buffers, mode) in float64."""
    twin = Network(net.spec, seed=net.seed, dtype="float64")
    twin.load_state_dict(net.state_dict())
    return twin.train(net.training)


def freeze_dropout_masks(net: Network) -> None:
    """Make every dropout layer reuse the mask of its latest forward pass."""
    for layer in iter_layers(net.layers):
        if isinstance(layer, Dropout):
            layer.fixed_mask = layer.saved.get("mask")


def gradient_check(
    net: Network,
    x: np.ndarray,
    y: np.ndarray,
    h: float = 1e-5,
    max_checks: int | None = 200,
    seed: int = 0,
    tolerance: float = DEFAULT_TOLERANCE,
    end_to_end: bool = False,
) -> list[TensorCheck]:
    """Check every parameter tensor, every layer's input delta and the loss gradient.

    By default each layer is checked locally: with δ the recorded gradient of its
    output, the surrogate S = Σ δ ⊙ f(input; w) has ∂S/∂w = ∂E/∂w and ∂S/∂input =
    ∂E/∂input, and its differences stay well above float64 rounding even where the
    gradients have vanished (deep-sigmoid). `end_to_end=True` nudges the network's
    loss instead (the textbook check; noisy for gradients below ~1e-5).
    The check runs on a float64 copy, so `net` is left as it was.
    """
    net = float64_copy(net)
    x = net.prepare_input(x).copy()
    y = net.prepare_labels(y, x.shape[0])
    result = net.run_pass(x, y)
    freeze_dropout_masks(net)
    rng = np.random.default_rng(seed)
    check = _checker(h, max_checks, rng, tolerance)
    if end_to_end:
        return _end_to_end(net, x, y, result, check)
    checks = []
    for layer in net.layers:
        checks.extend(_layer_checks(layer, result, check))
    logits = result.outputs[-1].copy()
    checks.append(
        check("loss", logits, net.compute_loss(logits, y)[1], _scalar(net, logits, y))
    )
    return checks


def _scalar(net: Network, inp: np.ndarray, y: np.ndarray, through: bool = False):
    """loss_of for a scalar loss: of the logits `inp`, or of the network on `inp` (through)."""

    def loss_of():
        logits = net.forward(inp) if through else inp
        loss = net.compute_loss(logits, y)[0]
        return loss, float, abs(loss)

    return loss_of


def _checker(h, max_checks, rng, tolerance):
    def check(name, array, analytic, loss_of):
        return _check_tensor(name, array, analytic, loss_of, h, max_checks, rng, tolerance)

    return check


def _layer_checks(layer, result, check) -> list[TensorCheck]:
    """Local checks of one layer: its parameters and its input delta."""
    i = layer.index
    inp = (result.input if i == 0 else result.outputs[i - 1]).copy()
    delta = result.output_grads[i]

    def weigh(difference: np.ndarray) -> float:
        return float(np.sum(delta * difference))

    def surrogate() -> tuple[np.ndarray, object, float]:
        """S = Σ δ ⊙ f(input; w), returned as f, the weighing by δ and Σ|δ ⊙ f|."""
        out = np.array(layer.forward(inp), copy=True)
        return out, weigh, float(np.sum(np.abs(delta * out)))

    checks = [
        check(f"{i}.{name}", array, result.grads[f"{i}.{name}"], surrogate)
        for name, array in layer.params.items()
    ]
    grad_in = result.input_grad if i == 0 else result.output_grads[i - 1]
    name = "input" if i == 0 else f"{i}.input ({layer.type})"
    checks.append(check(name, inp, grad_in, surrogate))
    return checks


def _end_to_end(net, x, y, result, check) -> list[TensorCheck]:
    loss_of = _scalar(net, x, y, through=True)
    params = net.params()
    checks = [check(name, params[name], result.grads[name], loss_of) for name in params]
    checks.append(check("input", x, result.input_grad, loss_of))
    return checks


def random_batch(net: Network, batch: int = 2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random input in [0, 1) and random labels for `net`."""
    rng = np.random.default_rng(seed)
    x = rng.random((batch, *net.spec.input_shape))
    y = rng.integers(0, net.spec.num_classes, size=batch)
    return x, y


def format_report(checks: list[TensorCheck]) -> str:
    """An aligned text table, every column headed: tensor, shape, entries checked, max abs
    and rel error, entries on a kink (checked one-sided), verdict."""
    header = (f"{'tensor':<22}{'shape':<18}{'checked':>8}{'max abs err':>14}"
              f"{'max rel err':>14}{'kinks':>7}  ok")
    lines = [header, "-" * len(header)]
    for c in checks:
        shape = "×".join(str(s) for s in c.shape)
        verdict = "yes" if c.passed else "NO"
        lines.append(
            f"{c.name:<22}{shape:<18}{c.checked:>8}{c.max_abs_error:>14.3e}"
            f"{c.max_rel_error:>14.3e}{c.kinks:>7}  {verdict}"
        )
    return "\n".join(lines)
