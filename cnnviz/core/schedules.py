"""Learning-rate schedules as plain objects: `lr_at(step)` for a global batch index.

The trainer sets `opt.lr = schedule.lr_at(step)` before each batch. `onecycle` follows
torch's OneCycleLR (learning rate only; momentum is not cycled).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

__all__ = ["SCHEDULE_NAMES", "Schedule", "make_schedule"]


@dataclass(frozen=True)
class Schedule:
    """A learning rate as a function of the global batch index (0-based)."""

    name: str
    base_lr: float
    total_steps: int
    options: dict[str, Any]

    def lr_at(self, step: int) -> float:
        """The learning rate for batch `step`; steps past the end keep the last value."""
        if step < 0:
            raise ValueError(f"{self.name} schedule: step must be >= 0, got {step}")
        step = min(int(step), self.total_steps - 1)
        return _RULES[self.name](self, step)


def _constant(s: Schedule, step: int) -> float:
    """η at every step."""
    return s.base_lr


def _step(s: Schedule, step: int) -> float:
    """η·γ^⌊epoch / step_size⌋, as torch's StepLR stepped once per epoch."""
    epoch = step // s.options["steps_per_epoch"]
    return s.base_lr * s.options["gamma"] ** (epoch // s.options["step_size"])


def _cosine(s: Schedule, step: int) -> float:
    """η·(1 + cos(π·step/total_steps))/2: from η down towards 0 over the run."""
    return s.base_lr * (1 + math.cos(math.pi * step / s.total_steps)) / 2


def _anneal_cos(start: float, end: float, pct: float) -> float:
    """Cosine from `start` to `end` as pct goes 0 → 1 (torch's _annealing_cos)."""
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def _onecycle(s: Schedule, step: int) -> float:
    """torch's OneCycleLR (two phases, cosine): warm up to η, then anneal far below it."""
    max_lr = s.base_lr
    initial_lr = max_lr / s.options["div_factor"]
    min_lr = initial_lr / s.options["final_div_factor"]
    warm_end = float(s.options["pct_start"] * s.total_steps) - 1
    if step <= warm_end:
        start, end, lr0, lr1 = 0.0, warm_end, initial_lr, max_lr
    else:
        start, end, lr0, lr1 = warm_end, s.total_steps - 1, max_lr, min_lr
    pct = (step - start) / (end - start) if end != start else 1.0
    return _anneal_cos(lr0, lr1, pct)


_RULES = {"constant": _constant, "step": _step, "cosine": _cosine, "onecycle": _onecycle}
SCHEDULE_NAMES: tuple[str, ...] = tuple(_RULES)
_OPTIONS: dict[str, dict[str, Any]] = {
    "constant": {},
    "step": {"step_size": 1, "gamma": 0.1, "steps_per_epoch": None},
    "cosine": {},
    "onecycle": {"pct_start": 0.3, "div_factor": 25.0, "final_div_factor": 1e4},
}


def make_schedule(name: str, base_lr: float, total_steps: int, **kw: Any) -> Schedule:
    """A schedule by name (case-insensitive); unknown names and bad options raise ValueError."""
    key = name.strip().lower() if isinstance(name, str) else name
    if key not in _RULES:
        raise ValueError(f"unknown schedule {name!r}; choose one of {', '.join(SCHEDULE_NAMES)}")
    if not _is_number(base_lr) or not base_lr >= 0 or not math.isfinite(base_lr):
        raise ValueError(f"{key} schedule: base_lr must be a number >= 0, got {base_lr!r}")
    if not _is_whole(total_steps) or total_steps < 1:
        raise ValueError(
            f"{key} schedule: total_steps must be an integer >= 1, got {total_steps!r}"
        )
    if key != "step":
        kw.pop("steps_per_epoch", None)  # every schedule accepts it, so callers pass it always
    unknown = sorted(set(kw) - set(_OPTIONS[key]))
    if unknown:
        allowed = ", ".join(_OPTIONS[key]) or "no options"
        raise ValueError(f"{key} schedule has no option {unknown[0]!r}; it takes {allowed}")
    options = {**_OPTIONS[key], **kw}
    _check_options(key, options)
    return Schedule(key, float(base_lr), int(total_steps), options)


def _check_options(key: str, o: dict[str, Any]) -> None:
    """Range checks for a schedule's options, naming the bad one."""
    if key == "step":
        if o["steps_per_epoch"] is None:
            raise ValueError("step schedule: needs steps_per_epoch (batches per epoch)")
        for field in ("steps_per_epoch", "step_size"):
            if not _is_whole(o[field]) or o[field] < 1:
                raise ValueError(
                    f"step schedule: {field} must be an integer >= 1, got {o[field]!r}"
                )
        _positive(key, "gamma", o["gamma"])
    if key == "onecycle":
        if not _is_number(o["pct_start"]) or not 0 <= o["pct_start"] <= 1:
            raise ValueError(
                f"onecycle schedule: pct_start must be in [0, 1], got {o['pct_start']!r}"
            )
        _positive(key, "div_factor", o["div_factor"])
        _positive(key, "final_div_factor", o["final_div_factor"])


def _positive(key: str, field: str, value: Any) -> None:
    """Reject a non-numeric or non-positive option."""
    if not _is_number(value) or not 0 < value < math.inf:
        raise ValueError(f"{key} schedule: {field} must be a number > 0, got {value!r}")


def _is_number(value: Any) -> bool:
    """A real number that is not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_whole(value: Any) -> bool:
    """An integer that is not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
