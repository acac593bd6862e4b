"""The start-up splash: the icon and a message, in a frameless window that shows at once.

Qt's QSplashScreen.show() and finish() each wait up to a second for the window system to
expose the window (measured: a full second under Xvfb and offscreen), which is most of a
warm start's budget; this splash keeps QSplashScreen's `showMessage` / `message` /
`finish` but never waits.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget


class Splash(QFrame):
    """A frameless splash window: the icon above one centred message."""

    def __init__(self, pixmap: QPixmap | None = None) -> None:
        super().__init__(None, Qt.WindowType.SplashScreen | Qt.WindowType.FramelessWindowHint)
        self.setObjectName("splash")
        self.setFrameShape(QFrame.Shape.Box)
        self.icon = QLabel()
        self.icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        if pixmap is not None and not pixmap.isNull():
            self.icon.setPixmap(pixmap)
        self.text = QLabel("")
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.icon)
        layout.addWidget(self.text)

    def showMessage(self, message: str, alignment: object = None) -> None:  # noqa: N802
        """Show `message` under the icon (the alignment is always centred)."""
        self.text.setText(message)

    def message(self) -> str:
        """The message shown now."""
        return self.text.text()

    def finish(self, _window: QWidget | None = None) -> None:
        """The main window is up: close (without waiting for it to be exposed)."""
        self.close()
