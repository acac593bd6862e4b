"""The one exception the data package raises for bad input."""

from __future__ import annotations


class DataError(Exception):
    """Unusable data: the message names the file (or option) and what is wrong with it."""
