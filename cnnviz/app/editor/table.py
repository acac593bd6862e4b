"""The layer editor's live shape table: one row per layer, drag a row to reorder."""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractTableModel,
    QByteArray,
    QEvent,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QDropEvent, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from cnnviz.app.editor import blocks
from cnnviz.app.editor.model import Validation, layer_summary

ROW_MIME = "application/x-cnnviz-layer-row"
COLUMNS = ["#", "Layer", "Output shape", "Params", "Output size  ⌊(W − F + 2P)/S⌋ + 1"]
Index = QModelIndex | QPersistentModelIndex


def error_colors(palette: QPalette) -> tuple[QColor, QColor]:
    """(background, text) for a bad row that read well on light and dark themes."""
    if palette.color(QPalette.ColorRole.Base).lightness() < 128:
        return QColor(127, 29, 29), QColor(255, 235, 235)
    return QColor(255, 205, 210), QColor(120, 0, 0)


class LayerTableModel(QAbstractTableModel):
    """Rows = layers of the editor's draft, with output shape, parameters and formula."""

    row_moved = Signal(int, int)   # (from, to): a row was dragged to a new place

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._draft: dict = {"layers": []}
        self.paths: list[blocks.Path] = []
        self._infos: list[dict | None] = []
        self._bad: int | None = None
        self._validation = Validation(None)
        self._palette = QPalette()

    def set_state(self, draft: dict, validation: Validation, palette: QPalette) -> None:
        """Show a new draft and its validation: one row per layer, a block's inner layers
        (and its identity shortcut) as indented rows under the block's own row."""
        self.beginResetModel()
        self._draft, self._validation, self._palette = draft, validation, palette
        v = validation
        self.paths, self._infos, self._bad = blocks.flat_table(
            draft, v.spec, v.rows, v.error, v.error_layer)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """One row per layer."""
        return 0 if parent.isValid() else len(self.paths)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """Index, layer, output shape, params, formula."""
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        """Column titles."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def _row(self, row: int) -> dict | None:
        """The shape-table row of a layer, None where the draft cannot tell."""
        return self._infos[row] if row < len(self._infos) else None

    def is_bad(self, row: int) -> bool:
        """True for the row the SpecError names."""
        return not self._validation.ok and self._bad == row

    def _text(self, row: int, column: int) -> str:
        """Cell text."""
        info = self._row(row)
        path = self.paths[row]
        if column == 0:
            return f"⚠ {blocks.label(path)}" if self.is_bad(row) else blocks.label(path)
        if column == 1:
            layer = blocks.layer_at(self._draft, path)
            if len(path) == 1:
                return layer_summary(layer)
            branch = "body" if path[1] == "body" else "shortcut"
            text = "identity (x unchanged)" if layer is None else layer_summary(layer)
            return f"    └ {branch}: {text}"
        if info is None:
            return "?" if column < 4 else ""
        return [info["output_shape"], f"{info['params']:,}", info["formula"]][column - 2]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        """Text, the error colours for the bad row, the error as its tooltip."""
        row, column = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if self.is_bad(row):
                return self._validation.error
            info = self._row(row)
            return info["formula"] if info and info["formula"] else self._text(row, 1)
        colour_roles = (Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole)
        if role in colour_roles and self.is_bad(row):
            back, fore = error_colors(self._palette)
            return QBrush(back if role == Qt.ItemDataRole.BackgroundRole else fore)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (0, 3):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        """Rows are selectable and draggable; drops land between rows."""
        base = Qt.ItemFlag.ItemIsDropEnabled
        if not index.isValid():
            return base
        return (base | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemIsDragEnabled)

    def supportedDropActions(self) -> Qt.DropAction:
        """Rows only move."""
        return Qt.DropAction.MoveAction

    def supportedDragActions(self) -> Qt.DropAction:
        """A drag may end as a copy: the drop moves the layer itself and reports a copy."""
        return Qt.DropAction.MoveAction | Qt.DropAction.CopyAction

    def mimeTypes(self) -> list[str]:
        """Our own row format, so nothing else can be dropped in."""
        return [ROW_MIME]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:
        """The dragged row number."""
        data = QMimeData()
        rows = sorted({index.row() for index in indexes if index.isValid()})
        if rows:
            data.setData(ROW_MIME, QByteArray(str(rows[0]).encode("ascii")))
        return data

    def dropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,
                     parent: Index) -> bool:
        """Ask the editor to move the dragged row; False so the view removes nothing."""
        if not data.hasFormat(ROW_MIME):
            return False
        src = int(bytes(data.data(ROW_MIME).data()).decode("ascii"))
        if row < 0:
            row = parent.row() if parent.isValid() else self.rowCount()
        dst = row - 1 if row > src else row
        if dst != src and 0 <= src < self.rowCount():
            self.row_moved.emit(src, dst)
        return False


class BadRowDelegate(QStyledItemDelegate):
    """Keeps the bad row red when it is selected (a frame marks the selection instead)."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        """Red cell; the selection drawn as a frame in the highlight colour."""
        model = index.model()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if not (selected and isinstance(model, LayerTableModel) and model.is_bad(index.row())):
            super().paint(painter, option, index)
            return
        plain = QStyleOptionViewItem(option)
        plain.state &= ~QStyle.StateFlag.State_Selected
        super().paint(painter, plain, index)
        painter.save()
        painter.setPen(QPen(option.palette.color(QPalette.ColorRole.Highlight), 3))
        rect = option.rect.adjusted(1, 1, -2, -2)
        painter.drawLine(rect.topLeft(), rect.topRight())
        painter.drawLine(rect.bottomLeft(), rect.bottomRight())
        painter.restore()


class LayerTableView(QTableView):
    """The shape table, with whole-row selection and internal drag and drop."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setDragDropOverwriteMode(False)
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setAlternatingRowColors(True)
        self.setItemDelegate(BadRowDelegate(self))
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setMinimumSectionSize(1)
        self.verticalHeader().setDefaultSectionSize(self.row_height())  # compact: 10+ rows
        self.setWordWrap(False)
        header = self.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.setToolTip("The layers and their output shapes. Drag a row to reorder "
                        "(or Alt+Up / Alt+Down).")

    def row_height(self) -> int:
        """A compact row: the text plus a few pixels (the style's default is much taller)."""
        return self.fontMetrics().lineSpacing() + 8

    def changeEvent(self, event: QEvent) -> None:
        """Zoom or theme changed the font: rows follow its height."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self.verticalHeader().setDefaultSectionSize(self.row_height())

    def drop_row(self, event: QDropEvent) -> int:
        """The row a drop lands before: above the middle of a row is before it."""
        pos = event.position().toPoint()
        index = self.indexAt(pos)
        if not index.isValid():
            return self.model().rowCount()
        return index.row() + int(pos.y() > self.visualRect(index).center().y())

    def dropEvent(self, event: QDropEvent) -> None:
        """Move the dragged layer row; reported as a copy so the view deletes nothing."""
        mime = event.mimeData()
        if mime is None or not mime.hasFormat(ROW_MIME):
            event.ignore()
            return
        self.model().dropMimeData(mime, Qt.DropAction.MoveAction, self.drop_row(event), 0,
                                  QModelIndex())
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        self.stopAutoScroll()
        self.setState(QAbstractItemView.State.NoState)

    def selected_row(self) -> int | None:
        """The selected layer's row, or None."""
        rows = self.selectionModel().selectedRows() if self.selectionModel() else []
        return rows[0].row() if rows else None

    def select_row(self, row: int | None) -> None:
        """Select one row (or nothing) and make it visible."""
        if row is None or not 0 <= row < self.model().rowCount():
            self.clearSelection()
            return
        self.selectRow(row)
        self.scrollTo(self.model().index(row, 0))
