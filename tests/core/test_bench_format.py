"""`cnnviz bench`'s table: what it says about where the steps ran."""

from __future__ import annotations

from cnnviz.benchmark import format_figures


def test_the_table_says_how_many_batch_1_steps_handed_their_gradients_over():
    figures = {"preset": "mini-resnet", "step_b1_ms": 0.5, "torch_step_b1_ms": 1.0,
               "step_b64_ms": 9.0, "torch_step_b64_ms": None, "whole_step_b64_ms": 12.0,
               "share_workers": "1 worker process beside the caller",
               "b1_offloaded": (48, 53), "run_pass_b1_ms": 0.6, "compile_cold_s": 10.0,
               "compile_cached_s": 0.4, "kernel_threads": 2, "torch_threads": 2,
               "load_before": 0.1, "load_after": 0.2}
    text = format_figures(figures)
    assert "PyTorch / cnnviz = 2.00×" in text
    assert "weight gradients ran in the worker in 48 of 53 steps" in text
