"""Text as Qt is asked to draw it: the combining circumflex of x̂, m̂ and v̂.

DejaVu Sans Book, the default sans-serif font of Debian and Ubuntu desktops, draws
U+0302 (combining circumflex) after a letter with no precomposed form (x, m, v) as
nothing under Qt's text shaping: "x̂ = (x − μ)/σ" read "x = (x − μ)/σ". Its bold and
oblique faces draw it, and so does the book face when a zero-width joiner stands
between the letter and the mark (seen 2026-11-29, Qt 6.11, offscreen and xcb). The
engine's text stays plain Unicode; widgets pass what they draw through `drawable`,
and "Copy as text" copies the engine's text unchanged.
"""

from __future__ import annotations

HAT = "\u0302"
JOINER = "\u200d"  # zero-width joiner


def drawable(text: str) -> str:
    """text with a zero-width joiner before every combining circumflex."""
    return text.replace(HAT, JOINER + HAT) if HAT in text else text
