"""The input dock: draw a digit, load or drop an image file, or pick a dataset example.

Whatever the source, the image is turned into exactly the network's input shape (digit
preprocessing for 1×28×28 networks, a plain resize otherwise) and handed to
``controller.set_input``; the preview shows what the network really gets — a colour
(3-channel) input as one RGB image whose values are its colours, as the pipeline's input
column draws it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from cnnviz.app.controller import AppController
from cnnviz.app.input.canvas import DrawingCanvas
from cnnviz.app.input.colour_pens import ColourPens
from cnnviz.app.input.dataset_browser import DatasetBrowser
from cnnviz.app.widgets.flow_layout import FlowLayout
from cnnviz.app.widgets.mapview import MapView
from cnnviz.data import DataError, load_image, preprocess_digit
from cnnviz.data.images import resize

PREVIEW_INTERVAL = 0.08   # seconds between live previews while a stroke is drawn
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm"}
DIGIT_SHAPE = (1, 28, 28)


# ----- turning pictures into network inputs (no widgets) ----------------------------------
def fit_to_input(gray: np.ndarray, shape: tuple[int, int, int], *,
                 invert: bool | str = False) -> np.ndarray:
    """An (H, W) grayscale picture as a (C, H, W) network input of exactly `shape`.

    A 1×28×28 network gets MNIST-style digit preprocessing (crop, 20×20 box, centre of
    mass); any other shape gets a plain antialiased resize, repeated over the channels.
    """
    C, H, W = shape
    if tuple(shape) == DIGIT_SHAPE:
        plane = preprocess_digit(gray, invert=invert)
    else:
        plane = gray if gray.shape == (H, W) else resize(gray, (H, W))
        if invert is True or (invert == "auto" and float(np.median(plane)) > 0.5):
            plane = 1.0 - plane
    return np.repeat(np.asarray(plane, dtype=np.float32)[np.newaxis], C, axis=0)


def input_from_file(path: str | os.PathLike, shape: tuple[int, int, int]) -> np.ndarray:
    """Load an image file as a network input; dark ink on light paper is inverted. A
    3-channel network gets the picture's colours as they are (no inversion)."""
    if shape[0] == 3:
        return np.ascontiguousarray(load_image(path, size=tuple(shape[1:]), channels=3))
    gray = load_image(path, size=None if tuple(shape) == DIGIT_SHAPE else tuple(shape[1:]))
    return fit_to_input(gray, shape, invert="auto")


def load_image_input(path: str | os.PathLike, controller: AppController) -> bool:
    """Load an image file into the controller; a bad file raises error_raised, input kept."""
    try:
        image = input_from_file(path, tuple(controller.spec.input_shape))
    except DataError as error:
        controller.error_raised.emit("Cannot load image", str(error))
        return False
    ok = controller.set_input(image, None)
    if ok:
        controller.status_changed.emit(f"Input: {Path(path).name}")
    return ok


def image_paths(event: QDropEvent | QDragEnterEvent) -> list[Path]:
    """Local image files carried by a drag or drop event."""
    mime = event.mimeData()
    if mime is None or not mime.hasUrls():
        return []
    paths = [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
    return [p for p in paths if p.suffix.lower() in IMAGE_SUFFIXES]


def accept_image_drop(event: QEvent, controller: AppController) -> bool:
    """For a window's dragEnter/dragMove/drop handlers: accept image files, load a drop.

    Returns True if the event carried an image file (and, for a drop, it was loaded).
    """
    paths = image_paths(event) if isinstance(event, QDragEnterEvent | QDropEvent) else []
    if not paths:
        return False
    event.acceptProposedAction()
    if event.type() != QEvent.Type.Drop:
        return True
    return load_image_input(paths[0], controller)


# ----- the dock widget -------------------------------------------------------------------
class InputPanel(QWidget):
    """Preview of the network's input, a drawing canvas and a dataset browser."""

    def __init__(self, controller: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        font = self.font()
        font.setPointSizeF(max(font.pointSizeF(), 11.0))
        self.setFont(font)
        self.setAcceptDrops(True)
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_preview())
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_draw_tab(), "Draw")
        self.browser = DatasetBrowser(controller)
        self.tabs.addTab(self.browser, "Dataset")
        layout.addWidget(self.tabs, stretch=1)
        controller.input_changed.connect(self._on_input_changed)
        controller.spec_changed.connect(self._on_input_changed)
        self._on_input_changed()

    def _build_preview(self) -> QHBoxLayout:
        """The network input as the network sees it, beside its size, label and Load image…

        Side by side, so that a short dock still has room for the canvas below.
        """
        row = QHBoxLayout()
        self.preview = MapView()
        self.preview.setMinimumSize(150, 100)
        self.preview.setMaximumHeight(170)
        self.preview.setToolTip("What the network gets: the input after preprocessing "
                                "(a colour input as one RGB image: its values, in [0, 1], "
                                "are its colours). Hover for exact values.")
        row.addWidget(self.preview, stretch=3)
        column = QVBoxLayout()
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        column.addWidget(self.caption)
        self.load_button = QPushButton("Load image…")
        self.load_button.setToolTip("Load image…: a PNG/JPEG/BMP file as the input "
                                    "(or drop one onto the window)")
        self.load_button.clicked.connect(self._on_load_clicked)
        column.addWidget(self.load_button)
        column.addStretch(1)
        row.addLayout(column, stretch=2)
        return row

    def _build_draw_tab(self) -> QWidget:
        """Canvas plus pen/eraser, undo, clear and the brush width."""
        tab = QWidget()
        layout = QVBoxLayout(tab)
        self.canvas = DrawingCanvas()
        self.canvas.drawing_changed.connect(self._on_drawing_changed)
        self.canvas.ink_changed.connect(self._on_ink_changed)
        self._last_preview = 0.0
        self.canvas.setMinimumSize(140, 140)
        self.eraser_button = QPushButton("Eraser")
        self.eraser_button.setCheckable(True)
        self.eraser_button.setToolTip("Eraser: toggle between pen and eraser")
        self.eraser_button.toggled.connect(self.canvas.set_eraser)
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Undo stroke (Ctrl+Z while the canvas has focus)")
        self.undo_button.clicked.connect(self.canvas.undo_stroke)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Clear the canvas (undoable)")
        self.clear_button.clicked.connect(self.canvas.clear)
        tools = FlowLayout()
        for button in (self.eraser_button, self.undo_button, self.clear_button):
            tools.addWidget(button)
        layout.addLayout(tools)   # the tools above the canvas: in view in a short dock
        self.colour_pens = ColourPens(self.canvas)
        layout.addWidget(self.colour_pens)
        width = QHBoxLayout()
        width.addWidget(QLabel("Width"))
        self.width_slider = QSlider(Qt.Orientation.Horizontal)
        self.width_slider.setRange(4, 48)
        self.width_slider.setValue(int(self.canvas.brush_width))
        self.width_slider.setToolTip("Brush width in canvas pixels (of 280)")
        self.width_slider.valueChanged.connect(self.canvas.set_brush_width)
        width.addWidget(self.width_slider, stretch=1)
        layout.addLayout(width)
        layout.addWidget(self.canvas, stretch=1)
        return tab

    # ----- actions ---------------------------------------------------------------------
    def drawn_input(self) -> np.ndarray:
        """The canvas as a network input of the current spec's shape (its colours for a
        network over RGB images)."""
        C, H, W = self.controller.spec.input_shape
        if C == 3:
            return np.stack([resize(plane, (H, W)) for plane in self.canvas.ink_rgb()])
        return fit_to_input(self.canvas.ink(), (C, H, W))

    def load_file(self, path: str | os.PathLike) -> bool:
        """Load an image file as the input (errors go to the error dialog)."""
        return load_image_input(path, self.controller)

    def _on_load_clicked(self) -> None:
        """File dialog, then load_file."""
        patterns = " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES))
        path, _ = QFileDialog.getOpenFileName(self, "Load image", "",
                                              f"Images ({patterns});;All files (*)")
        if path:
            self.load_file(path)

    def _on_ink_changed(self) -> None:
        """While a stroke is drawn: a live preview now and then, the network is not run."""
        now = time.monotonic()
        if now - self._last_preview >= PREVIEW_INTERVAL:
            self._last_preview = now
            self._show(self.drawn_input())

    def _on_drawing_changed(self) -> None:
        """A stroke ended (or was undone, or the canvas cleared): the network gets it."""
        self.controller.set_input(self.drawn_input(), None)

    def _on_input_changed(self) -> None:
        """Show the controller's actual input with its size and label."""
        self.colour_pens.follow_network(self.controller.spec.input_shape[0])
        image = self.controller.input_image
        self._show(image)
        label = self.controller.input_label
        C, H, W = image.shape
        text = f"<b>Network input</b><br>{C}×{H}×{W}" + (" RGB" if C == 3 else "")
        text += f", label <b>{label}</b>" if label is not None else ", no label"
        self.caption.setText(text)

    def _show(self, image: np.ndarray) -> None:
        """The preview of an input (C, H, W): a colour input as one RGB image (R, G, B in
        [0, 1], clipped, never colour-mapped), any other as its maps on the sequential map."""
        if image.ndim == 3 and image.shape[0] == 3:
            self.preview.set_rgb(image)
        else:
            self.preview.set_array(image, signed=False)

    # ----- drops onto the panel ------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept image files."""
        if not accept_image_drop(event, self.controller):
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        """Load a dropped image file."""
        if not image_paths(event):
            event.ignore()
            return
        accept_image_drop(event, self.controller)
