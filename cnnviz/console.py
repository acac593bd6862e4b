"""Printing on any terminal: symbols a terminal's encoding lacks become ASCII stand-ins.

`printable_streams()` runs once at CLI start. It re-configures stdout and stderr so that
a character the encoding cannot represent (PYTHONIOENCODING=ascii, a cp1252 console) is
replaced instead of raising UnicodeEncodeError: the shape table's `⌊(W − F)/S⌋` prints
as `floor((W - F)/S)`, a δ as `delta`, anything else unknown as `?`. UTF-8 terminals
are unaffected: the handler only runs for characters that cannot be encoded.
"""

from __future__ import annotations

import codecs
import sys

ERROR_HANDLER = "cnnviz-ascii"
ASCII_STAND_INS = {
    "⌊": "floor(", "⌋": ")", "×": "x", "−": "-", "·": "*", "…": "...", "—": "-",
    "–": "-", "≥": ">=", "≤": "<=", "≠": "!=", "±": "+/-", "→": "->", "←": "<-",
    "δ": "delta", "Σ": "sum", "∂": "d", "η": "eta", "λ": "lambda", "θ": "theta",
    "β": "beta", "μ": "mu", "ε": "eps", "ℓ": "l", "ŷ": "y^", "′": "'", "²": "^2",
    "√": "sqrt", "½": "1/2", "⋆": "*", "⊙": "*", "ᵀ": "^T", "ᵗ": "^t", "₁": "1",
    "₂": "2", "✓": "ok", "✗": "x", "°": " deg",
}


def ascii_stand_ins(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: the unencodable run of characters, each as its stand-in."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    bad = error.object[error.start:error.end]
    return "".join(ASCII_STAND_INS.get(c, "?") for c in bad), error.end


def printable_streams() -> None:
    """Make stdout and stderr replace what their encoding cannot print (never raise)."""
    codecs.register_error(ERROR_HANDLER, ascii_stand_ins)
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors=ERROR_HANDLER)
            except (ValueError, OSError):
                continue  # a closed or detached stream: leave it alone
