"""What the user has selected: a layer, a unit of it, and which example of the batch.

A plain observable object (napari/glue style): setters validate and then call every
listener with the name of the field that changed; Qt widgets bind to it through a thin
adapter, and tests use it without Qt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Listener = Callable[[str], None]


class Selection:
    """The selected layer, unit and example, validated against optional shapes."""

    def __init__(self, shapes: Sequence[tuple[int, ...]] | None = None, batch_size: int = 1):
        """`shapes[i]` is layer i's per-example output shape (enables bounds checks)."""
        self.shapes = [tuple(s) for s in shapes] if shapes is not None else None
        self.batch_size = int(batch_size)
        self._layer: int | None = None
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
        """The selected layer index, or None."""
        return self._layer

    @layer.setter
    def layer(self, value: int | None) -> None:
        value = self._check_layer(value)
        if value == self._layer:
            return
        self._layer = value
        self._notify("layer")
        if self._unit is not None and not self._unit_fits(self._unit):
            self._unit = None
            self._notify("unit")

    @property
    def unit(self) -> tuple[int, ...] | None:
        """The selected unit of the layer's output, (c, i, j) or (k,), or None."""
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

    def select(self, layer: int | None, unit: Any = None) -> None:
        """Set layer and unit together (listeners see a consistent state)."""
        layer = self._check_layer(layer)
        old_layer = self._layer
        self._layer = layer
        try:
            unit = self._check_unit(unit)
        except ValueError:
            self._layer = old_layer
            raise
        changed_unit = unit != self._unit
        self._unit = unit
        if layer != old_layer:
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
            shape = self.shapes[self._layer] if self.shapes is not None else None
            raise ValueError(f"unit {unit} is not inside layer {self._layer}'s output {shape}")
        return unit

    def _unit_fits(self, unit: tuple[int, ...]) -> bool:
        """True if the unit indexes the selected layer's output (always, without shapes)."""
        if any(u < 0 for u in unit):
            return False
        if self.shapes is None or self._layer is None:
            return self._layer is not None
        shape = self.shapes[self._layer]
        return len(unit) == len(shape) and all(u < s for u, s in zip(unit, shape, strict=True))

    # -- sessions -----------------------------------------------------------------------

    def to_dict(self) -> dict:
        """A JSON-able dict for sessions."""
        unit = list(self._unit) if self._unit is not None else None
        return {"layer": self._layer, "unit": unit, "example": self._example}

    @classmethod
    def from_dict(
        cls, d: dict, shapes: Sequence[tuple[int, ...]] | None = None, batch_size: int = 1
    ) -> Selection:
        """Rebuild from `to_dict()`; ValueError names a bad field."""
        if not isinstance(d, dict):
            raise ValueError(f"selection must be a dict with layer, unit, example; got {d!r}")
        sel = cls(shapes, batch_size)
        sel.select(d.get("layer"), d.get("unit"))
        sel.example = d.get("example", 0)
        return sel
