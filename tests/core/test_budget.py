"""The memory budget: its documented limit, and estimates that match measured peaks."""

from __future__ import annotations

import pytest

from cnnviz.core import budget
from cnnviz.core.presets import get_preset
from cnnviz.core.spec import parse_spec
from cnnviz.data import budget as limits


@pytest.mark.parametrize(("text", "expected"), [
    ("4G", 4 * 2**30), ("512M", 512 * 2**20), ("1.5T", int(1.5 * 2**40)), ("2000", 2000),
    ("8GiB", 8 * 2**30), ("0", None), ("none", None)])
def test_the_limit_can_be_set_in_the_environment(monkeypatch, text, expected):
    monkeypatch.setenv(limits.ENV_VAR, text)
    assert limits.memory_limit() == expected


def test_a_bad_limit_is_named(monkeypatch):
    monkeypatch.setenv(limits.ENV_VAR, "lots")
    with pytest.raises(ValueError, match="CNNVIZ_MEMORY_LIMIT='lots'"):
        limits.memory_limit()


def test_the_default_limit_is_half_the_available_memory(monkeypatch):
    monkeypatch.delenv(limits.ENV_VAR, raising=False)
    monkeypatch.setattr(limits, "available_bytes", lambda: 10 * 2**30)
    assert limits.memory_limit() == 5 * 2**30
    monkeypatch.setattr(limits, "available_bytes", lambda: None)
    assert limits.memory_limit() == limits.FALLBACK_LIMIT


def test_estimates_grow_with_the_batch_the_optimizer_and_the_dtype():
    spec = parse_spec(get_preset("lenet5"))
    one = budget.network_bytes(spec, "float32", 1, "step")
    assert budget.network_bytes(spec, "float32", 64, "step") > one
    assert budget.network_bytes(spec, "float32", 1, "step", "adam") > one
    assert budget.network_bytes(spec, "float64", 1, "step") > one
    # gradcheck of LeNet-5 measured ~0.55 MB per example in float64 (peak RSS)
    per_example = (budget.network_bytes(spec, "float64", 1001, "gradcheck")
                   - budget.network_bytes(spec, "float64", 1, "gradcheck")) / 1000
    assert 0.4e6 < per_example < 0.8e6


def test_require_refuses_with_the_estimate_and_the_limit(monkeypatch):
    monkeypatch.setenv(limits.ENV_VAR, "1G")
    budget.require(2**29, "half a GiB")
    with pytest.raises(budget.BudgetError, match=r"two GiB would need about 2\.0 GiB of memory, "
                                                 r"more than the memory limit of 1\.0 GiB"):
        budget.require(2**31, "two GiB")
