"""Light and dark themes (following the system unless overridden), a high-contrast variant
for projectors (black, white and yellow, colour-blind-safe maps) and lecture-hall fonts."""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from cnnviz.app.widgets.colormaps import set_palette

THEMES = ("system", "light", "dark")
BASE_POINT_SIZE = 11
PRESENTATION_POINT_SIZE = 16
SMALL_SHARE, SMALL_MIN_POINT = 0.62, 8  # the small font: compact columns, the least numbers


def small_point_size(point_size: float) -> int:
    """The small font beside a `point_size` font: the presentation overview's compact
    columns, and the smallest numbers a lecture slide may show."""
    return max(SMALL_MIN_POINT, round(point_size * SMALL_SHARE))


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
# black, white and yellow; the remaining accents are told apart by lightness, not hue
HIGH_CONTRAST = Colors("#000000", "#ffffff", "#000000", "#ffff00", "#ff9f1c", "#00e5ff",
                       "#ffffff", "#d0d0d0")


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


def apply_theme(app: QApplication, name: str = "system", point_size: int = BASE_POINT_SIZE,
                high_contrast: bool = False) -> Colors:
    """Style the whole application (palette, fonts, pyqtgraph defaults, colour maps); returns
    the colours. High contrast overrides the theme's colours and picks colour-blind-safe maps.

    Views that exist already are restyled by their window (`restyle_view` on its own
    children): enumerating every widget of the process once crashed PySide6 on a
    half-destroyed widget of a closed window.
    """
    c = HIGH_CONTRAST if high_contrast else colors(name)
    set_palette("colorblind" if high_contrast else "standard")
    app.setStyle("Fusion")
    app.setPalette(_palette(c))
    font = QFont(app.font())
    font.setPointSize(point_size)
    app.setFont(font)
    pg.setConfigOptions(background=c.panel, foreground=c.text, antialias=True)
    return c


def restyle_view(view: pg.GraphicsView, c: Colors, point_size: int | None = None) -> None:
    """Give a pyqtgraph view and every axis, label and legend in it the theme's colours
    (colour bars and plots made before a theme switch keep their old pens otherwise), and,
    given a point size, fonts that grow with the application's (zoom, presentation mode)."""
    view.setBackground(c.panel)
    for item in view.scene().items():
        if isinstance(item, pg.AxisItem):
            item.setPen(pg.mkPen(c.text))
            item.setTextPen(pg.mkPen(c.text))
            if point_size is not None:
                scale_axis_font(item, point_size)
        elif isinstance(item, pg.LabelItem):
            item.opts["color"] = c.text
            if point_size is not None:
                scale_label(item, point_size)
            item.setText(item.text)
        elif isinstance(item, pg.LegendItem):
            item.setLabelTextColor(c.text)


def scale_axis_font(axis: pg.AxisItem, point_size: int) -> None:
    """Tick labels one point above the application font, with room for them at the axis
    ends: pyqtgraph drops a label that sticks out of the axis, so the axis may overhang
    by half a line."""
    font = QFont(QApplication.font())
    font.setPointSize(point_size + 1)
    overhang = QFontMetrics(font).height() // 2 + 2
    axis.setStyle(tickFont=font, hideOverlappingLabels=overhang)
    axis.setTickFont(font)


def scale_label(item: pg.LabelItem, point_size: int) -> None:
    """A label's text size in proportion to the application font (its size at the base
    font is remembered the first time)."""
    size = item.opts.get("size")
    if not isinstance(size, str) or not size.endswith("pt"):
        return
    base = item.__dict__.setdefault("cnnviz_base_pt", float(size[:-2]))
    item.opts["size"] = f"{base * point_size / BASE_POINT_SIZE:.3g}pt"
