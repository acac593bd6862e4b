"""The dataset browser: thumbnails with labels, filters by split and class, and mistakes.

Thumbnails are made lazily by the model, only for the rows the view asks for. Clicking an
example makes it the network's input (with its label). "Show mistakes" runs the engine's
``evaluate`` on the test split and lists the examples the network gets wrong.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QCursor, QImage, QPixmap, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cnnviz.app.controller import AppController
from cnnviz.core.network import Network
from cnnviz.data import DataError, describe_dataset, list_datasets, open_dataset
from cnnviz.data.dataset import Dataset
from cnnviz.engine.trainer import evaluate

THUMB = 56
OPEN_ITEM = "Open folder/IDX…"
SPLITS = ["test", "train", "all"]
BUILTINS = list_datasets()
Index = QModelIndex | QPersistentModelIndex


def thumbnail(image: np.ndarray, size: int = THUMB) -> QPixmap:
    """A (C, H, W) image in [0, 1] as a crisp (nearest-neighbour) square pixmap."""
    data = np.clip(np.nan_to_num(np.asarray(image, dtype=np.float32)), 0, 1)
    pixels = np.ascontiguousarray((data * 255).round().astype(np.uint8))
    if pixels.shape[0] == 3:
        rgb = np.ascontiguousarray(pixels.transpose(1, 2, 0))
        h, w = rgb.shape[:2]
        qimage = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    else:
        gray = np.ascontiguousarray(pixels[0])
        h, w = gray.shape
        qimage = QImage(gray.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    scaled = qimage.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                           Qt.TransformationMode.FastTransformation)
    return QPixmap.fromImage(scaled)


class ThumbnailModel(QAbstractListModel):
    """Rows = chosen examples of a dataset; thumbnails made on demand and cached."""

    CACHE = 3000

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dataset: Dataset | None = None
        self.indices = np.zeros(0, dtype=np.int64)
        self.predictions: dict[int, int] = {}
        self._cache: OrderedDict[int, QPixmap] = OrderedDict()

    def set_items(self, dataset: Dataset, indices: np.ndarray,
                  predictions: dict[int, int] | None = None) -> None:
        """Show these dataset indices (with predicted classes in mistakes mode)."""
        self.beginResetModel()
        if dataset is not self.dataset:
            self._cache.clear()
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)
        self.predictions = dict(predictions or {})
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """Number of examples shown."""
        return 0 if parent.isValid() else len(self.indices)

    def dataset_index(self, row: int) -> int:
        """The dataset index of a row."""
        return int(self.indices[row])

    def label_text(self, row: int) -> str:
        """'7', or 'true 7 → 1' for a mistake."""
        i = self.dataset_index(row)
        names = self.dataset.class_names
        true = names[int(self.dataset.labels[i])]
        if i in self.predictions:
            return f"{true} → {names[self.predictions[i]]}"
        return true

    def _pixmap(self, i: int) -> QPixmap:
        """The thumbnail of dataset example i (cached, least recently used dropped)."""
        pixmap = self._cache.get(i)
        if pixmap is None:
            pixmap = thumbnail(self.dataset.images[i])
            self._cache[i] = pixmap
            if len(self._cache) > self.CACHE:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(i)
        return pixmap

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        """Label text, thumbnail, tooltip and the dataset index (UserRole)."""
        if not index.isValid() or self.dataset is None:
            return None
        row = index.row()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.label_text(row)
        if role == Qt.ItemDataRole.DecorationRole:
            return self._pixmap(self.dataset_index(row))
        if role == Qt.ItemDataRole.ToolTipRole:
            i = self.dataset_index(row)
            text = f"example #{i}: label {self.dataset.class_names[int(self.dataset.labels[i])]}"
            if i in self.predictions:
                text += f", the network says {self.dataset.class_names[self.predictions[i]]}"
            return text + " (click: use as input)"
        if role == Qt.ItemDataRole.UserRole:
            return self.dataset_index(row)
        return None


class DatasetBrowser(QWidget):
    """Pick a dataset and an example; filter by split and class; list the mistakes."""

    def __init__(self, controller: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.mistakes: dict[int, int] = {}
        self._auto_open = True
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_filters())
        self.info = QLabel()
        self.info.setWordWrap(True)
        layout.addWidget(self.info)
        self.model = ThumbnailModel(self)
        self.view = QListView()
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setUniformItemSizes(True)
        self.view.setLayoutMode(QListView.LayoutMode.Batched)
        self.view.setBatchSize(200)
        self.view.setIconSize(QSize(THUMB, THUMB))
        self.view.setGridSize(QSize(THUMB + 40, THUMB + 30))
        self.view.setModel(self.model)
        self.view.setToolTip("Click an example to make it the network's input")
        font = self.view.font()
        font.setPointSizeF(max(font.pointSizeF(), 12.0))
        font.setBold(True)
        self.view.setFont(font)
        self.view.clicked.connect(self._on_example_clicked)
        layout.addWidget(self.view, stretch=1)
        controller.dataset_changed.connect(self._on_dataset_changed)
        controller.spec_changed.connect(self._on_network_changed)
        controller.weights_changed.connect(self._on_network_changed)
        controller.busy_changed.connect(self._on_busy_changed)
        self._on_dataset_changed()

    def _build_filters(self) -> QVBoxLayout:
        """Dataset combo, split and class filters, Show mistakes."""
        rows = QVBoxLayout()
        top = QHBoxLayout()
        top.addWidget(QLabel("Dataset"))
        self.dataset_combo = QComboBox()
        self.dataset_combo.addItems([*BUILTINS, OPEN_ITEM])
        for row, name in enumerate(BUILTINS):
            self.dataset_combo.setItemData(row, describe_dataset(name),
                                           Qt.ItemDataRole.ToolTipRole)
        self.dataset_combo.setCurrentIndex(-1)
        self.dataset_combo.setPlaceholderText("choose…")
        self.dataset_combo.setToolTip("Dataset: the bundled MNIST subset, synthetic shapes, "
                                      "or your own IDX files / image folder")
        self.dataset_combo.activated.connect(self._on_dataset_picked)
        top.addWidget(self.dataset_combo, stretch=1)
        rows.addLayout(top)
        bottom = QHBoxLayout()
        self.split_combo = QComboBox()
        self.split_combo.addItems(SPLITS)
        self.split_combo.setToolTip("Split: show the test or the train examples, or all")
        self.split_combo.currentTextChanged.connect(self.refresh)
        bottom.addWidget(self.split_combo)
        self.class_combo = QComboBox()
        self.class_combo.setToolTip("Class: show only the examples of one class")
        self.class_combo.currentIndexChanged.connect(self.refresh)
        bottom.addWidget(self.class_combo, stretch=1)
        self.mistakes_button = QPushButton("Show mistakes")
        self.mistakes_button.setCheckable(True)
        self.mistakes_button.setToolTip("Show mistakes: the test examples the network "
                                        "gets wrong (true → predicted)")
        self.mistakes_button.toggled.connect(self._on_mistakes_toggled)
        rows.addLayout(bottom)
        third = QHBoxLayout()
        third.addWidget(self.mistakes_button)
        third.addStretch(1)
        rows.addLayout(third)
        return rows

    def showEvent(self, event: QShowEvent) -> None:
        """First shown with no dataset: open the bundled MNIST if it fits the network."""
        super().showEvent(event)
        fits = tuple(self.controller.spec.input_shape) == (1, 28, 28)
        if self._auto_open and self.controller.dataset is None and fits:
            self.open("mnist")
        self._auto_open = False

    # ----- dataset choice --------------------------------------------------------------------
    def builtin_options(self, name: str) -> dict:
        """Options that make a built-in fit the network (the 8×8 square set for `square`)."""
        C, H, W = self.controller.spec.input_shape
        if name != "shapes" or C != 1 or H != W:
            return {}
        return {"preset": "square"} if (H, W) == (8, 8) else {"size": H}

    def open(self, name_or_path: str) -> bool:
        """Open a dataset by name or path and make it the controller's dataset."""
        QApplication.setOverrideCursor(QCursor(Qt.CursorShape.WaitCursor))
        try:
            options = self.builtin_options(name_or_path) if name_or_path in BUILTINS else {}
            dataset = open_dataset(name_or_path, **options)
        except DataError as error:
            self.controller.error_raised.emit("Cannot open dataset", str(error))
            return False
        finally:
            QApplication.restoreOverrideCursor()
        self.controller.set_dataset(dataset)
        return True

    def _on_dataset_picked(self, row: int) -> None:
        """A combo entry was chosen (the last one opens a folder dialog)."""
        text = self.dataset_combo.itemText(row)
        if text == OPEN_ITEM:
            path = QFileDialog.getExistingDirectory(self, "Open IDX files or an image folder")
            if not path or not self.open(path):
                self._show_current_name()
            return
        if not self.open(text):
            self._show_current_name()

    def _show_current_name(self) -> None:
        """Make the combo show the controller's dataset."""
        dataset = self.controller.dataset
        found = -1 if dataset is None else self.dataset_combo.findText(dataset.name)
        if dataset is not None and found < 0:
            self.dataset_combo.insertItem(self.dataset_combo.count() - 1, dataset.name)
            found = self.dataset_combo.findText(dataset.name)
        self.dataset_combo.setCurrentIndex(found)

    def _on_dataset_changed(self) -> None:
        """A new dataset: reset the class filter and the mistakes."""
        dataset = self.controller.dataset
        self._show_current_name()
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        self.class_combo.addItem("all classes")
        if dataset is not None:
            self.class_combo.addItems([str(name) for name in dataset.class_names])
        self.class_combo.blockSignals(False)
        self.mistakes_button.setChecked(False)
        self.refresh()

    # ----- filtering ---------------------------------------------------------------------
    def split_indices(self) -> np.ndarray:
        """Dataset indices of the chosen split and class."""
        dataset = self.controller.dataset
        split = self.split_combo.currentText()
        if split == "all":
            indices = np.arange(len(dataset.labels))
        else:
            indices = dataset.test_indices if split == "test" else dataset.train_indices
        wanted = self.class_combo.currentIndex() - 1
        if wanted >= 0:
            indices = indices[dataset.labels[indices] == wanted]
        return np.asarray(indices, dtype=np.int64)

    def refresh(self, *_args: object) -> None:
        """Rebuild the list from the dataset, the filters and the mistakes mode."""
        dataset = self.controller.dataset
        if dataset is None:
            self.model.set_items(None, np.zeros(0, dtype=np.int64))
            self.info.setText("Choose a dataset to browse its examples.")
            return
        if self.mistakes_button.isChecked():
            wanted = self.class_combo.currentIndex() - 1
            shown = [i for i in self.mistakes if wanted < 0 or dataset.labels[i] == wanted]
            self.model.set_items(dataset, np.array(shown, dtype=np.int64), self.mistakes)
        else:
            self.model.set_items(dataset, self.split_indices())
            self.info.setText(self._summary(dataset))

    def _summary(self, dataset: Dataset) -> str:
        """Counts and shape, and a warning when it does not fit the network."""
        shape = tuple(dataset.input_shape)
        text = (f"{dataset.name}: {self.model.rowCount():,} shown of {len(dataset.labels):,}, "
                f"{len(dataset.class_names)} classes, {'×'.join(map(str, shape))}")
        if shape != tuple(self.controller.spec.input_shape):
            text += ("  ⚠ the network expects "
                     f"{'×'.join(map(str, self.controller.spec.input_shape))}")
        return text

    # ----- examples and mistakes -----------------------------------------------------------
    def pick(self, row: int) -> bool:
        """Make the example in this row the network's input, with its label."""
        dataset = self.controller.dataset
        i = self.model.dataset_index(row)
        return self.controller.set_input(np.array(dataset.images[i]), int(dataset.labels[i]))

    def _on_example_clicked(self, index: QModelIndex) -> None:
        """A thumbnail was clicked."""
        if index.isValid():
            self.pick(index.row())

    def find_mistakes(self) -> dict[int, int] | None:
        """Test examples the network gets wrong: {dataset index: predicted class}."""
        dataset, spec = self.controller.dataset, self.controller.spec
        if tuple(dataset.input_shape) != tuple(spec.input_shape):
            self.info.setText("⚠ Cannot look for mistakes: the dataset's images are "
                              f"{dataset.input_shape}, the network expects {spec.input_shape}.")
            return None
        # A copy of the network, so that the stepper's saved tensors stay untouched.
        net = Network.from_spec(spec, dtype=self.controller.network.dtype)
        net.load_state_dict(self.controller.network.state_dict())
        x, y = dataset.test()
        QApplication.setOverrideCursor(QCursor(Qt.CursorShape.WaitCursor))
        try:
            _loss, accuracy, predicted = evaluate(net, x, y)
        except ValueError as error:          # e.g. labels beyond the network's classes
            self.info.setText(f"⚠ Cannot look for mistakes: {error}")
            return None
        finally:
            QApplication.restoreOverrideCursor()
        wrong = np.flatnonzero(predicted != y)
        self.info.setText(f"{len(wrong):,} of {len(y):,} test examples wrong "
                          f"({100 * accuracy:.1f} % right). Shown: true → predicted.")
        return {int(dataset.test_indices[k]): int(predicted[k]) for k in wrong}

    def _on_mistakes_toggled(self, checked: bool) -> None:
        """Turn the mistakes list on (runs evaluate) or off."""
        self.split_combo.setEnabled(not checked)
        if checked and self.controller.dataset is not None:
            found = self.find_mistakes()
            if found is None:                    # keep the explanation find_mistakes gave
                self.mistakes_button.blockSignals(True)
                self.mistakes_button.setChecked(False)
                self.mistakes_button.blockSignals(False)
                self.split_combo.setEnabled(True)
                return
            self.mistakes = found
        self.refresh()

    def _on_network_changed(self) -> None:
        """New weights or network: the mistakes list is recomputed."""
        if self.mistakes_button.isChecked():
            self._on_mistakes_toggled(True)
        elif self.controller.dataset is not None:
            self.info.setText(self._summary(self.controller.dataset))

    def _on_busy_changed(self, busy: bool) -> None:
        """No mistakes list while training changes the weights."""
        self.mistakes_button.setEnabled(not busy)
