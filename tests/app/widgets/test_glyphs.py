"""The combining circumflex of x̂, m̂ and v̂ is drawn (DejaVu Sans Book drops it unless a
zero-width joiner stands before it), and the engine's text stays plain."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel

from cnnviz.app.widgets.glyphs import drawable


def _ink(qtbot, text: str) -> np.ndarray:
    """Dark pixels of a label showing `text` in DejaVu Sans (the CI's font), 32 pt."""
    label = QLabel(text)
    label.setFont(QFont("DejaVu Sans", 32))
    label.setMargin(16)
    label.resize(160, 100)
    qtbot.addWidget(label)
    image = label.grab().toImage()
    pixels = np.array([[image.pixelColor(x, y).lightness() for x in range(image.width())]
                       for y in range(image.height())])
    return pixels < 128


def test_a_hatted_x_shows_its_hat(qtbot):
    plain, hatted = _ink(qtbot, "x"), _ink(qtbot, drawable("x\u0302"))
    assert hatted.sum() > plain.sum() + 10  # the hat's pixels
    first_row = np.nonzero(hatted.any(axis=1))[0][0]
    assert first_row < np.nonzero(plain.any(axis=1))[0][0]  # above the x


def test_drawable_only_adds_a_joiner_before_the_mark():
    assert drawable("x̂ = (x − μ)/σ") == "x\u200d\u0302 = (x − μ)/σ"
    assert drawable("m̂, v̂") == "m\u200d\u0302, v\u200d\u0302"
    assert drawable("ŷ = softmax(z)") == "ŷ = softmax(z)"  # precomposed: unchanged
