"""The argparse types every sub-command shares, so a bad number is one line, never a traceback.

Every seed, size, count and index option uses `seed`, `positive_int` or
`non_negative_int` (whole numbers with bounds); every float option a finite type
(`nan` and `inf` are refused). argparse turns the ArgumentTypeError into
`cnnviz gradcheck: argument --seed: must be a whole number ≥ 0, got '-1'`.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

MAX_SEED = 2**63 - 1     # what a session manifest may hold too (engine/session_io.py)
MAX_COUNT = 2**31 - 1    # batch sizes, epochs, repeats: far beyond any machine's memory


def whole_number(low: int, high: int, high_text: str) -> Callable[[str], int]:
    """An argparse type: an integer in low…high; `high_text` is how a message writes high."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            value = low - 1
        if value < low:
            raise argparse.ArgumentTypeError(f"must be a whole number ≥ {low}, got {text!r}")
        if value > high:
            raise argparse.ArgumentTypeError(f"must be at most {high_text}, got {text!r}")
        return value

    parse.__name__ = f"whole number ≥ {low}"
    return parse


def real_number(accept: Callable[[float], bool], what: str) -> Callable[[str], float]:
    """An argparse type: a finite float for which accept(value) holds; `what` names it."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not accept(value):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value

    parse.__name__ = what
    return parse


seed = whole_number(0, MAX_SEED, "2^63 - 1")
positive_int = whole_number(1, MAX_COUNT, "2^31 - 1")
non_negative_int = whole_number(0, MAX_COUNT, "2^31 - 1")
positive_float = real_number(lambda v: v > 0, "a positive number")
non_negative_float = real_number(lambda v: v >= 0, "a finite number ≥ 0")
