"""Optimizers with exactly torch.optim's update rules and defaults, keyed by parameter name.

`opt.step(params, grads)` updates the arrays of a state_dict-like dict in place, doing the
arithmetic in each parameter's dtype and in the same order as torch's single-tensor code
path, so a user can carry numbers across. Symbols in the rules: g = ∂E/∂w (+ λ·w with
weight decay), η learning rate, t the parameter's step count. The base class (validation,
state, save/restore) is in `cnnviz.core.optim_base`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from cnnviz.core.kernels.update import (
    KernelRefused,
    descend_in_place,
    descend_kernel,
    sgd_update,
)
from cnnviz.core.optim_base import Optimizer, Params, State, _args, _construct, _lerp_

__all__ = ["OPTIMIZER_NAMES", "SGD", "Adadelta", "Adagrad", "Adam", "Optimizer", "RMSprop",
           "make_optimizer", "optimizer_from_state"]


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum and weight decay."""

    name = "SGD"
    _flags = ("nesterov",)

    def __init__(self, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False) -> None:
        super().__init__(**_args(locals()))
        # parameter key → the array last seen there, known to be one the kernel takes as it
        # is (ndarray, float32 / float64, C-contiguous, writeable): not state, not saved
        self._kernel_ready: dict[str, np.ndarray] = {}

    def _check(self, hp: dict[str, Any]) -> None:
        if hp["nesterov"] and (hp["momentum"] <= 0 or hp["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum > 0 and zero dampening")

    def _state_keys(self) -> tuple[str, ...]:
        return ("momentum_buffer",) if self._hp["momentum"] != 0 else ()

    def _init_state(self, w: np.ndarray) -> State:
        return {}  # the buffer starts as the first gradient itself (see _update)

    def step(self, params: Params, grads: Params) -> None:
        """The base class's loop; plain SGD (the app's default) keeps no state to check, so
        a pair the kernel takes goes straight to it: a parameter array that passed
        `descend_in_place`'s checks once is remembered (`_kernel_ready`), and only its
        gradient is checked each step (38 arrays of mini-resnet: 28 → ~18 µs a step)."""
        hp = self._hp
        if hp["momentum"] != 0 or hp["weight_decay"] != 0:
            super().step(params, grads)
            return
        lr, states, ready = hp["lr"], self.state, self._kernel_ready
        for key, w in params.items():
            g = grads.get(key)
            if g is None:
                continue
            if key not in states:
                states[key] = {}
            try:
                done = (ready.get(key) is w and type(g) is np.ndarray and g.dtype is w.dtype
                        and g.flags.c_contiguous and descend_kernel(w, g, lr))
            except KernelRefused:  # w was made read-only since: NumPy's error below
                del ready[key]
                done = False
            if not done:
                self._descend(key, w, g, lr)

    def _descend(self, key: str, w: np.ndarray, g: Any, lr: float) -> None:
        """w −= η·g with every check: the kernel if it takes the pair as it is (then w is
        remembered as an array it takes), else NumPy; a bad gradient raises."""
        if descend_in_place(w, g, lr):
            self._kernel_ready[key] = w
        else:
            sgd_update(w, self._grad_for(key, w, g), lr)

    def _update(self, w: np.ndarray, g: np.ndarray, state: State) -> None:
        hp = self._hp
        mu = hp["momentum"]
        if mu == 0 and hp["weight_decay"] == 0:  # plain SGD (its `step` calls the kernel)
            sgd_update(w, g, hp["lr"])
            return
        g = self._decayed(w, g)
        if mu != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()  # first step: b ← g, no dampening
            else:
                buf *= mu
                buf += (1 - hp["dampening"]) * g
            g = g + mu * buf if hp["nesterov"] else buf
        w += -hp["lr"] * g

    def describe_rule(self) -> str:
        hp = self._hp
        if hp["momentum"] == 0:
            plain = hp["weight_decay"] == 0
            return "w ← w − η·∂E/∂w" if plain else f"{self._grad_line()}\nw ← w − η·g"
        damp = "" if hp["dampening"] == 0 else "(1 − τ)·"
        last = "w ← w − η·(g + μ·b)" if hp["nesterov"] else "w ← w − η·b"
        return f"{self._grad_line()}\nb ← μ·b + {damp}g   (first step: b ← g)\n{last}"


class RMSprop(Optimizer):
    """Divide the gradient by a running root-mean-square of its recent magnitudes."""

    name = "RMSprop"
    _flags = ("centered",)

    def __init__(self, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False) -> None:
        super().__init__(**_args(locals()))

    def _state_keys(self) -> tuple[str, ...]:
        keys = ("step", "square_avg", "momentum_buffer", "grad_avg")
        return keys[:2] + keys[2:3] * (self._hp["momentum"] > 0) + keys[3:] * self._hp["centered"]

    def _update(self, w: np.ndarray, g: np.ndarray, state: State) -> None:
        hp, alpha = self._hp, self._hp["alpha"]
        state["step"] += 1
        g = self._decayed(w, g)
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * g * g
        if hp["centered"]:
            _lerp_(state["grad_avg"], g, 1 - alpha)
            avg = np.sqrt(v - state["grad_avg"] * state["grad_avg"])
        else:
            avg = np.sqrt(v)
        avg += hp["eps"]
        if hp["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= hp["momentum"]
            buf += g / avg
            w += -hp["lr"] * buf
        else:
            w += -hp["lr"] * g / avg

    def describe_rule(self) -> str:
        hp = self._hp
        lines = [self._grad_line(), "v ← α·v + (1 − α)·g²"]
        lines += ["ḡ ← α·ḡ + (1 − α)·g", "d = √(v − ḡ²) + ε"] if hp["centered"] else ["d = √v + ε"]
        lines += ["b ← μ·b + g/d", "w ← w − η·b"] if hp["momentum"] > 0 else ["w ← w − η·g/d"]
        return "\n".join(lines)


class Adagrad(Optimizer):
    """Scale each weight's step by the root of its summed squared gradients."""

    name = "Adagrad"

    def __init__(self, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10) -> None:
        super().__init__(**_args(locals()))

    def _state_keys(self) -> tuple[str, ...]:
        return ("step", "sum")

    def _init_state(self, w: np.ndarray) -> State:
        return {"step": 0, "sum": np.full_like(w, self._hp["initial_accumulator_value"])}

    def _update(self, w: np.ndarray, g: np.ndarray, state: State) -> None:
        hp = self._hp
        state["step"] += 1
        g = self._decayed(w, g)
        clr = hp["lr"] / (1 + (state["step"] - 1) * hp["lr_decay"])
        G = state["sum"]
        G += g * g
        std = np.sqrt(G)
        std += hp["eps"]
        w += -clr * g / std

    def describe_rule(self) -> str:
        return f"{self._grad_line()}\nG ← G + g²\nw ← w − η/(1 + (t − 1)·lr_decay) · g/(√G + ε)"


class Adadelta(Optimizer):
    """Step by the ratio of running RMS of past updates to running RMS of gradients."""

    name = "Adadelta"
    _upper = {"rho": 1.0}

    def __init__(self, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0) -> None:
        super().__init__(**_args(locals()))

    def _state_keys(self) -> tuple[str, ...]:
        return ("step", "square_avg", "acc_delta")

    def _update(self, w: np.ndarray, g: np.ndarray, state: State) -> None:
        hp, rho = self._hp, self._hp["rho"]
        state["step"] += 1
        g = self._decayed(w, g)
        v, u = state["square_avg"], state["acc_delta"]
        v *= rho
        v += (1 - rho) * g * g
        std = np.sqrt(v + hp["eps"])
        delta = np.sqrt(u + hp["eps"])
        delta /= std
        delta *= g
        u *= rho
        u += (1 - rho) * delta * delta
        w += -hp["lr"] * delta

    def describe_rule(self) -> str:
        return (f"{self._grad_line()}\nv ← ρ·v + (1 − ρ)·g²\nΔ = √(u + ε)/√(v + ε) · g\n"
                "u ← ρ·u + (1 − ρ)·Δ²\nw ← w − η·Δ")


class Adam(Optimizer):
    """Adaptive moments: bias-corrected running mean and mean square of the gradient."""

    name = "Adam"
    _flags = ("amsgrad",)

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False) -> None:
        super().__init__(**_args(locals()))

    def _state_keys(self) -> tuple[str, ...]:
        return ("step", "exp_avg", "exp_avg_sq", *("max_exp_avg_sq",) * self._hp["amsgrad"])

    def _update(self, w: np.ndarray, g: np.ndarray, state: State) -> None:
        hp, (beta1, beta2) = self._hp, self._hp["betas"]
        state["step"] += 1
        t = state["step"]
        g = self._decayed(w, g)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        _lerp_(m, g, 1 - beta1)
        v *= beta2
        v += (1 - beta2) * g * g
        step_size = hp["lr"] / (1 - beta1**t)
        bias_correction2_sqrt = (1 - beta2**t) ** 0.5
        if hp["amsgrad"]:  # the max of the raw v, as torch's code (its docs box differs)
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        denom = np.sqrt(v) / bias_correction2_sqrt
        denom += hp["eps"]
        w += -step_size * m / denom

    def describe_rule(self) -> str:
        ams = self._hp["amsgrad"]
        lines = [self._grad_line(), "m ← β₁·m + (1 − β₁)·g", "v ← β₂·v + (1 − β₂)·g²"]
        lines += ["v̂ ← max(v̂, v)"] if ams else []
        v = "v̂" if ams else "v"
        return "\n".join([*lines, f"w ← w − η/(1 − β₁ᵗ) · m/(√{v}/√(1 − β₂ᵗ) + ε)"])


_CLASSES: dict[str, type[Optimizer]] = {c.name: c for c in (SGD, RMSprop, Adagrad, Adadelta, Adam)}
_PRESETS: dict[str, tuple[type[Optimizer], dict[str, Any]]] = {
    "sgd": (SGD, {}), "momentum": (SGD, {"momentum": 0.9}),
    "nesterov": (SGD, {"momentum": 0.9, "nesterov": True}), "rmsprop": (RMSprop, {}),
    "adagrad": (Adagrad, {}), "adadelta": (Adadelta, {}), "adam": (Adam, {}),
}
OPTIMIZER_NAMES: tuple[str, ...] = tuple(_PRESETS)


def make_optimizer(name: str, **kw: Any) -> Optimizer:
    """An optimizer by its CLI name (case-insensitive); keywords override the preset's."""
    key = name.strip().lower() if isinstance(name, str) else None
    if key not in _PRESETS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZER_NAMES)}")
    cls, preset = _PRESETS[key]
    return _construct(cls, {**preset, **kw})


def optimizer_from_state(d: Mapping[str, Any]) -> Optimizer:
    """Rebuild an optimizer, hyper-parameters and state, from its state_dict()."""
    kind = d.get("type") if isinstance(d, Mapping) else None
    if not isinstance(kind, str) or kind not in _CLASSES:
        raise ValueError(f"unknown optimizer type {kind!r} in optimizer state; "
                         f"expected one of {', '.join(_CLASSES)}")
    opt = _CLASSES[kind]()
    opt.load_state_dict(d)
    return opt
