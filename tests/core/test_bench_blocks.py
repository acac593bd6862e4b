"""`cnnviz bench` on block presets: its PyTorch model is the same network (float64)."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.benchmark import _torch_model, cnnviz_step, torch_step
from cnnviz.core import Network
from cnnviz.core.presets import get_preset

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("preset", ["mini-resnet", "deep-sigmoid-skip"])
def test_the_benchmarks_torch_model_equals_a_block_network(preset):
    net = Network.from_spec(get_preset(preset), seed=2, dtype="float64")
    rng = np.random.default_rng(0)
    x, y = rng.random((3, 1, 28, 28)), rng.integers(0, 10, 3)
    model = _torch_model(net, torch)
    p = net.run_pass(x, y)
    tx = torch.from_numpy(x).requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(model(tx), torch.from_numpy(y))
    loss.backward()
    assert p.loss == pytest.approx(loss.item(), rel=1e-12)
    for name, param in model.named_parameters():
        np.testing.assert_allclose(p.grads[name], param.grad.numpy(), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(p.input_grad, tx.grad.numpy(), rtol=1e-8, atol=1e-12)
    buffers = dict(model.named_buffers())
    for name, value in net.buffers().items():  # one training-mode pass moved them alike
        np.testing.assert_allclose(value, buffers[name].numpy(), rtol=1e-12)


def test_both_steps_of_the_mini_resnet_benchmark_run():
    for batch in (1, 4):
        cnnviz_step("mini-resnet", batch)()
        torch_step("mini-resnet", batch, threads=1)()
    torch_step("lenet5-dropout", 2, threads=1)()
