"""A worked example of the square detector (`square` preset), every number derived by hand.

A 4×4 filter that rewards a square's outline (+1) and penalises ink inside it (−1), with
bias −6, slides over an 8×8 image holding one hollow 4×4 square whose top-left corner is
at (2, 2). Seed eq. 7, x[i,j] = Σ_m Σ_n w[m,n]·o[i+m, j+n] + b, gives:
  at (2, 2) the window is the square itself: 12 outline cells · 1 + 4 inner cells · 0 − 6 = 6;
  at (2, 3) the window is one column to the right:
      rows of w·o: (1+1+1+0) + (−1) + (−1) + (1+1+1+0) = 4, so x = 4 − 6 = −2.
"""

import math

import numpy as np
import pytest

from cnnviz.core import Network
from cnnviz.core.presets import get_preset

OUTLINE = np.array([[1, 1, 1, 1], [1, 0, 0, 1], [1, 0, 0, 1], [1, 1, 1, 1]], dtype=float)
FILTER = np.array([[1, 1, 1, 1], [1, -1, -1, 1], [1, -1, -1, 1], [1, 1, 1, 1]], dtype=float)


def square_net() -> tuple[Network, np.ndarray]:
    net = Network.from_spec(get_preset("square"), seed=0, dtype="float64")
    state = net.state_dict()
    state["0.weight"] = FILTER.reshape(1, 1, 4, 4)
    state["0.bias"] = np.array([-6.0])
    # pooled cell (1, 1) — flat 3 — covers conv rows 2–3, cols 2–3; class 0 = "square"
    state["4.weight"] = np.array([[0, 0, 0, 1.0], [0, 0, 0, -1.0]])
    state["4.bias"] = np.zeros(2)
    net.load_state_dict(state)
    image = np.zeros((1, 8, 8))
    image[0, 2:6, 2:6] = OUTLINE
    return net, image


def test_the_filter_fires_on_the_square_with_the_hand_computed_numbers():
    net, image = square_net()
    p = net.run_pass(image, [0])
    x = p.outputs[0][0, 0]
    assert x[2, 2] == pytest.approx(6.0)
    assert x[2, 3] == pytest.approx(-2.0)
    assert x.max() == x[2, 2]  # nowhere else does the filter match as well
    assert p.outputs[1][0, 0, 2, 2] == pytest.approx(1 / (1 + math.exp(-6)))  # σ(6) = 0.99753
    # the 2×2 max pool's window over rows 2–3, cols 2–3 is won by (2, 2): flat index 2·5 + 2
    assert p.pool_argmax[2][0, 0, 1, 1] == 2 * 5 + 2
    # ŷ = (σ(6), −σ(6)); the seeds' cost E = ½Σ(ŷ − t)² with t = (1, 0)
    s = 1 / (1 + math.exp(-6))
    assert p.loss == pytest.approx(0.5 * ((s - 1) ** 2 + s**2))
