"""Seed 000's square detector as numbers: the random filter W_t, the learned W_{t+n} and
the 4×4 input patch I, exactly as the seed prints them (its ".0.2" is read as 0.2).

The seed's cross-correlation Σ W⊙I is 580.99 for W_{t+n} and 180.42 for W_t; its printed
4×4 "activation" is the matrix product W·I, not a convolution. The `square-seed` preset's
bundled weights hold W_{t+n} as its one 4×4 filter.
"""

from __future__ import annotations

import numpy as np

SEED_W_T = np.array([[0.001, 0.1, 0.03, 0.4],
                     [0.1, 0.2, 0.78, 0.2],
                     [0.2, 0.15, 0.01, 0.0],
                     [0.0, 0.0, 0.01, 0.001]])
SEED_W_TN = np.array([[0.2, 0.1, 0.03, 0.4],
                      [0.1, 0.89, 0.99, 0.0],
                      [0.0, 0.70, 0.92, 0.0],
                      [0.0, 0.0, 0.05, 0.1]])
SEED_PATCH = np.array([[255.0, 0.0, 0.0, 0.0],
                       [0.0, 220.0, 139.0, 0.0],
                       [0.0, 180.0, 49.0, 0.0],
                       [0.0, 0.0, 0.0, 255.0]])
PATCH_ORIGIN = (2, 2)  # where the patch sits in the 8×8 input of square-seed


def seed_patch_image(size: int = 8) -> np.ndarray:
    """The seed's patch scaled to [0, 1] (÷255) in the middle of a (1, size, size) image."""
    image = np.zeros((1, size, size), dtype=np.float32)
    i, j = PATCH_ORIGIN if size == 8 else ((size - 4) // 2, (size - 4) // 2)
    image[0, i:i + 4, j:j + 4] = SEED_PATCH / 255.0
    return image


def seed_filter_state() -> dict[str, np.ndarray]:
    """The conv layer of square-seed as the seed has it: weight W_{t+n}, bias 0."""
    return {"0.weight": SEED_W_TN.reshape(1, 1, 4, 4).astype(np.float32),
            "0.bias": np.zeros(1, dtype=np.float32)}
