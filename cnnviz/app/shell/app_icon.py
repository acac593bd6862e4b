"""cnnviz's icon (a network being stepped through), from the PNGs in resources/icons."""

from __future__ import annotations

import contextlib

from PySide6.QtGui import QIcon, QPixmap

from cnnviz.data.fileio import bundled_file
from cnnviz.paths import APP_ID, ICON_SIZES


def icon_file(size: int) -> object:
    """The bundled PNG of one size (a Traversable inside cnnviz.resources)."""
    return bundled_file("icons", "hicolor", f"{size}x{size}", "apps", f"{APP_ID}.png")


def app_icon_pixmap(size: int) -> QPixmap:
    """The icon at one of ICON_SIZES (an empty pixmap if the file is missing)."""
    pixmap = QPixmap()
    with contextlib.suppress(OSError):
        pixmap.loadFromData(icon_file(size).read_bytes())
    return pixmap


def app_icon() -> QIcon:
    """The window icon, with every bundled size (no SVG support needed at run time)."""
    icon = QIcon()
    for size in ICON_SIZES:
        pixmap = app_icon_pixmap(size)
        if not pixmap.isNull():
            icon.addPixmap(pixmap)
    return icon
