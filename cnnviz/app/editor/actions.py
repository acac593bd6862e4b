"""The layer editor's building blocks: the undo command, actions with shortcuts, file writing."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from typing import IO

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QUndoCommand
from PySide6.QtWidgets import (
    QFileDialog,
    QMenu,
    QMessageBox,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cnnviz.app.widgets.flow_layout import FlowLayout
from cnnviz.data.fileio import write_atomically

WIDGET_SHORTCUT = Qt.ShortcutContext.WidgetWithChildrenShortcut


class SpecCommand(QUndoCommand):
    """One edit of the draft spec: before/after snapshots; repeated edits of a field merge.

    `show_draft` is the editor's way to display a draft; the command knows nothing else of
    the editor.
    """

    def __init__(self, show_draft: Callable[[dict], None], before: dict, after: dict,
                 text: str, merge_key: tuple | None = None) -> None:
        super().__init__(text)
        self.show_draft, self.before, self.after = show_draft, before, after
        self.merge_key = merge_key

    def redo(self) -> None:
        """Show the edited draft."""
        self.show_draft(self.after)

    def undo(self) -> None:
        """Show the draft from before the edit."""
        self.show_draft(self.before)

    def id(self) -> int:
        """Field edits can merge (arrow clicks on one spin box are one undo step)."""
        return 1 if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        """Absorb the next edit of the same field."""
        if not isinstance(other, SpecCommand) or other.merge_key != self.merge_key:
            return False
        self.after = other.after
        return True


def set_shortcut(action: QAction, keys: str | None, tip: str) -> QAction:
    """Give an action a shortcut that works while its widget has focus; name it in the tip."""
    if keys:
        action.setShortcut(QKeySequence(keys))
        action.setShortcutContext(WIDGET_SHORTCUT)
        tip = f"{tip} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
    action.setToolTip(tip)
    return action


def make_action(owner: QWidget, text: str, slot, keys: str | None = None,
                tip: str = "") -> QAction:
    """An action added to owner, connected to slot."""
    action = set_shortcut(QAction(text, owner), keys, tip or text)
    action.triggered.connect(lambda _checked=False: slot())   # never pass `checked` on
    owner.addAction(action)
    return action


def text_button(action: QAction) -> QToolButton:
    """A tool button showing an action's text."""
    button = QToolButton()
    button.setDefaultAction(action)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    return button


def menu_button(text: str, tip: str, menu: QMenu) -> QToolButton:
    """A tool button that pops up a menu."""
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setMenu(menu)
    button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    return button


def widget_rows(rows: list[list[QWidget]]) -> QVBoxLayout:
    """Rows of widgets, left-aligned; a row wraps onto a second line in a narrow dock."""
    layout = QVBoxLayout()
    layout.setContentsMargins(0, 0, 0, 0)
    for widgets in rows:
        row = FlowLayout()
        for widget in widgets:
            row.addWidget(widget)
        layout.addLayout(row)
    return layout


def scroll_into_view(widget: QWidget, child: QWidget) -> None:
    """Scroll the QScrollArea around `widget` (a dock's) so that `child` is in view.

    The widget first takes the height the scroll area will give it for its new content
    (a longer message); otherwise the rows above shrink for a moment and the child is
    placed too high.
    """
    area = widget.parentWidget()
    while area is not None and not isinstance(area, QScrollArea):
        area = area.parentWidget()
    if area is None:
        return
    widget.layout().activate()
    needed = max(widget.minimumSizeHint().height(), widget.heightForWidth(widget.width()),
                 area.viewport().height())
    if area.widgetResizable() and widget.height() < needed:
        widget.resize(widget.width(), needed)
    widget.layout().activate()
    area.ensureWidgetVisible(child, 0, 0)


def ask_spec_path(parent: QWidget, save: bool) -> str:
    """A file dialog for a spec JSON file; '' when cancelled."""
    if save:
        path, _ = QFileDialog.getSaveFileName(parent, "Save network spec", "network.json",
                                              "Network spec (*.json)")
    else:
        path, _ = QFileDialog.getOpenFileName(parent, "Open network spec", "",
                                              "Network spec (*.json);;All files (*)")
    return path


def write_json_atomic(path: str | os.PathLike, data: dict) -> None:
    """Write JSON through a temp file in the same folder and os.replace (never half a file)."""

    def dump(handle: IO[bytes]) -> None:
        text = io.TextIOWrapper(handle, encoding="utf-8")
        json.dump(data, text, indent=2)
        text.write("\n")
        text.flush()
        text.detach()  # the handle stays open for write_atomically to close

    write_atomically(path, dump)


def confirm_rebuild(parent: QWidget, lost: list[str]) -> bool:
    """Ask before trained weights are re-initialised; True for Yes."""
    names = ", ".join(lost[:6]) + (" …" if len(lost) > 6 else "")
    answer = QMessageBox.question(
        parent, "Rebuild the network?",
        f"The network has trained weights. Rebuilding re-initialises {names}; the other "
        "layers keep their weights.\n\nRebuild now?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes
