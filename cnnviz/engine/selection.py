"""What the user has selected: a layer, a unit of it, and which example of the batch.

The layer is a top-level layer index; inside a residual block the selection may go one
level down, to an inner layer: `inner` = "body.0" / "shortcut.1" of block `layer` (its
unit is then a unit of that inner layer's output).

A plain observable object (napari/glue style): setters validate and then call every
listener with the name of the field that changed; Qt widgets bind to it through a thin
adapter, and tests use it without Qt.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cnnviz.engine.steps import split_inner

Listener = Callable[[str], None]
InnerShapes = Mapping[tuple[int, str], tuple[int, ...]]


def selection_shapes(spec: Any) -> tuple[list[tuple[int, ...]], dict[tuple[int, str], tuple]]:
    """(per-layer output shapes, {(block, "body.j"): inner output shape}) of a NetworkSpec."""
    shapes = [tuple(layer.out_shape) for layer in spec.layers]
    inner = {(layer.index, f"{branch}.{j}"): tuple(sub.out_shape)
             for layer in spec.layers for branch in ("body", "shortcut")
             for j, sub in enumerate(getattr(layer, branch, ()))}
    return shapes, inner


class Selection:
    """The selected layer (and inner layer), unit and example, validated against optional
    shapes."""

    def __init__(self, shapes: Sequence[tuple[int, ...]] | None = None, batch_size: int = 1,
                 inner_shapes: InnerShapes | None = None):
        """`shapes[i]` is layer i's per-example output shape (enables bounds checks);
        `inner_shapes[(i, "body.j")]` that of a block's inner layer."""
        self.shapes = [tuple(s) for s in shapes] if shapes is not None else None
        self.inner_shapes = {k: tuple(v) for k, v in inner_shapes.items()} \
            if inner_shapes is not None else None
        self.batch_size = int(batch_size)
        self._layer: int | None = None
        self._inner: str | None = None
        self._unit: tuple[int, ...] | None = None
        self._example = 0
        self._listeners: list[Listener] = []

    # -- listeners ----------------------------------------------------------------------

    def add_listener(self, fn: Listener) -> None:
        """Call `fn(field)` after "layer", "unit" or "example" changed."""
        self._listeners.append(fn)

    def remove_listener(self, fn: Listener) -> None:
        """Stop calling `fn`; unknown listeners are ignored."""
        if fn in self._listeners:
            self._listeners.remove(fn)

    def _notify(self, field: str) -> None:
        """Tell every listener which field changed."""
        for fn in list(self._listeners):
            fn(field)

    # -- fields -------------------------------------------------------------------------

    @property
    def layer(self) -> int | None:
        """The selected top-level layer index (a block's, for an inner layer), or None."""
        return self._layer

    @layer.setter
    def layer(self, value: int | None) -> None:
        """Select a top-level layer (an inner selection goes back up to it)."""
        self._set_layer(self._check_layer(value), None)

    @property
    def inner(self) -> str | None:
        """The selected inner layer of block `layer`, "body.0" / "shortcut.1", or None."""
        return self._inner

    def select_layer(self, layer: int | None, inner: str | None = None) -> None:
        """Select a layer, or an inner layer of a block; the unit is kept if it still fits."""
        layer = self._check_layer(layer)
        self._set_layer(layer, self._check_inner(layer, inner))

    def _set_layer(self, layer: int | None, inner: str | None) -> None:
        """Change layer and inner together; drop the unit if it no longer fits."""
        if (layer, inner) == (self._layer, self._inner):
            return
        self._layer, self._inner = layer, inner
        self._notify("layer")
        if self._unit is not None and not self._unit_fits(self._unit):
            self._unit = None
            self._notify("unit")

    @property
    def unit(self) -> tuple[int, ...] | None:
        """The selected unit of the (inner) layer's output, (c, i, j) or (k,), or None."""
        return self._unit

    @unit.setter
    def unit(self, value: Any) -> None:
        value = self._check_unit(value)
        if value == self._unit:
            return
        self._unit = value
        self._notify("unit")

    @property
    def example(self) -> int:
        """Which example of the batch the panels show."""
        return self._example

    @example.setter
    def example(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < max(
            1, self.batch_size
        ):
            raise ValueError(
                f"example must be an integer in 0…{max(1, self.batch_size) - 1}; got {value!r}"
            )
        if value != self._example:
            self._example = value
            self._notify("example")

    def select(self, layer: int | None, unit: Any = None, inner: str | None = None) -> None:
        """Set layer (and inner layer) and unit together (listeners see a consistent state)."""
        layer = self._check_layer(layer)
        inner = self._check_inner(layer, inner)
        old = (self._layer, self._inner)
        self._layer, self._inner = layer, inner
        try:
            unit = self._check_unit(unit)
        except ValueError:
            self._layer, self._inner = old
            raise
        changed_unit = unit != self._unit
        self._unit = unit
        if (layer, inner) != old:
            self._notify("layer")
        if changed_unit:
            self._notify("unit")

    def clear(self) -> None:
        """Select nothing."""
        self.select(None, None)

    # -- checks -------------------------------------------------------------------------

    def _check_layer(self, value: Any) -> int | None:
        """None, or a valid layer index."""
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"layer must be a non-negative integer or None; got {value!r}")
        if self.shapes is not None and value >= len(self.shapes):
            raise ValueError(f"layer {value} does not exist: layers are 0…{len(self.shapes) - 1}")
        return value

    def _check_inner(self, layer: int | None, inner: Any) -> str | None:
        """None, or an inner layer ("body.0") of block `layer`."""
        if inner is None:
            return None
        if layer is None:
            raise ValueError("select a block before selecting one of its inner layers")
        split_inner(inner)  # ValueError names a malformed one
        if self.inner_shapes is not None and (layer, inner) not in self.inner_shapes:
            raise ValueError(f"layer {layer} has no inner layer {inner}")
        return inner

    def _check_unit(self, value: Any) -> tuple[int, ...] | None:
        """None, or a tuple of indices inside the selected layer's output."""
        if value is None:
            return None
        if self._layer is None:
            raise ValueError("select a layer before selecting a unit")
        try:
            unit = tuple(int(v) for v in value)
        except (TypeError, ValueError):
            raise ValueError(f"unit must be a tuple of integers; got {value!r}") from None
        if not self._unit_fits(unit):
            name = self._layer if self._inner is None else f"{self._layer}.{self._inner}"
            raise ValueError(f"unit {unit} is not inside layer {name}'s output {self._shape()}")
        return unit

    def _shape(self) -> tuple[int, ...] | None:
        """The selected (inner) layer's output shape, None when unknown."""
        if self._layer is None:
            return None
        if self._inner is not None:
            return None if self.inner_shapes is None else self.inner_shapes[
                (self._layer, self._inner)]
        return None if self.shapes is None else self.shapes[self._layer]

    def _unit_fits(self, unit: tuple[int, ...]) -> bool:
        """True if the unit indexes the selected layer's output (always, without shapes)."""
        if any(u < 0 for u in unit):
            return False
        shape = self._shape()
        if shape is None:
            return self._layer is not None
        return len(unit) == len(shape) and all(u < s for u, s in zip(unit, shape, strict=True))

    # -- sessions -----------------------------------------------------------------------

    def to_dict(self) -> dict:
        """A JSON-able dict for sessions ("inner" only when an inner layer is selected)."""
        unit = list(self._unit) if self._unit is not None else None
        out = {"layer": self._layer, "unit": unit, "example": self._example}
        if self._inner is not None:
            out["inner"] = self._inner
        return out

    @classmethod
    def for_spec(cls, spec: Any, batch_size: int = 1) -> Selection:
        """A Selection bounds-checked against a NetworkSpec's layers, inner ones included."""
        shapes, inner = selection_shapes(spec)
        return cls(shapes, batch_size, inner)

    @classmethod
    def from_dict(
        cls, d: dict, shapes: Sequence[tuple[int, ...]] | None = None, batch_size: int = 1,
        inner_shapes: InnerShapes | None = None,
    ) -> Selection:
        """Rebuild from `to_dict()`; ValueError names a bad field."""
        if not isinstance(d, dict):
            raise ValueError(f"selection must be a dict with layer, unit, example; got {d!r}")
        sel = cls(shapes, batch_size, inner_shapes)
        sel.select(d.get("layer"), d.get("unit"), d.get("inner"))
        sel.example = d.get("example", 0)
        return sel
