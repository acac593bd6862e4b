"""The data of the computation view: an explanation's numbers laid out as grids.

A `Figure` is rows of `Grid`s joined by operator text (`⊙`, `=`, `Σ + b =`). Every
number in it is read from the step records (or is a product or sum of such numbers,
computed here in float64), so that the GUI draws it without computing anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Grid:
    """A 2-D block of numbers: its symbol, values, colouring and marked cells."""

    symbol: str
    values: np.ndarray  # (rows, cols) float64
    signed: bool = True  # diverging colours around 0; False: sequential (activations)
    names: list[list[str]] | None = None  # per-cell symbol, e.g. "o[0,1,3,4]" (tooltips)
    pad: np.ndarray | None = None  # bool (rows, cols): padded or inserted zeros
    marks: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # "winner", "hit"
    box: tuple[int, int, int, int] | None = None  # (r0, r1, c0, c1) outlined, e.g. region Q
    row_labels: list[str] | None = None
    col_labels: list[str] | None = None
    overview: bool = False  # a whole map for orientation: small cells, colours, no numbers

    def __post_init__(self) -> None:
        """Store values as a 2-D float64 array."""
        self.values = np.atleast_2d(np.asarray(self.values, dtype=np.float64))

    def name(self, r: int, c: int) -> str:
        """The symbol of one cell (the grid's symbol with the cell's position if unnamed)."""
        if self.names is not None:
            return self.names[r][c]
        return f"{self.symbol}[{r},{c}]"


@dataclass
class Row:
    """One line of a figure: a caption and grids joined by operator strings."""

    caption: str
    items: list[Grid | str]

    def grids(self) -> list[Grid]:
        """The grids of the row, in order."""
        return [item for item in self.items if isinstance(item, Grid)]


@dataclass
class Figure:
    """A whole computation: a title, rows, and notes (seed equations, what is summed)."""

    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def grids(self) -> list[Grid]:
        """Every grid, row by row."""
        return [g for row in self.rows for g in row.grids()]

    def grid(self, symbol: str) -> Grid:
        """The first grid with this symbol (tests and the view look grids up by it)."""
        for g in self.grids():
            if g.symbol == symbol:
                return g
        raise KeyError(symbol)


def scalar(symbol: str, value: float, signed: bool = True) -> Grid:
    """A 1×1 grid."""
    return Grid(symbol, np.array([[value]]), signed, names=[[symbol]])


def column(symbol: str, values: np.ndarray, names: list[str], signed: bool = True,
           labels: list[str] | None = None) -> Grid:
    """A vertical vector as a K×1 grid."""
    return Grid(symbol, np.asarray(values, dtype=np.float64).reshape(-1, 1), signed,
                names=[[n] for n in names], row_labels=labels)


def named(prefix: str, lead: tuple[int, ...], rows: range | list[int],
          cols: range | list[int]) -> list[list[str]]:
    """Cell names like `o[0,1,3,4]`: `prefix[lead…, r, c]` for each row and column index."""
    head = "".join(f"{v}," for v in lead)
    return [[f"{prefix}[{head}{r},{c}]" for c in cols] for r in rows]


def window(plane: np.ndarray, r0: int, c0: int, kh: int, kw: int,
           step: tuple[int, int] = (1, 1)) -> tuple[np.ndarray, np.ndarray, list, list]:
    """A kh×kw window of a 2-D plane starting at (r0, c0), taking every step-th cell.

    Returns (values with 0 outside, pad mask, row indices, col indices); cells outside the
    plane are zero padding.
    """
    H, W = plane.shape
    rows = [r0 + m * step[0] for m in range(kh)]
    cols = [c0 + n * step[1] for n in range(kw)]
    inside_r = np.array([0 <= r < H for r in rows])
    inside_c = np.array([0 <= c < W for c in cols])
    pad = ~(inside_r[:, None] & inside_c[None, :])
    values = np.zeros((kh, kw))
    for a, r in enumerate(rows):
        for b, c in enumerate(cols):
            if not pad[a, b]:
                values[a, b] = plane[r, c]
    return values, pad, rows, cols


def ix(unit: tuple) -> str:
    """Index text like `[0,2,3]`."""
    return "[" + ",".join(str(int(v)) for v in unit) + "]"


def labels(indices: list[int]) -> list[str]:
    """Row or column labels: the absolute index, '·' for padding outside the map."""
    return [str(i) for i in indices]


OVERVIEW_CELLS = 64  # a whole map with more cells is drawn as colours (hover for numbers)
VECTOR_ROW = 16  # a long vector is drawn in rows of this many cells


def map_of(tensor: np.ndarray, unit: tuple) -> tuple[np.ndarray, tuple, tuple]:
    """The map a unit lies in: plane (e, c) of an (N, C, H, W) tensor, or example e's vector
    of an (N, F) one; with the map's leading indices and the unit's place in it."""
    k = 2 if tensor.ndim == 4 else 1
    lead, rest = tuple(int(v) for v in unit[:k]), tuple(int(v) for v in unit[k:])
    return np.asarray(tensor[lead], dtype=np.float64), lead, rest


def plane(symbol: str, values: np.ndarray, prefix: str, lead: tuple,
          mark: tuple | None = None, signed: bool | None = None) -> Grid:
    """A whole map for orientation, `mark` framed: its numbers when it is small, colours only
    when it has more than OVERVIEW_CELLS cells (a vector: in rows, see `_vector_rows`)."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 2:
        rows, cols = range(v.shape[0]), range(v.shape[1])
        small = v.size <= OVERVIEW_CELLS  # numbers, with the row and column indices
        grid = Grid(symbol, v, names=named(prefix, lead, rows, cols),
                    row_labels=labels(list(rows)) if small else None,
                    col_labels=labels(list(cols)) if small else None)
        cell = mark
    else:
        grid, cell = _vector_rows(symbol, v, prefix, lead, mark)
    grid.signed = bool((v < 0).any()) if signed is None else signed
    grid.marks = {"winner": [tuple(cell)]} if cell is not None else {}
    grid.overview = v.size > OVERVIEW_CELLS
    return grid


def _vector_rows(symbol: str, v: np.ndarray, prefix: str, lead: tuple,
                 mark: tuple | None) -> tuple[Grid, tuple | None]:
    """A vector in rows of VECTOR_ROW cells, each row labelled with its first index, the
    cells past its end hatched and empty; and the marked cell's place."""
    width = min(v.size, VECTOR_ROW)
    rows = -(-v.size // width)
    index = np.arange(rows * width).reshape(rows, width)
    values = np.full(index.shape, np.nan)
    values.flat[: v.size] = v
    names = [[f"{prefix}{ix((*lead, k))}" if k < v.size else "no cell" for k in row]
             for row in index.tolist()]
    grid = Grid(symbol, values, names=names, pad=index >= v.size,
                row_labels=[str(r * width) for r in range(rows)] if rows > 1 else None)
    return grid, None if mark is None else divmod(int(mark[0]), width)
