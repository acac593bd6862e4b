"""The memory limit and the check every loader and command makes before allocating.

The limit is `$CNNVIZ_MEMORY_LIMIT` (bytes, or with a unit: `512M`, `4G`, `1.5T`; `0` or
`none` switches the check off), else half the memory the system reports available
(`MemAvailable` in /proc/meminfo; the physical memory where that is missing), else 4 GiB.
Dataset arrays are estimated here; networks in `cnnviz.core.budget`.
"""

from __future__ import annotations

import os
import re

from cnnviz.data.errors import DataError

ENV_VAR = "CNNVIZ_MEMORY_LIMIT"
FALLBACK_LIMIT = 4 * 2**30
_UNITS = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
# Optimizer state arrays per parameter (torch.optim semantics).


class BudgetError(ValueError):
    """A command would need more memory than the limit; the message gives both figures."""


def format_bytes(n: float) -> str:
    """1536 -> '1.5 KiB', in binary units."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def parse_size(text: str) -> int | None:
    """'4G' -> 4 GiB in bytes; '0'/'none'/'off' -> None (no limit); ValueError if unreadable."""
    t = text.strip().lower()
    if t in ("0", "none", "off", "unlimited"):
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?", t)
    if not match:
        raise ValueError(f"${ENV_VAR}={text!r}: write a size like 4G, 512M or 2000000000")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo, else the physical memory, else None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def memory_limit() -> int | None:
    """The budget in bytes (None: unlimited): $CNNVIZ_MEMORY_LIMIT, else half of available."""
    override = os.environ.get(ENV_VAR, "").strip()
    if override:
        return parse_size(override)
    available = available_bytes()
    return available // 2 if available else FALLBACK_LIMIT


def limit_text(limit: int) -> str:
    """How the message names the limit and where it comes from."""
    source = (f"${ENV_VAR}" if os.environ.get(ENV_VAR, "").strip()
              else f"half the available memory; set ${ENV_VAR} to change it")
    return f"the memory limit of {format_bytes(limit)} ({source})"


def require(nbytes: int, what: str) -> None:
    """Refuse (BudgetError) if `what` would need more than the memory limit."""
    limit = memory_limit()
    if limit is not None and nbytes > limit:
        raise BudgetError(f"{what} would need about {format_bytes(nbytes)} of memory, "
                          f"more than {limit_text(limit)}")


def dataset_bytes(items: int, raw_itemsize: int, raw_copies: int = 1) -> int:
    """Loading `items` numbers from a file: the raw payload (`raw_copies` times: an IDX
    stream is read in chunks, joined, then byte-swapped) plus float32 images and their
    train/test copies."""
    return items * (raw_copies * raw_itemsize + 3 * 4)


def require_data(items: int, raw_itemsize: int, where: str, raw_copies: int = 1) -> None:
    """require() for loading a file's arrays, raising DataError naming the file."""
    try:
        require(dataset_bytes(items, raw_itemsize, raw_copies), f"loading {where}")
    except BudgetError as error:
        raise DataError(str(error)) from None
