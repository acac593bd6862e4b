"""The fixed-decimals cell text of the number grids (the animation's kernel and products)."""

import pytest

from cnnviz.app.widgets.number_grid import format_fixed


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [
        (-0.001, 2, "0.00"),  # rounds to zero: no minus sign
        (-0.004999, 2, "0.00"),
        (-0.005001, 2, "−0.01"),
        (0.623, 2, "0.62"),
        (-1.5, 1, "−1.5"),
        (-0.4, 0, "0"),
        (0.0, 2, "0"),
        (-0.0, 2, "0"),
    ],
)
def test_format_fixed_signs_only_what_shows_a_nonzero_digit(value, decimals, text):
    assert format_fixed(value, decimals) == text
