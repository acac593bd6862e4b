"""`cnnviz bench` on block presets: both steps build and run (the PyTorch model's equality
with our float64 pass is in test_network.py::test_matches_pytorch_gradients)."""

from __future__ import annotations

import pytest

from cnnviz.benchmark import cnnviz_step, torch_step

pytest.importorskip("torch")


def test_both_steps_of_the_block_benchmarks_run():
    for batch in (1, 4):
        cnnviz_step("mini-resnet", batch)()
        torch_step("mini-resnet", batch, threads=1)()
    torch_step("lenet5-dropout", 2, threads=1)()
