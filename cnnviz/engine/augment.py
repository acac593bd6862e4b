"""Data augmentation for training: small random integer shifts with zero fill."""

from __future__ import annotations

import numpy as np


def random_shifts(n: int, rng: np.random.Generator, max_shift: int = 2) -> np.ndarray:
    """(n, 2) integer shifts (dy, dx), each uniform in [-max_shift, max_shift]."""
    return rng.integers(-max_shift, max_shift + 1, size=(n, 2))


def shift_images(x: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Shift each image of (N, C, H, W) by its (dy, dx); cells moved in from outside are 0."""
    N, _, H, W = x.shape
    m = int(np.max(np.abs(shifts))) if len(shifts) else 0
    if m == 0:
        return x.copy()
    padded = np.zeros(x.shape[:2] + (H + 2 * m, W + 2 * m), dtype=x.dtype)
    padded[:, :, m:m + H, m:m + W] = x
    out = np.empty_like(x)
    for i in range(N):
        dy, dx = int(shifts[i, 0]), int(shifts[i, 1])
        # content moves down/right by (dy, dx): out[i, j] = x[i - dy, j - dx]
        out[i] = padded[i, :, m - dy:m - dy + H, m - dx:m - dx + W]
    return out


def augment_batch(x: np.ndarray, rng: np.random.Generator, max_shift: int = 2) -> np.ndarray:
    """A randomly shifted copy of a batch (seeded through rng)."""
    return shift_images(x, random_shifts(len(x), rng, max_shift))
