"""The mouse wheel never edits a value it merely passes over, anywhere in the app.

One application-wide event filter (`install_wheel_guard`) covers every spin box, combo
box and slider, present and future: such a widget takes wheel events only while it has
the keyboard focus, and the wheel does not give it the focus (its focus policy becomes
`Qt.StrongFocus`). An unfocused one hands the wheel to the scroll area around it, so
scrolling a dock scrolls the dock instead of changing "Out channels" under the cursor.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QScrollBar,
    QWidget,
)

GUARDED = (QAbstractSpinBox, QComboBox, QAbstractSlider)
GUARD_NAME = "cnnviz_wheel_guard"


def is_guarded(obj: QObject) -> bool:
    """True for a value-editing widget the wheel must not change unfocused (scroll bars
    scroll, they edit nothing)."""
    return isinstance(obj, GUARDED) and not isinstance(obj, QScrollBar)


def enclosing_scroll_area(widget: QWidget) -> QAbstractScrollArea | None:
    """The nearest scroll area whose viewport holds `widget`, if any."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea) and parent.viewport().isAncestorOf(widget):
            return parent
        parent = parent.parentWidget()
    return None


def forward_wheel(event: QWheelEvent, source: QWidget, area: QAbstractScrollArea) -> None:
    """Send a copy of the wheel event to the scroll area's viewport (it scrolls)."""
    viewport = area.viewport()
    local = source.mapTo(viewport, event.position().toPoint())
    copy = QWheelEvent(local, event.globalPosition(), event.pixelDelta(), event.angleDelta(),
                       event.buttons(), event.modifiers(), event.phase(), event.inverted())
    QApplication.sendEvent(viewport, copy)


class WheelGuard(QObject):
    """The application event filter behind `install_wheel_guard`."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Polish: no wheel focus; Wheel on an unfocused guarded widget: scroll instead."""
        kind = event.type()
        if kind == QEvent.Type.Wheel:
            if is_guarded(watched) and not watched.hasFocus():
                return self._redirect(watched, event)
        elif kind == QEvent.Type.Polish and is_guarded(watched):
            strong_focus(watched)
        return False

    @staticmethod
    def _redirect(widget: QWidget, event: QWheelEvent) -> bool:
        """Scroll the enclosing scroll area (or nothing); the widget never sees the wheel."""
        area = enclosing_scroll_area(widget)
        if area is not None:
            forward_wheel(event, widget, area)
        event.accept()
        return True


def strong_focus(widget: QWidget) -> None:
    """Tab and click give the focus, the wheel does not."""
    if widget.focusPolicy() == Qt.FocusPolicy.WheelFocus:
        widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)


def install_wheel_guard(app: QApplication | None = None) -> WheelGuard:
    """Install the guard on the application once (later calls return the same one); widgets
    polished before get their focus policy fixed now."""
    app = app or QApplication.instance()
    guard = app.findChild(WheelGuard, GUARD_NAME)
    if guard is None:
        guard = WheelGuard(app)
        guard.setObjectName(GUARD_NAME)
        app.installEventFilter(guard)
    return guard


def guard_existing(root: QWidget) -> None:
    """Fix the focus policy of the guarded widgets already under `root`."""
    for widget in root.findChildren(QWidget):
        if is_guarded(widget):
            strong_focus(widget)

