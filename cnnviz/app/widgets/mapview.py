"""The reusable image widgets: a stack of maps as one zoomable mosaic with colour bar and hover
(``MapView``), and small pixel-sharp thumbnails for the pipeline (``ThumbGrid``, in
``thumb_grid.py``, imported from here as well).

A ``(C, H, W)`` array is tiled into a grid of ``C`` maps with a one-pixel gap; a vector
``(K,)`` is shown as a vertical strip; ``set_rgb`` shows a colour image (R, G, B in [0, 1])
as its own colours, with no colour map and no colour bar. Units are addressed per example
like the controller: ``(c, i, j)`` for maps and ``(k,)`` for vectors. Clicking a cell emits
``unit_clicked``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRectF, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsRectItem, QWidget

from cnnviz.app.widgets.colormaps import colormap_for, levels_for, rgb_pixels
from cnnviz.app.widgets.thumb_grid import GAP, ThumbGrid, as_stack
from cnnviz.engine.explain_terms import idx

__all__ = ["GAP", "MapView", "Mosaic", "ThumbGrid", "as_stack", "same_data", "unit_text"]


@dataclass(frozen=True)
class Mosaic:
    """Where each map of a (C, H, W) stack sits in the tiled image."""

    C: int
    H: int
    W: int
    columns: int = 0  # 0: a near-square grid

    @property
    def cols(self) -> int:
        """Tiles per row."""
        return self.columns or max(1, math.ceil(math.sqrt(self.C)))

    @property
    def rows(self) -> int:
        """Number of tile rows."""
        return math.ceil(self.C / self.cols)

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) of the tiled image."""
        return (self.rows * (self.H + GAP) - GAP, self.cols * (self.W + GAP) - GAP)

    def origin(self, c: int) -> tuple[int, int]:
        """Top-left pixel (row, col) of map c."""
        return (c // self.cols) * (self.H + GAP), (c % self.cols) * (self.W + GAP)

    def locate(self, y: int, x: int) -> tuple[int, int, int] | None:
        """The (c, i, j) under image pixel (y, x), or None in a gap or outside."""
        row, i = divmod(y, self.H + GAP)
        col, j = divmod(x, self.W + GAP)
        c = row * self.cols + col
        if y < 0 or x < 0 or i >= self.H or j >= self.W or col >= self.cols or c >= self.C:
            return None
        return c, i, j

    def tile(self, maps: np.ndarray) -> np.ndarray:
        """The tiled image of a (C, H, W) stack, NaN in the gaps."""
        image = np.full(self.shape, np.nan, dtype=np.float64)
        for c in range(self.C):
            y, x = self.origin(c)
            image[y : y + self.H, x : x + self.W] = maps[c]
        return image

    def untile(self, image: np.ndarray) -> np.ndarray:
        """The (C, H, W) stack back from a tiled image (tests use it)."""
        maps = np.empty((self.C, self.H, self.W), dtype=image.dtype)
        for c in range(self.C):
            y, x = self.origin(c)
            maps[c] = image[y : y + self.H, x : x + self.W]
        return maps


def same_data(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    """True if two arrays are the same view of the same (immutable) record array."""
    if a is None or b is None:
        return a is b
    return a is b or (a.base is not None and a.base is b.base
                      and a.__array_interface__ == b.__array_interface__)


def unit_text(unit: tuple[int, ...]) -> str:
    """A unit index as the app writes indices everywhere: `[c,i,j]`, never a Python tuple."""
    return idx(*unit)


UnitNamer = Callable[[tuple[int, ...]], str]


class MapView(pg.GraphicsLayoutWidget):
    """A zoomable mosaic of maps with a colour bar and the exact value on hover."""

    unit_clicked = Signal(tuple)
    hover_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = self.addViewBox(row=0, col=0, lockAspect=True, invertY=True)
        self.view.setMenuEnabled(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image)
        self.colorbar = pg.ColorBarItem(values=(0, 1), colorMap=colormap_for(False),
                                        interactive=False, width=18)
        self.colorbar.setImageItem(self.image)
        self.addItem(self.colorbar, row=0, col=1)
        self.readout = self.addLabel("", row=1, col=0, colspan=2, size="12pt")
        self.unit_name: UnitNamer = unit_text  # how the hover readout names a cell
        self.maps: np.ndarray | None = None
        self.vector = False
        self.rgb = False  # True: `maps` is one (3, H, W) colour image, drawn as its colours
        self.mosaic = Mosaic(1, 1, 1)
        self._overlays: list[QGraphicsRectItem] = []
        self.scene().sigMouseClicked.connect(self._on_scene_clicked)
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.setMinimumSize(160, 140)

    # ----- data ------------------------------------------------------------------------
    def set_array(self, array: np.ndarray | None, signed: bool, columns: int = 0) -> None:
        """Show a (C, H, W) stack, a 2-D map or a vector; None clears the view."""
        self.clear_overlays()
        if array is None or np.asarray(array).size == 0:
            self.maps = None
            self.image.clear()
            self.readout.setText("")
            self.colorbar.setVisible(False)  # an empty view shows no stale scale
            return
        self.colorbar.setVisible(True)
        self.rgb = False
        self.maps, self.vector = as_stack(array)
        self.mosaic = Mosaic(*self.maps.shape, columns=columns)
        self.signed = signed
        lo, hi = levels_for(self.maps, signed)
        self.colormap = colormap_for(signed)
        self.colorbar.setColorMap(self.colormap)
        self.image.setImage(self.mosaic.tile(self.maps), autoLevels=False)
        self.colorbar.setLevels((lo, hi))
        self.view.setAspectLocked(not self.vector)
        self.view.autoRange(padding=0.02)

    def set_rgb(self, array: np.ndarray) -> None:
        """Show a (3, H, W) colour image whose channels are R, G, B in [0, 1]: its values are
        its colours (``colormaps.rgb_pixels``: clipped to [0, 1], never colour-mapped or
        stretched), so there is no colour bar; hovering reads a pixel's three values."""
        self.clear_overlays()
        self.maps, self.vector, self.rgb = np.asarray(array), False, True
        _, H, W = self.maps.shape
        self.mosaic = Mosaic(1, H, W)
        self.colorbar.setVisible(False)
        self.image.setImage(rgb_pixels(self.maps), autoLevels=False)
        self.image.setLevels((0, 255))  # after setImage, which applies levels deferred earlier
        self.view.setAspectLocked(True)
        self.view.autoRange(padding=0.02)

    def recolor(self) -> None:
        """Follow a palette change (View → High contrast): the colour bar recolours the image
        (a colour image keeps its own colours)."""
        if self.maps is not None and not self.rgb:
            self.colormap = colormap_for(self.signed)
            self.colorbar.setColorMap(self.colormap)

    def image_data(self) -> np.ndarray | None:
        """The tiled image currently drawn (NaN in the gaps)."""
        return None if self.maps is None else self.image.image

    def shown_maps(self) -> np.ndarray | None:
        """The (C, H, W) stack recovered from the drawn image (a colour image: the colours
        drawn, as R, G, B in [0, 1])."""
        data = self.image_data()
        if data is None or not self.rgb:
            return None if data is None else self.mosaic.untile(data)
        return np.moveaxis(data, -1, 0) / 255.0

    # ----- units and pixels --------------------------------------------------------------
    def unit_at(self, y: int, x: int) -> tuple[int, ...] | None:
        """The unit under image pixel (y, x) in the controller's per-example convention."""
        if self.maps is None:
            return None
        where = self.mosaic.locate(y, x)
        if where is None:
            return None
        return (where[1],) if self.vector else where

    def cell_of(self, unit: tuple[int, ...]) -> tuple[int, int]:
        """Image pixel (y, x) of a unit."""
        c, i, j = (0, unit[0], 0) if self.vector else unit
        y0, x0 = self.mosaic.origin(0 if self.rgb else c)  # a colour image: one tile
        return y0 + i, x0 + j

    def widget_pos_of(self, unit: tuple[int, ...]) -> QPoint:
        """Viewport position of a unit's centre (for clicks in tests and tooltips)."""
        y, x = self.cell_of(unit)
        scene = self.view.mapViewToScene(QPointF(x + 0.5, y + 0.5))
        return self.mapFromScene(scene)

    def value_at(self, unit: tuple[int, ...]) -> float:
        """The exact value of a unit."""
        c, i, j = (0, unit[0], 0) if self.vector else unit
        return float(self.maps[c, i, j])

    def _pixel(self, scene_pos: QPointF) -> tuple[int, int] | None:
        """Image pixel (y, x) under a scene position, or None."""
        if self.maps is None or not self.view.sceneBoundingRect().contains(scene_pos):
            return None
        p = self.view.mapSceneToView(scene_pos)
        return math.floor(p.y()), math.floor(p.x())

    def _on_scene_clicked(self, event) -> None:
        """Emit unit_clicked for a click on a cell."""
        pixel = self._pixel(event.scenePos())
        unit = None if pixel is None else self.unit_at(*pixel)
        if unit is not None:
            self.unit_clicked.emit(unit)

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        """Show the exact value under the mouse."""
        pixel = self._pixel(scene_pos)
        unit = None if pixel is None else self.unit_at(*pixel)
        text = "" if unit is None else self.hover_text(unit)
        self.readout.setText(text)
        self.hover_changed.emit(text)

    def hover_text(self, unit: tuple[int, ...]) -> str:
        """The readout of a cell: its exact value, or a colour pixel's three values."""
        if not self.rgb:
            return f"{self.unit_name(unit)} = {self.value_at(unit):.6g}"
        _, i, j = unit
        r, g, b = (float(v) for v in self.maps[:, i, j])
        return f"[{i},{j}] = R {r:.6g}, G {g:.6g}, B {b:.6g}"

    # ----- overlays ----------------------------------------------------------------------
    def clear_overlays(self) -> None:
        """Remove every outline and marker."""
        for item in self._overlays:
            self.view.removeItem(item)
        self._overlays.clear()

    def add_rect(self, c: int, i0: int, i1: int, j0: int, j1: int, color: str,
                 width: float = 2.0, fill: str | None = None) -> QGraphicsRectItem:
        """Outline rows i0..i1-1, cols j0..j1-1 of map c (a colour image: of the image)."""
        y0, x0 = self.mosaic.origin(0 if self.rgb else c)
        item = QGraphicsRectItem(QRectF(x0 + j0, y0 + i0, j1 - j0, i1 - i0))
        item.setPen(pg.mkPen(color, width=width))
        if fill is not None:
            item.setBrush(pg.mkBrush(QColor(fill)))
        item.setZValue(10)
        self.view.addItem(item)
        self._overlays.append(item)
        return item

    def outline_maps(self, maps: list[int], color: str, width: float = 3.0) -> None:
        """Outline whole maps of the mosaic (a kernel the explanation uses), leaving every
        cell's colour visible."""
        for c in sorted(set(maps)):
            self.add_rect(c, 0, self.mosaic.H, 0, self.mosaic.W, color, width=width)

    def mark_units(self, units: list[tuple[int, ...]], color: str,
                   fill: str | None = None, width: float = 2.0) -> None:
        """Outline single cells (pool winners, contributing cells, the selected unit)."""
        for unit in units:
            c, i, j = (0, unit[0], 0) if self.vector else unit
            self.add_rect(c, i, i + 1, j, j + 1, color, width=width, fill=fill)

    def overlays(self) -> list[QRectF]:
        """Rectangles drawn over the image, in image pixels (tests use it)."""
        return [item.rect() for item in self._overlays]
