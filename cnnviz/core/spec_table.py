"""The shape table of a checked spec: one row per layer, both branches of every block."""

from __future__ import annotations

from cnnviz.core.spec_types import LayerSpec, NetworkSpec, _dims

_TABLE_KEYS = ("layer", "type", "output_shape", "params", "formula")


def shape_table(spec: NetworkSpec) -> list[dict]:
    """One row per layer: index, type, output shape, parameter count, output-size formula.

    A residual block gives a row per layer of its body ("3.body.0") and of its shortcut
    ("3.shortcut.0", or one "3.shortcut" identity row), then its addition ("residual (+)",
    no parameters of its own, so that the params column sums to the total).
    """
    rows = [row for layer in spec.layers for row in _layer_rows(layer)]
    return [dict(zip(_TABLE_KEYS, row, strict=True)) for row in rows]


def _layer_rows(layer: LayerSpec) -> list[tuple]:
    """The table rows of one top-level layer: one, or a block's branches and its addition."""
    if layer.type != "residual":
        return [(layer.index, layer.type, layer.out_shape, layer.param_count, layer.formula)]
    inner = [*layer.body, *layer.shortcut]
    rows = [(s.path, s.type, s.out_shape, s.param_count, s.formula) for s in inner]
    if not layer.shortcut:
        rows.append((f"{layer.index}.shortcut", "identity", layer.in_shape, 0, ""))
    rows.append((layer.index, "residual (+)", layer.out_shape, 0, "body + shortcut"))
    return rows


def format_shape_table(spec: NetworkSpec) -> str:
    """The aligned text table `cnnviz check` prints, with the totals under it."""
    header = ("layer", "type", "output", "params", "output size")
    rows = [("input", "", _dims(spec.input_shape), "", "")]
    rows += [
        (str(r["layer"]), r["type"], _dims(r["output_shape"]), f"{r['params']:,}", r["formula"])
        for r in shape_table(spec)
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(5)]

    def line(row: tuple[str, ...]) -> str:
        pairs = enumerate(zip(row, widths, strict=True))
        cells = [cell.rjust(w) if i == 3 else cell.ljust(w) for i, (cell, w) in pairs]
        return "  ".join(cells).rstrip()

    lines = [line(header), line(tuple("-" * w for w in widths)), *map(line, rows), ""]
    lines.append(f"total parameters: {spec.param_count:,}")
    lines.append(f"loss: {spec.loss} ({spec.num_classes} classes)")
    return "\n".join(lines)
