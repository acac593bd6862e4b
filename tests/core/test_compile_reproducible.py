"""The same bits whether a process has just compiled the kernels or loads them from
Numba's cache (a kernel calling a separately compiled function ran different machine
code in the two: see `cnnviz.core.kernels._jit.helper`)."""

import importlib
import os
import pkgutil
import subprocess
import sys
import types

import numba
import pytest

from cnnviz.core import kernels as K

_STEP_SCRIPT = """
import hashlib, numpy as np
from cnnviz.core import Network, parallel_step
from cnnviz.core.optim import SGD

# batch norm on 16×16 maps (rows of 256: the direct sums) and on 8×8 ones (the partials)
spec = {"input": [3, 16, 16], "layers": [
    {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
    {"type": "batchnorm2d"}, {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2},
    {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
    {"type": "batchnorm2d"}, {"type": "relu"}, {"type": "flatten"}, {"type": "dense", "units": 3}],
    "loss": "cross_entropy"}
rng = np.random.default_rng(0)
x = rng.standard_normal((8, 3, 16, 16))
y = rng.integers(0, 3, size=8)
net = Network.from_spec(spec, seed=0, dtype="float64")
p = net.run_pass(x, y)
arrays = {f"grad {k}": v for k, v in p.grads.items()}
arrays["input grad"] = p.input_grad
opt = SGD(lr=0.1, momentum=0.9)
net.train_step(x, y, opt)
parallel_step.train_step(net, x, y, opt)
arrays.update((f"after {k}", v) for k, v in net.state_dict().items())
# one image through convolutions of 8 channels: the batch-1 path (conv_single.py)
spec1 = {"input": [3, 9, 9], "layers": [
    {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1},
    {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "stride": 2, "padding": 1},
    {"type": "conv2d", "out_channels": 8, "kernel_size": 1}, {"type": "relu"},
    {"type": "flatten"}, {"type": "dense", "units": 3}], "loss": "cross_entropy"}
p1 = Network.from_spec(spec1, seed=0, dtype="float64").run_pass(x[:1, :, :9, :9], y[:1])
arrays.update((f"batch 1 grad {k}", v) for k, v in p1.grads.items())
arrays["batch 1 input grad"] = p1.input_grad
for name, a in sorted(arrays.items()):
    print(name, hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest())
"""


def _run_step(cache_dir) -> dict[str, str]:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir), CNNVIZ_SHARE_PROCESSES="0")
    run = subprocess.run(
        [sys.executable, "-c", _STEP_SCRIPT], capture_output=True, text=True, env=env, check=True
    )
    return dict(line.rsplit(" ", 1) for line in run.stdout.strip().splitlines())


@pytest.mark.slow
@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="nothing compiled to compare")
def test_fresh_compile_and_cache_give_the_same_bits(tmp_path):
    """float64 batch-norm steps in a process with an empty Numba cache (compiling every
    kernel it uses) and in a second one loading them from that cache: bit for bit."""
    fresh = _run_step(tmp_path)
    assert any(tmp_path.rglob("*.nbi")), "the first process wrote no cache"
    cached = _run_step(tmp_path)
    assert fresh.keys() == cached.keys()
    assert [name for name in fresh if fresh[name] != cached[name]] == []


def _kernel_modules() -> list[types.ModuleType]:
    names = [info.name for info in pkgutil.iter_modules(K.__path__)]
    return [importlib.import_module(f"{K.__name__}.{name}") for name in names]


def _names_used(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names_used(const)
    return names


def _dispatchers_called(function) -> set:
    """The Numba functions `function` names (directly or as `module.attribute`)."""
    names, space = _names_used(function.__code__), function.__globals__
    found = {space[n] for n in names if n in space}
    for module in [v for v in found if isinstance(v, types.ModuleType)]:
        found |= {getattr(module, n) for n in names if hasattr(module, n)}
    return {f for f in found if isinstance(f, numba.core.registry.CPUDispatcher)}


def test_kernels_call_only_inlined_helpers():
    """A Numba function called by a kernel is a `helper` (inlined by Numba), so no kernel
    calls a function whose machine code depends on what else the process compiled."""
    wrong = []
    for module in _kernel_modules():
        for name, fn in vars(module).items():
            if not isinstance(fn, numba.core.registry.CPUDispatcher):
                continue
            for callee in _dispatchers_called(fn.py_func) - {fn}:
                if callee.targetoptions.get("inline") != "always":
                    wrong.append(f"{module.__name__}.{name} -> {callee.__name__}")
    assert wrong == []
