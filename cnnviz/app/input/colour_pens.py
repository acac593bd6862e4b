"""The canvas's colour pens: a row of colour buttons shown for networks over RGB images."""

from __future__ import annotations

from PySide6.QtWidgets import QButtonGroup, QLabel, QPushButton, QWidget

from cnnviz.app.input.canvas import DrawingCanvas
from cnnviz.app.widgets.flow_layout import FlowLayout

# name, colour: the primaries and their mixes (rgb-shapes' classes are coloured shapes)
PENS = [("white", "#ffffff"), ("red", "#ff0000"), ("green", "#00ff00"), ("blue", "#0000ff"),
        ("yellow", "#ffff00"), ("cyan", "#00ffff"), ("magenta", "#ff00ff")]


class ColourPens(QWidget):
    """Checkable colour swatches; the checked one is the canvas's pen colour."""

    def __init__(self, canvas: DrawingCanvas, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QPushButton] = {}
        row = FlowLayout(self)
        row.addWidget(QLabel("Colour"))
        for name, colour in PENS:
            button = QPushButton()
            button.setObjectName(f"pen_{name}")
            button.setCheckable(True)
            button.setFixedSize(34, 26)
            button.setToolTip(f"Draw in {name} (a network over colour images sees it)")
            button.setStyleSheet(f"QPushButton {{ background: {colour}; border: 1px solid #888; }}"
                                 f"QPushButton:checked {{ border: 3px solid palette(highlight); }}")
            button.clicked.connect(lambda _=False, c=colour: canvas.set_pen_colour(c))
            self.group.addButton(button)
            self.buttons[name] = button
            row.addWidget(button)
        self.buttons["white"].setChecked(True)

    def follow_network(self, channels: int) -> None:
        """Shown, and the canvas in colour, for a 3-channel network; hidden otherwise."""
        colour = channels == 3
        self.setVisible(colour)
        self.canvas.set_colour_mode(colour)
