"""The building blocks of explanations: the Explanation record, sums of terms, number text.

An `Explanation` is data: the GUI renders it as a formula and highlights `cells`, the CLI
prints `text`. For linear steps `sum(a * b for a, b in terms) + constant == value`, and
`value` equals the recorded tensor entry `recorded` (to float rounding; the terms are
float64 numbers read from the step records).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from cnnviz.engine.records import PassView

MAX_SHOWN_TERMS = 6  # longer sums are elided in `text` (the data keeps every term)


@dataclass
class Explanation:
    """One unit's value as a formula: terms, constant, value, and a readable text."""

    step: str
    layer: int | None
    unit: tuple
    kind: str  # "forward", "loss", "backward", "update"
    terms: list[tuple[float, float]]
    constant: float
    value: float
    recorded: float
    text: str
    formula: str
    cells: dict[str, Any] = field(default_factory=dict)
    linear: bool = True  # True when value == Σ a·b + constant
    # the computation view's grids (`cnnviz.engine.figure.Figure`): "computation", and
    # "seed" (seed 001's combined form) for a backward conv input delta
    figures: dict[str, Any] = field(default_factory=dict, compare=False)


def fmt(v: float) -> str:
    """A number as the explain panel prints it: 4 significant digits."""
    return f"{float(v) + 0.0:.4g}"  # + 0.0 turns −0 into 0


def fmt_factor(v: float) -> str:
    """A number inside a product: negative numbers get parentheses."""
    text = fmt(v)
    return f"({text})" if text.startswith("-") else text


def idx(*parts: Any) -> str:
    """Index text like `[0,2,3]`."""
    return "[" + ",".join(str(int(p)) for p in parts) + "]"


class TermSum:
    """A sum of products being built: the numbers and the symbols they stand for.

    Labels are made on demand (`label(k)`), so that sums with tens of thousands of terms
    (a weight gradient over a batch) only format the few terms the text shows.
    """

    def __init__(self, label_of: Callable[[int], tuple[str, str]] | None = None) -> None:
        """Start an empty sum; `label_of(k)` names term k when terms come in bulk."""
        self.terms: list[tuple[float, float]] = []
        self._labels: list[tuple[str, str]] = []
        self._label_of = label_of

    def add(self, a: float, b: float, label_a: str, label_b: str) -> None:
        """Append the product a·b with the symbols it stands for."""
        self.terms.append((float(a), float(b)))
        self._labels.append((label_a, label_b))

    def extend(self, a: np.ndarray, b: np.ndarray) -> None:
        """Append many products at once (labels come from `label_of`)."""
        self.terms.extend(zip(a.ravel().tolist(), b.ravel().tolist(), strict=True))

    def label(self, k: int) -> tuple[str, str]:
        """The symbols of term k."""
        return self._label_of(k) if self._label_of is not None else self._labels[k]

    def total(self, constant: float = 0.0) -> float:
        """Σ a·b + constant in float64."""
        return float(sum(a * b for a, b in self.terms) + constant)


def _elide(shown: list[int]) -> tuple[list[int], int]:
    """The first few and the last of a long list of term indices, and how many are hidden."""
    if len(shown) <= MAX_SHOWN_TERMS - 1:
        return shown, 0
    keep = MAX_SHOWN_TERMS - 2
    return [*shown[:keep], shown[-1]], len(shown) - keep - 1


def sum_text(
    lhs: str, s: TermSum, constant: float, const_label: str | None, value: float, recorded: float
) -> str:
    """Three lines: the symbols, the numbers, the result (elided in the middle if long).

    In a long sum, products that are exactly 0 (a dead relu, a padded zero) are left out
    of the text and counted on a fourth line; the data keeps every term.
    """
    shown = list(range(len(s.terms)))
    if len(shown) > MAX_SHOWN_TERMS:
        shown = [k for k in shown if s.terms[k][0] * s.terms[k][1] != 0]
    zeros = len(s.terms) - len(shown)
    kept, hidden = _elide(shown)
    symbols, numbers = [], []
    for k in kept:
        label_a, label_b = s.label(k)
        a, b = s.terms[k]
        symbols.append(_product(label_a, label_b))
        numbers.append(_product(label_a, fmt_factor(b), fmt_factor(a)))
    if hidden:
        for items in (symbols, numbers):
            items.insert(len(items) - 1, f"… ({hidden} more terms)")
    if const_label is not None:
        symbols.append(const_label)
        numbers.append(fmt_factor(constant))
    if not symbols:
        symbols, numbers = ["0 (no term)" if not zeros else "0"], ["0"]
    pad = " " * len(lhs)
    lines = [
        f"{lhs} = " + " + ".join(symbols),
        f"{pad} = " + " + ".join(numbers),
        f"{pad} = {fmt(value)}" + _recorded_note(value, recorded),
    ]
    if zeros:
        lines.append(f"({zeros} of the {len(s.terms)} products are 0 and not shown)")
    return "\n".join(lines)


def _product(label_a: str, b: str, a: str | None = None) -> str:
    """`a·b`, or just `b` when the factor is the constant 1."""
    if label_a == "1":
        return b
    return f"{label_a if a is None else a}·{b}"


def _recorded_note(value: float, recorded: float) -> str:
    """Mention the recorded number when it differs visibly from the recomputed one."""
    if fmt(value) == fmt(recorded):
        return ""
    return f"   (recorded: {fmt(recorded)})"


def check_unit(unit: Any, shape: tuple[int, ...], what: str) -> tuple[int, ...]:
    """Validate an index tuple against an array shape; ValueError names what was wrong."""
    if isinstance(unit, int | np.integer):
        unit = (unit,)
    try:
        unit = tuple(int(u) for u in unit)
    except (TypeError, ValueError):
        raise ValueError(f"unit {unit!r} for {what} must be a tuple of integers") from None
    dims = "×".join(str(s) for s in shape)
    if len(unit) != len(shape):
        raise ValueError(
            f"unit {unit} for {what} needs {len(shape)} indices (its shape is {dims})"
        )
    for axis, (u, size) in enumerate(zip(unit, shape, strict=True)):
        if not 0 <= u < size:
            raise ValueError(
                f"unit {unit} is out of range for {what} of shape {dims}: "
                f"index {u} on axis {axis} must be in 0…{size - 1}"
            )
    return unit


def make(
    st: PassView, name: str, unit: tuple, s: TermSum, constant: float, recorded: float, **kw: Any
) -> Explanation:
    """Build a linear Explanation from a TermSum."""
    rec = st.record(name)
    value = s.total(constant)
    return Explanation(
        step=name,
        layer=rec.layer,
        unit=unit,
        kind=rec.kind,
        terms=s.terms,
        constant=float(constant),
        value=value,
        recorded=float(recorded),
        text=kw["text"],
        formula=kw["formula"],
        cells=kw.get("cells", {}),
        linear=kw.get("linear", True),
    )
