"""The optimizer base class: validation, per-parameter state, save and restore.

The update rules themselves are in `cnnviz.core.optim`.

`opt.step(params, grads)` updates the arrays of a state_dict-like dict in place, doing the
arithmetic in each parameter's dtype and in the same order as torch's single-tensor code
path, so a user can carry numbers across. Symbols in the rules: g = ∂E/∂w (+ λ·w with
weight decay), η learning rate, t the parameter's step count.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

State = dict[str, Any]
Params = Mapping[str, np.ndarray]


def _number(owner: str, key: str, value: Any, upper: float = math.inf, open_: bool = False
            ) -> float:
    """A hyper-parameter as a float in [0, upper] ([0, upper) if open_), else a ValueError."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise ValueError(f"{owner}: {key} must be a number, got {value!r}")
    value = float(value)
    too_big = value >= upper if open_ else value > upper
    if not (math.isfinite(value) and value >= 0) or too_big:
        end = ")" if open_ else "]"
        bound = "finite and >= 0" if upper == math.inf else f"in [0, {upper:g}{end}"
        raise ValueError(f"{owner}: invalid {key} {value} (must be {bound})")
    return value


def _args(local_vars: dict[str, Any]) -> dict[str, Any]:
    """A constructor's keyword arguments from its locals()."""
    return {k: v for k, v in local_vars.items() if k not in ("self", "__class__")}


def _lerp_(a: np.ndarray, b: np.ndarray, weight: float) -> None:
    """a ← a + weight·(b − a) in place, in torch.lerp_'s two-branch arithmetic."""
    if weight < 0.5:
        a += weight * (b - a)
    else:
        a[...] = b - (b - a) * (1 - weight)


class Optimizer:
    """Base: hyper-parameters, per-parameter state, the step loop and (de)serialisation."""

    name: ClassVar[str] = "Optimizer"
    _flags: ClassVar[tuple[str, ...]] = ()  # yes/no hyper-parameters
    _upper: ClassVar[dict[str, float]] = {}  # closed upper bounds; every number is >= 0

    def __init__(self, **hyperparams: Any) -> None:
        self._hp = self._validated(hyperparams)
        self.state: dict[str, State] = {}

    @classmethod
    def keywords(cls) -> tuple[str, ...]:
        """The constructor's keyword names, in order (torch's, minus `params`)."""
        return tuple(n for n in inspect.signature(cls.__init__).parameters if n != "self")

    def _validated(self, hp: dict[str, Any]) -> dict[str, Any]:
        """Normalised hyper-parameters; a ValueError naming the first bad one."""
        out: dict[str, Any] = {}
        for key, value in hp.items():
            if key in self._flags:
                if not isinstance(value, bool | np.bool_):
                    raise ValueError(f"{self.name}: {key} must be true or false, got {value!r}")
                out[key] = bool(value)
            elif key == "betas":
                out[key] = self._betas(value)
            else:
                out[key] = _number(self.name, key, value, self._upper.get(key, math.inf))
        self._check(out)
        return out

    def _betas(self, value: Any) -> tuple[float, ...]:
        """Adam's (β₁, β₂) pair, each in [0, 1)."""
        if isinstance(value, str) or not hasattr(value, "__len__") or len(value) != 2:
            raise ValueError(f"{self.name}: betas must be a pair of numbers, got {value!r}")
        return tuple(_number(self.name, f"betas[{i}]", b, 1.0, True) for i, b in enumerate(value))

    def _check(self, hp: dict[str, Any]) -> None:
        """Checks across hyper-parameters (subclasses)."""

    @property
    def lr(self) -> float:
        """The learning rate η; schedules set it between steps."""
        return self._hp["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        self._hp["lr"] = _number(self.name, "lr", value)

    @property
    def hyperparams(self) -> dict[str, Any]:
        """The constructor keywords and their current values, JSON-able."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self._hp.items()}

    def __repr__(self) -> str:
        return f"{self.name}({', '.join(f'{k}={v!r}' for k, v in self.hyperparams.items())})"

    def step(self, params: Params, grads: Params) -> None:
        """Update every parameter that has a gradient, in place; others are skipped."""
        states = self.state
        for key, w in params.items():
            g = grads.get(key)
            if g is None:
                continue
            g = self._grad_for(key, w, g)
            state = states.get(key)
            if state is None:
                state = states[key] = self._init_state(w)
            if state:  # SGD without momentum keeps none: nothing to check
                self._match_state(key, state, w)
            self._update(w, g, state)

    def _grad_for(self, key: str, w: np.ndarray, g: Any) -> np.ndarray:
        """The gradient as an array of the parameter's dtype, shape-checked."""
        usual = type(g) is np.ndarray and type(w) is np.ndarray and g.dtype == w.dtype
        if usual and g.shape == w.shape and w.dtype.kind == "f":  # nothing to convert
            return g
        if not isinstance(w, np.ndarray) or w.dtype.kind != "f":
            raise ValueError(f"{self.name}: parameter {key!r} must be a float NumPy array")
        g = np.asarray(g, dtype=w.dtype)
        if g.shape != w.shape:
            raise ValueError(f"{self.name}: gradient of {key!r} has shape {g.shape}, "
                             f"parameter {w.shape}")
        return g

    def _match_state(self, key: str, state: State, w: np.ndarray) -> None:
        """Check state against the parameter; cast its arrays to w's dtype (as torch)."""
        for name, value in state.items():
            if isinstance(value, np.ndarray) and value.shape != w.shape:
                raise ValueError(f"{self.name}: state {name!r} of {key!r} has shape "
                                 f"{value.shape}, parameter {w.shape}")
            if isinstance(value, np.ndarray) and value.dtype != w.dtype:
                state[name] = value.astype(w.dtype)

    def _decayed(self, w: np.ndarray, g: np.ndarray) -> np.ndarray:
        """g + λ·w with weight decay λ (a new array), else g itself."""
        wd = self._hp["weight_decay"]
        return g + wd * w if wd != 0 else g

    def _state_keys(self) -> tuple[str, ...]:
        """The per-parameter state entries this configuration keeps (subclasses)."""
        return ()

    def _init_state(self, w: np.ndarray) -> State:
        """Fresh per-parameter state: step 0 and zero arrays like w."""
        return {k: 0 if k == "step" else np.zeros_like(w) for k in self._state_keys()}

    def _update(self, w: np.ndarray, g: np.ndarray, state: State) -> None:
        """One update of w in place from its gradient g and its state (subclasses)."""
        raise NotImplementedError

    def describe_rule(self) -> str:
        """The update rule in the seeds' notation, one assignment a line, for the explain panel."""
        raise NotImplementedError

    def _grad_line(self) -> str:
        """The first line of a rule: what g stands for."""
        return "g = ∂E/∂w + λ·w" if self._hp["weight_decay"] != 0 else "g = ∂E/∂w"

    def update_terms(self, name: str) -> dict[str, Any]:
        """Copies of parameter `name`'s state (arrays, step): the rule's numbers, for display."""
        return {k: v.copy() if isinstance(v, np.ndarray) else v
                for k, v in self.state.get(name, {}).items()}

    def state_dict(self) -> dict[str, Any]:
        """{"type", "hyperparams", "state"} with copies of every state array."""
        state = {k: self.update_terms(k) for k in self.state}
        return {"type": self.name, "hyperparams": self.hyperparams, "state": state}

    def load_state_dict(self, d: Mapping[str, Any], params: Params | None = None) -> None:
        """Restore hyper-parameters and state exactly (copies); shape-checked against params."""
        for key in ("type", "hyperparams", "state"):
            if not isinstance(d, Mapping) or key not in d:
                raise ValueError(f"{self.name}: optimizer state has no {key!r} entry")
        if d["type"] != self.name:
            raise ValueError(f"cannot load a {d['type']!r} optimizer state into {self.name}")
        if not isinstance(d["hyperparams"], Mapping) or not isinstance(d["state"], Mapping):
            raise ValueError(f"{self.name}: optimizer hyperparams and state must be mappings")
        fresh = _construct(type(self), dict(d["hyperparams"]))
        state = {str(k): fresh._loaded(str(k), s, params) for k, s in d["state"].items()}
        self._hp, self.state = fresh._hp, state

    def _loaded(self, key: str, s: Any, params: Params | None) -> State:
        """One parameter's state from a state_dict, checked and copied."""
        expected = set(self._state_keys())
        if not isinstance(s, Mapping) or set(s) != expected:
            got = sorted(s) if isinstance(s, Mapping) else s
            raise ValueError(f"{self.name}: state of {key!r} must have entries "
                             f"{sorted(expected)}, got {got}")
        state = {k: _loaded_value(self.name, key, k, v) for k, v in s.items()}
        shapes = {v.shape for v in state.values() if isinstance(v, np.ndarray)}
        if params is not None:
            if key not in params:
                raise ValueError(f"{self.name}: state for unknown parameter {key!r}")
            shapes.add(np.shape(params[key]))
        if len(shapes) > 1:
            raise ValueError(f"{self.name}: state of {key!r} has mismatched shapes {shapes}")
        return state


def _loaded_value(owner: str, key: str, entry: str, value: Any) -> Any:
    """A state entry from a state_dict: `step` a whole number >= 0, else a float array."""
    if entry == "step":
        step = np.asarray(value)
        if step.shape != () or step.dtype.kind not in "iuf" or step != int(step) or step < 0:
            raise ValueError(f"{owner}: step of {key!r} must be a whole number >= 0, "
                             f"got {value!r}")
        return int(step)
    arr = np.array(value, copy=True)
    if arr.dtype.kind != "f":
        raise ValueError(f"{owner}: state {entry!r} of {key!r} must be a float array")
    return arr


def _construct(cls: type[Optimizer], kw: dict[str, Any]) -> Optimizer:
    """cls(**kw), with a ValueError naming any keyword it does not take."""
    unknown = sorted(set(kw) - set(cls.keywords()))
    if unknown:
        raise ValueError(f"{cls.name} has no hyper-parameter {unknown[0]!r}; "
                         f"it takes {', '.join(cls.keywords())}")
    return cls(**kw)
