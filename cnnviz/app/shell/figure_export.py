"""Figures for slides: any panel or plot as PNG at twice its on-screen size or as SVG
(File → Export figure…, or a panel's context menu), and the inspector's shown tensor as
.npy or CSV (the inspector's context menu).

PNG: the widget rendered into an image of 2× its size at device-pixel ratio 2, so text
and lines are drawn sharp, not scaled up. SVG: the widget rendered through
QSvgGenerator; vector where Qt paints vectors, maps as embedded <image> elements.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QIODevice, QPoint, QRect, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMenu, QWidget

from cnnviz.app.controller import AppController
from cnnviz.app.debugger.inspector import TABS, Inspector
from cnnviz.app.shell.menus import add_action
from cnnviz.data.fileio import write_bytes_atomically
from cnnviz.data.tensor_files import write_csv, write_npy

SCALE = 2
FORMATS = {"png": "PNG, 2× (*.png)", "svg": "SVG (*.svg)"}
PLOTS = {"loss": ("Loss & accuracy plots", "metric_plots"),  # training dock: (title, attr)
         "gradnorms": ("Gradient norms plot", "grad_plot"),
         "compare": ("Compare runs plot", "compare")}


def render_png(widget: QWidget, scale: int = SCALE) -> bytes:
    """The widget as PNG bytes at `scale` × its size (drawn at that resolution)."""
    image = QImage(widget.size() * scale, QImage.Format.Format_ARGB32_Premultiplied)
    image.setDevicePixelRatio(scale)
    image.fill(widget.palette().window().color())
    painter = QPainter(image)
    widget.render(painter, QPoint(0, 0))
    painter.end()
    return png_bytes(image)


def png_bytes(image: QImage) -> bytes:
    """A QImage encoded as PNG."""
    return _encode(lambda buffer: image.save(buffer, "PNG"))


def render_svg(widget: QWidget, title: str = "") -> bytes:
    """The widget as SVG bytes (vector paths and embedded images), its size in pixels."""
    generator = QSvgGenerator()
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator.setOutputDevice(buffer)
    generator.setSize(widget.size())
    generator.setViewBox(QRect(QPoint(0, 0), widget.size()))
    generator.setTitle(title or "cnnviz figure")
    generator.setDescription("exported by cnnviz")
    painter = QPainter(generator)
    widget.render(painter, QPoint(0, 0))
    painter.end()
    return bytes(buffer.data())


def _encode(save: Callable[[QBuffer], bool]) -> bytes:
    """Bytes that `save` writes into a QBuffer; OSError if it fails."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not save(buffer):
        raise OSError("could not encode the image")
    return bytes(buffer.data())


def export_figure(widget: QWidget, path: str | Path, title: str = "") -> Path:
    """Write the widget to path: .png at 2× or .svg, atomically; ValueError for others."""
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise ValueError(f"{out.name}: a figure is written as .png or .svg")
    data = render_png(widget) if suffix == ".png" else render_svg(widget, title)
    write_bytes_atomically(out, data)
    return out


def shown_tensor(inspector: Inspector) -> tuple[np.ndarray | None, str]:
    """The tensor the inspector's tab shows, with a file-name stem; weights and weight
    gradients in their own shape (out, in, kh, kw), not the tiled picture."""
    key = TABS[inspector.tabs.currentIndex()][0]
    ctrl, target = inspector.ctrl, inspector.target()
    array = None
    if key == "filters":
        array = inspector.params().get("weight")
    elif key == "wgrads":
        record = ctrl.stepper.record(target.step("B"))
        array = None if record is None else record.values.get("grad_weight")
    if array is None:
        array = inspector.content(key)[0]
    name = target.label(ctrl).replace(".", "_")  # no dots: "layer4_body_0_filters"
    stem = f"layer{name}_{key}"
    return (None if array is None else np.array(array)), stem


def export_tensor(inspector: Inspector, path: str | Path) -> Path:
    """Write the shown tensor to .npy or .csv; ValueError if nothing is shown."""
    array, _ = shown_tensor(inspector)
    out = Path(path)
    if array is None:
        raise ValueError("the inspector shows no tensor at this step")
    if out.suffix.lower() not in (".npy", ".csv"):
        raise ValueError(f"{out.name}: a tensor is written as .npy or .csv")
    (write_npy if out.suffix.lower() == ".npy" else write_csv)(out, array)
    return out


class FigureExport:
    """File → Export figure… submenus and the docks' context menus."""

    def __init__(self, window: QWidget, ctrl: AppController, panels: dict[str, QWidget],
                 docks: dict[str, QDockWidget]) -> None:
        self.window, self.ctrl, self.panels, self.docks = window, ctrl, panels, docks
        for key, dock in docks.items():
            dock.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            dock.customContextMenuRequested.connect(
                lambda pos, k=key: self.context_menu(k).exec(self.docks[k].mapToGlobal(pos)))

    def figures(self) -> dict[str, tuple[str, QWidget]]:
        """Every exportable figure: key -> (title, widget); the docks, then the plots."""
        found = {key: (dock.windowTitle(), self.panels[key]) for key, dock in self.docks.items()}
        training = self.panels.get("training")
        for key, (title, attr) in PLOTS.items():
            if hasattr(training, attr):
                found[key] = (title, getattr(training, attr))
        return found

    def add_export_menu(self, menu: QMenu) -> QMenu:
        """File → Export figure… with a submenu (PNG, SVG) per panel and plot."""
        export = menu.addMenu("Export figure…")
        for key, (title, _widget) in self.figures().items():
            self._add_formats(export.addMenu(title), key, title)
        return export

    def context_menu(self, dock_key: str) -> QMenu:
        """A dock's context menu: its figure (and plots) as PNG/SVG; the inspector's tensor."""
        menu = QMenu(self.window)
        keys = [dock_key] + (list(PLOTS) if dock_key == "training" else [])
        for key in keys:
            title = self.figures()[key][0]
            self._add_formats(menu, key, title, prefix=f"Export {title} as ")
        if dock_key == "inspector":
            menu.addSeparator()
            for suffix in ("npy", "csv"):
                add_action(self.window, menu, f"Export shown tensor as .{suffix}…",
                           lambda s=suffix: self.tensor_dialog(s))
        return menu

    def _add_formats(self, menu: QMenu, key: str, title: str, prefix: str = "") -> None:
        """PNG and SVG entries for one figure."""
        for fmt in FORMATS:
            text = f"{prefix}{'PNG (2×)' if fmt == 'png' else 'SVG'}…"
            add_action(self.window, menu, text, lambda k=key, f=fmt: self.figure_dialog(k, f))

    def export(self, key: str, path: str | Path) -> bool:
        """Write figure `key` to path (.png or .svg); errors go to error_raised."""
        title, widget = self.figures()[key]
        try:
            export_figure(widget, path, f"cnnviz — {title}")
        except (OSError, ValueError) as error:
            self.ctrl.error_raised.emit("Export failed", f"{path}: {error}")
            return False
        self.ctrl.status_changed.emit(f"Figure saved to {path}")
        return True

    def figure_dialog(self, key: str, fmt: str) -> None:
        """Ask for a file name, then export."""
        path, _ = QFileDialog.getSaveFileName(self.window, "Export figure", f"{key}.{fmt}",
                                              FORMATS[fmt])
        if path:
            self.export(key, path if path.lower().endswith(f".{fmt}") else f"{path}.{fmt}")

    def export_tensor(self, path: str | Path) -> bool:
        """Write the inspector's shown tensor; errors go to error_raised."""
        try:
            export_tensor(self.panels["inspector"], path)
        except (OSError, ValueError) as error:
            self.ctrl.error_raised.emit("Export failed", f"{path}: {error}")
            return False
        self.ctrl.status_changed.emit(f"Tensor saved to {path}")
        return True

    def tensor_dialog(self, suffix: str) -> None:
        """Ask for a file name, then export the shown tensor."""
        _, stem = shown_tensor(self.panels["inspector"])
        path, _ = QFileDialog.getSaveFileName(self.window, "Export tensor", f"{stem}.{suffix}",
                                              f"{suffix.upper()} (*.{suffix})")
        if path:
            self.export_tensor(path if path.lower().endswith(f".{suffix}") else
                               f"{path}.{suffix}")
