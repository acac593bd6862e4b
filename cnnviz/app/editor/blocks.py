"""Residual blocks in the editor's draft: the table's rows, edits inside a block's body or
shortcut, the 1×1 projection switch and the fix a branch-mismatch error suggests.

Plain Python on spec dicts (tested without Qt). A row is addressed by a path: ``(i,)`` a
top-level layer (a block's header row), ``(i, "body", j)`` / ``(i, "shortcut", j)`` a
layer inside block i, ``(i, "shortcut", None)`` the identity shortcut's row.
"""

from __future__ import annotations

import copy
import json
import re

from cnnviz.core.spec import LayerSpec, NetworkSpec

Path = tuple
_INNER_ERROR = re.compile(r"\blayer (\d+)\.(body|shortcut)\.(\d+)\b")
_FIX = re.compile(r'"shortcut": (\[.*\])')


def is_block(layer: object) -> bool:
    """True for a residual block's dict."""
    return isinstance(layer, dict) and layer.get("type") == "residual"


def shortcut_layers(block: dict) -> list[dict]:
    """The shortcut's layers ([] for the identity)."""
    value = block.get("shortcut", "identity")
    return value if isinstance(value, list) else []


def rows(draft: dict) -> list[Path]:
    """Every row of the table, in order: a block's header, its body, then its shortcut."""
    found: list[Path] = []
    for i, layer in enumerate(draft.get("layers") or []):
        found.append((i,))
        if is_block(layer):
            body = layer.get("body") if isinstance(layer.get("body"), list) else []
            found += [(i, "body", j) for j in range(len(body))]
            short = shortcut_layers(layer)
            found += [(i, "shortcut", j) for j in range(len(short))] or [(i, "shortcut", None)]
    return found


def layer_at(draft: dict, path: Path) -> dict | None:
    """The layer dict a row shows (None for the identity row)."""
    layer = draft["layers"][path[0]]
    if len(path) == 1:
        return layer
    if path[2] is None:
        return None
    branch = layer["body"] if path[1] == "body" else shortcut_layers(layer)
    return branch[path[2]]


def label(path: Path) -> str:
    """The row's name, as the stepper names its steps: "4", "4.1", "4.s0", "4.s"."""
    if len(path) == 1:
        return str(path[0])
    short = "s" if path[1] == "shortcut" else ""
    return f"{path[0]}.{short}{'' if path[2] is None else path[2]}"


def _branch(out: dict, path: Path) -> list[dict]:
    """The live branch list of a copied draft (an identity shortcut becomes [])."""
    block = out["layers"][path[0]]
    if path[1] == "shortcut" and not isinstance(block.get("shortcut"), list):
        block["shortcut"] = []
    return block[path[1]]


def _tidy(out: dict, i: int) -> dict:
    """An emptied shortcut is the identity again."""
    if out["layers"][i].get("shortcut") == []:
        out["layers"][i]["shortcut"] = "identity"
    return out


def default_block(channels: int) -> dict:
    """A ResNet basic block on `channels` maps: conv-BN-ReLU-conv-BN, identity shortcut."""
    conv = {"type": "conv2d", "out_channels": channels, "kernel_size": 3, "padding": 1}
    return {"type": "residual", "shortcut": "identity",
            "body": [dict(conv), {"type": "batchnorm2d"}, {"type": "relu"}, dict(conv),
                     {"type": "batchnorm2d"}]}


def add_block(draft: dict, index: int, channels: int) -> dict:
    """Insert a residual block at index (clamped to the list)."""
    out = copy.deepcopy(draft)
    index = max(0, min(index, len(out["layers"])))
    out["layers"].insert(index, default_block(channels))
    return out


def add_inner(draft: dict, path: Path, layer: dict) -> dict:
    """Insert a layer after an inner row (the identity row: as the shortcut's first)."""
    out = copy.deepcopy(draft)
    j = 0 if path[2] is None else path[2] + 1
    _branch(out, path).insert(j, copy.deepcopy(layer))
    return out


def remove_inner(draft: dict, path: Path) -> dict:
    """Remove an inner layer; a shortcut left without layers is the identity."""
    out = copy.deepcopy(draft)
    del _branch(out, path)[path[2]]
    return _tidy(out, path[0])


def move_inner(draft: dict, path: Path, dst: int) -> dict:
    """Move an inner layer to position dst of its branch."""
    out = copy.deepcopy(draft)
    branch = _branch(out, path)
    branch.insert(max(0, min(dst, len(branch) - 1)), branch.pop(path[2]))
    return out


def replace_inner(draft: dict, path: Path, layer: dict) -> dict:
    """Put a new layer dict at an inner row."""
    out = copy.deepcopy(draft)
    _branch(out, path)[path[2]] = copy.deepcopy(layer)
    return out


def set_shortcut(draft: dict, i: int, shortcut: list[dict] | str) -> dict:
    """Replace block i's shortcut ("identity" or a list of layers)."""
    out = copy.deepcopy(draft)
    out["layers"][i]["shortcut"] = copy.deepcopy(shortcut)
    return _tidy(out, i)


def projection(in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> list[dict]:
    """The 1×1 conv shortcut that maps a block's input shape to its body's output shape."""
    strides = [max(1, -(-n // max(m, 1))) for n, m in zip(in_shape[1:], out_shape[1:],
                                                           strict=True)]
    stride = strides[0] if strides[0] == strides[1] else strides
    return [{"type": "conv2d", "out_channels": int(out_shape[0]), "kernel_size": 1,
             "stride": stride}]


def suggested_fix(error: str) -> tuple[int, list[dict]] | None:
    """(block, shortcut) the branch-mismatch SpecError suggests, or None."""
    block, fix = re.match(r"layer (\d+) \(residual\)", error), _FIX.search(error)
    if block is None or fix is None:
        return None
    try:
        return int(block.group(1)), json.loads(fix.group(1))
    except ValueError:
        return None


def error_path(error: str) -> Path | None:
    """The inner row a SpecError names ("layer 4.body.1 (conv2d): …"), or None."""
    match = _INNER_ERROR.search(error)
    if match is None:
        return None
    return int(match.group(1)), match.group(2), int(match.group(3))


def row_info(spec: NetworkSpec, path: Path, table_row: dict) -> dict:
    """The shape-table row of a path in a valid spec (the top-level row for a header)."""
    if len(path) == 1:
        if spec.layers[path[0]].type == "residual":
            return dict(table_row, formula="o = body(x) + shortcut(x)")
        return table_row
    block = spec.layers[path[0]]
    if path[2] is None:
        return {"output_shape": _shape(block.in_shape), "params": 0,
                "formula": "identity: x unchanged"}
    inner: LayerSpec = getattr(block, path[1])[path[2]]
    return {"output_shape": _shape(inner.out_shape), "params": inner.param_count,
            "formula": inner.formula}


def _shape(shape: tuple[int, ...]) -> str:
    """'6×28×28'."""
    return "×".join(str(s) for s in shape)


def flat_table(draft: dict, spec: NetworkSpec | None, top_rows: list[dict | None],
               error: str, error_layer: int | None) -> tuple[list[Path], list[dict | None],
                                                             int | None]:
    """(paths, shape-table row per path, the bad row) of a draft and its validation."""
    paths = rows(draft)
    infos: list[dict | None] = []
    for path in paths:
        top = top_rows[path[0]] if path[0] < len(top_rows) else None
        if spec is not None and top is not None:
            infos.append(row_info(spec, path, top))
        else:
            infos.append(top if len(path) == 1 else None)
    bad = None
    if spec is None and error_layer is not None:
        target = error_path(error) or (error_layer,)
        bad = paths.index(target) if target in paths else paths.index((error_layer,))
    return paths, infos, bad
