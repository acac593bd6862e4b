"""Named NumPy arrays laid out in one shared-memory block, for the share workers.

The parent process creates the block (`Segment.create`), a worker process attaches to it
by name (`Segment.attach`) with the same field list, and both see the same bytes as
arrays: parameters, the share's batch, its gradients and logits. Nothing is pickled.
"""

from __future__ import annotations

import math
from multiprocessing import shared_memory

import numpy as np

Field = tuple[str, tuple[int, ...], str]  # name, shape, dtype name
ALIGN = 64  # bytes: every array starts on a cache line


def _offsets(fields: list[Field]) -> tuple[list[int], int]:
    """Each field's byte offset in the block, and the block's size."""
    offsets, end = [], 0
    for _, shape, dtype in fields:
        offsets.append(end)
        nbytes = math.prod(shape) * np.dtype(dtype).itemsize
        end += -(-nbytes // ALIGN) * ALIGN
    return offsets, max(end, ALIGN)


class Segment:
    """A shared-memory block seen as a dict of arrays (`arrays[name]`)."""

    def __init__(self, memory: shared_memory.SharedMemory, fields: list[Field], owner: bool):
        self.memory, self.fields, self.owner = memory, fields, owner
        offsets, _ = _offsets(fields)
        self.arrays: dict[str, np.ndarray] = {
            name: np.ndarray(shape, dtype=np.dtype(dtype), buffer=memory.buf, offset=offset)
            for (name, shape, dtype), offset in zip(fields, offsets, strict=True)
        }

    @property
    def name(self) -> str:
        return self.memory.name

    @classmethod
    def create(cls, fields: list[Field]) -> Segment:
        """A new block for these fields (this process unlinks it on close)."""
        _, size = _offsets(fields)
        return cls(shared_memory.SharedMemory(create=True, size=size), fields, owner=True)

    @classmethod
    def attach(cls, name: str, fields: list[Field]) -> Segment:
        """The block another process created; it stays that process's to unlink. (A
        multiprocessing child shares its parent's resource tracker, which keeps one entry
        per block, so attaching registers nothing new to clean up.)"""
        return cls(shared_memory.SharedMemory(name=name), fields, owner=False)

    def close(self) -> None:
        """Drop the views and the mapping; the creator also removes the block."""
        self.arrays = {}
        try:
            self.memory.close()
            if self.owner:
                self.memory.unlink()
        except (BufferError, FileNotFoundError):  # a view still alive, or already gone
            pass
