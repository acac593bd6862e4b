"""Light and dark themes (following the system unless overridden) and lecture-hall fonts."""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("system", "light", "dark")
BASE_POINT_SIZE = 11
PRESENTATION_POINT_SIZE = 16


@dataclass(frozen=True)
class Colors:
    """The few colours the custom-drawn panels need."""

    window: str
    text: str
    panel: str
    accent: str  # the current step
    breakpoint: str
    outline: str  # receptive fields and selected units
    winner: str  # max-pool winners
    dim: str


LIGHT = Colors("#f4f4f4", "#111111", "#ffffff", "#1f6feb", "#d62728", "#ff8c00", "#00a000",
               "#777777")
DARK = Colors("#1e1e1e", "#f0f0f0", "#2a2a2a", "#4ea1ff", "#ff4d4d", "#ffb000", "#40e040",
              "#999999")


def system_is_dark() -> bool:
    """True if the desktop asks for a dark colour scheme (Qt ≥ 6.5 style hints)."""
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    return scheme is not None and scheme() == Qt.ColorScheme.Dark


def resolve(name: str) -> str:
    """'light' or 'dark' for a theme name, 'system' following the desktop."""
    if name not in THEMES:
        raise ValueError(f"unknown theme {name!r}: use one of {', '.join(THEMES)}")
    if name == "system":
        return "dark" if system_is_dark() else "light"
    return name


def colors(name: str) -> Colors:
    """The colour set of a (resolved) theme."""
    return DARK if resolve(name) == "dark" else LIGHT


def _palette(c: Colors) -> QPalette:
    """A Fusion palette from a colour set."""
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: c.window, QPalette.ColorRole.WindowText: c.text,
        QPalette.ColorRole.Base: c.panel, QPalette.ColorRole.AlternateBase: c.window,
        QPalette.ColorRole.Text: c.text, QPalette.ColorRole.Button: c.window,
        QPalette.ColorRole.ButtonText: c.text, QPalette.ColorRole.ToolTipBase: c.panel,
        QPalette.ColorRole.ToolTipText: c.text, QPalette.ColorRole.Highlight: c.accent,
        QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.PlaceholderText: c.dim,
    }
    for role, value in roles.items():
        palette.setColor(role, QColor(value))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(c.dim))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(c.dim))
    return palette


def apply_theme(app: QApplication, name: str = "system",
                point_size: int = BASE_POINT_SIZE) -> Colors:
    """Style the whole application (palette, fonts, pyqtgraph defaults); returns the colours.

    Views that exist already are restyled by their window (`restyle_view` on its own
    children): enumerating every widget of the process once crashed PySide6 on a
    half-destroyed widget of a closed window.
    """
    c = colors(name)
    app.setStyle("Fusion")
    app.setPalette(_palette(c))
    font = QFont(app.font())
    font.setPointSize(point_size)
    app.setFont(font)
    pg.setConfigOptions(background=c.panel, foreground=c.text, antialias=True)
    return c


def restyle_view(view: pg.GraphicsView, c: Colors) -> None:
    """Give a pyqtgraph view and every axis, label and legend in it the theme's colours
    (colour bars and plots made before a theme switch keep their old pens otherwise)."""
    view.setBackground(c.panel)
    for item in view.scene().items():
        if isinstance(item, pg.AxisItem):
            item.setPen(pg.mkPen(c.text))
            item.setTextPen(pg.mkPen(c.text))
        elif isinstance(item, pg.LabelItem):
            item.opts["color"] = c.text
            item.setText(item.text)
        elif isinstance(item, pg.LegendItem):
            item.setLabelTextColor(c.text)
