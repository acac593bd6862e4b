"""Random block / batch-norm / dropout networks equal PyTorch float64 (skipped without torch).

Outputs of every top-level layer, all gradients, the input gradient, the running
statistics after a training-mode pass, eval-mode outputs and two optimizer steps.
"""

from __future__ import annotations

import numpy as np
import pytest
from block_nets import random_spec
from torch_blocks import copy_masks, torch_twin

from cnnviz.core import Network
from cnnviz.core.optim import SGD, Adam

torch = pytest.importorskip("torch")
RTOL, ATOL = 1e-9, 1e-12


def batch(net: Network, seed: int, n: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """A seeded input batch and labels."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, *net.spec.input_shape)), rng.integers(0, 3, n)


def torch_pass(model, x: np.ndarray, y: np.ndarray):
    """PyTorch forward and backward: (loss, top-level outputs, input tensor)."""
    outputs: list = []
    hooks = [m.register_forward_hook(lambda _m, _i, o: outputs.append(o)) for m in model]
    tx = torch.from_numpy(x).requires_grad_(True)
    model.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(tx), torch.from_numpy(y))
    loss.backward()
    for hook in hooks:
        hook.remove()
    return loss, outputs, tx


def assert_state_equal(net: Network, model, atol: float = ATOL) -> None:
    """Every parameter and buffer of net equals the torch model's."""
    theirs = model.state_dict()
    for name, value in net.state_dict().items():
        np.testing.assert_allclose(value, theirs[name].numpy(), rtol=RTOL, atol=atol,
                                   err_msg=name)


@pytest.mark.parametrize("seed", range(8))
def test_random_networks_equal_pytorch_in_training_mode(seed):
    net = Network.from_spec(random_spec(seed), seed=seed, dtype="float64")
    model = torch_twin(net, torch)
    x, y = batch(net, seed)
    p = net.run_pass(x, y)
    copy_masks(net, model)
    loss, outputs, tx = torch_pass(model, x, y)
    assert p.loss == pytest.approx(loss.item(), rel=1e-12)
    for i, out in enumerate(outputs):
        np.testing.assert_allclose(p.outputs[i], out.detach().numpy(), rtol=RTOL, atol=ATOL)
    grads = {name: param.grad.numpy() for name, param in model.named_parameters()}
    assert set(grads) == set(p.grads)
    for name, grad in grads.items():
        np.testing.assert_allclose(p.grads[name], grad, rtol=RTOL, atol=ATOL, err_msg=name)
    np.testing.assert_allclose(p.input_grad, tx.grad.numpy(), rtol=RTOL, atol=ATOL)
    assert_state_equal(net, model)  # running statistics after one training-mode pass


@pytest.mark.parametrize("seed", range(4))
def test_eval_mode_equals_pytorch_after_training_passes(seed):
    net = Network.from_spec(random_spec(seed), seed=seed, dtype="float64")
    model = torch_twin(net, torch)
    for k in range(2):  # move the running statistics away from 0 and 1 first
        x, y = batch(net, seed + 10 * k)
        net.run_pass(x, y)
        copy_masks(net, model)
        torch_pass(model, x, y)
    net.eval()
    model.eval()
    x, y = batch(net, seed + 99, n=1)  # eval mode takes a single example
    p = net.run_pass(x, y)
    loss, outputs, tx = torch_pass(model, x, y)
    np.testing.assert_allclose(p.outputs[-1], outputs[-1].detach().numpy(), rtol=RTOL, atol=ATOL)
    for name, param in model.named_parameters():
        np.testing.assert_allclose(p.grads[name], param.grad.numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(p.input_grad, tx.grad.numpy(), rtol=RTOL, atol=ATOL)
    assert_state_equal(net, model)


OPTIMIZERS = {
    "sgd-momentum": (lambda: SGD(lr=0.05, momentum=0.9),
                     lambda params: torch.optim.SGD(params, lr=0.05, momentum=0.9)),
    "adam": (lambda: Adam(lr=0.01), lambda params: torch.optim.Adam(params, lr=0.01)),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("seed", range(3))
def test_two_optimizer_steps_equal_pytorch(name, seed):
    ours, theirs = OPTIMIZERS[name]
    net = Network.from_spec(random_spec(seed), seed=seed, dtype="float64")
    model = torch_twin(net, torch)
    opt, topt = ours(), theirs(model.parameters())
    noise = {key: np.zeros(value.shape, bool) for key, value in net.params().items()}
    for step in range(2):
        x, y = batch(net, seed + step)
        loss = net.train_step(x, y, opt)
        copy_masks(net, model)
        tloss, _, _ = torch_pass(model, x, y)
        topt.step()
        assert loss == pytest.approx(tloss.item(), rel=1e-10)
        for key, grad in net.grads().items():
            noise[key] |= (np.abs(grad) < 1e-13) & (name == "adam")
        assert_updates_equal(net, model, noise, lr=opt.lr * (step + 1))


def assert_updates_equal(net: Network, model, noise: dict, lr: float) -> None:
    """State equal to torch's, except where a gradient is 0 in exact arithmetic.

    A conv bias right before batch norm has a gradient of exactly 0, computed as rounding
    noise (~1e-17) on both sides. SGD keeps that noise small (lr·1e-17), but Adam divides
    it by √v̂ + ε, so its steps there are noise of any size up to lr: only that bound
    holds, and ours takes torch's value there so that the next step starts level.
    """
    theirs = model.state_dict()
    for key, value in net.state_dict().items():
        other = theirs[key].numpy()
        exact = ~noise.get(key, np.zeros(value.shape, bool))
        np.testing.assert_allclose(value[exact], other[exact], rtol=RTOL, atol=ATOL, err_msg=key)
        assert np.all(np.abs(value - other)[~exact] <= 2 * lr), key
        if key in net.params():
            net.params()[key][~exact] = other[~exact]
