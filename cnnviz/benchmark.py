"""Speed figures for `cnnviz bench`: training steps, a recorded pass, compile times.

Timings are medians over repeated runs after a warm-up. Where PyTorch is importable the
same step (of any preset: residual blocks, batch norm and dropout included) is timed with
it in the same run, in alternating blocks of a few steps so that both see the same
machine load, and the ratio is reported: the machines are shared and noisy, so only
same-run comparisons mean much.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from cnnviz.core import Network, parallel_step, share_processes
from cnnviz.core.kernels._jit import thread_count
from cnnviz.core.optim import SGD
from cnnviz.core.presets import get_preset


def median_ms(fn: Callable[[], object], repeats: int, warmup: int = 3) -> float:
    """Median wall time of fn() in milliseconds."""
    return paired_medians({"fn": fn}, repeats, warmup)["fn"]


# Pause before each block of a multi-function comparison, then untimed steps. PyTorch's
# OpenMP threads spin on the cores for ~10 ms after its last step (seen: 7–10 ms of
# process CPU in the first 10 ms of a sleep), so a block timed right after PyTorch's ran
# against them for a core (our batch-64 LeNet-5 step: 2.6–2.8 ms there, 2.0–2.2 ms with
# OMP_WAIT_POLICY=PASSIVE). And after any pause the first steps run slow while the idle
# second vCPU comes back (ours: 2.6–2.9 ms for the first few steps after 30 ms idle,
# 1.6–1.9 ms in a run of steps). So each block starts on an otherwise idle process and
# times the steady state, as a training run sees it.
SETTLE_S = 0.03
UNTIMED = 3


def paired_medians(
    fns: dict[str, Callable[[], object]], repeats: int, warmup: int = 3, block: int = 10
) -> dict[str, float]:
    """Median ms of each function, timed in alternating blocks so all see the same load
    (with a short pause before each block when there are several, see SETTLE_S)."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    while any(len(v) < repeats for v in times.values()):
        for name, fn in fns.items():
            if len(fns) > 1:
                time.sleep(SETTLE_S)
                for _ in range(UNTIMED):
                    fn()
            for _ in range(min(block, repeats - len(times[name]))):
                start = time.perf_counter()
                fn()
                times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(v) for name, v in times.items()}


def _batch(net: Network, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, *net.spec.input_shape), dtype=np.float32)
    return x, rng.integers(0, net.spec.num_classes, size=n)


def cnnviz_step(preset: str, batch: int, whole: bool = False) -> Callable[[], object]:
    """One training step of ours (forward, loss, backward, SGD update), ready to call: the
    trainer's (`parallel_step.train_step`: in shares, in worker processes where it can), or with
    `whole` `Network.train_step` (the whole batch through each layer, as the stepper)."""
    net = Network.from_spec(get_preset(preset), seed=0, dtype="float32")
    x, y = _batch(net, batch)
    opt = SGD(lr=0.01)
    if whole:
        return lambda: net.train_step(x, y, opt)
    parallel_step.prepare(net, batch)  # the share workers hold the network before timing
    return lambda: parallel_step.train_step(net, x, y, opt)


def cnnviz_pass(preset: str) -> Callable[[], object]:
    """A single-image run_pass that records every tensor, ready to call."""
    net = Network.from_spec(get_preset(preset), seed=0, dtype="float32")
    x, y = _batch(net, 1)
    return lambda: net.run_pass(x, y)


def torch_step(preset: str, batch: int, threads: int) -> Callable[[], object] | None:
    """The same step in PyTorch (None if torch is not installed)."""
    try:
        import torch  # optional: only for the comparison, never a dependency
    except ImportError:
        return None
    torch.set_num_threads(threads)
    net = Network.from_spec(get_preset(preset), seed=0, dtype="float32")
    model = _torch_model(net, torch)
    x, y = _batch(net, batch)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = torch.nn.functional.cross_entropy

    def step() -> None:
        opt.zero_grad()
        loss_fn(model(tx), ty).backward()
        opt.step()

    return step


def _torch_model(net: Network, torch: Any) -> Any:
    """The network as a torch nn.Sequential with our parameters and running statistics."""
    block = _block_class(torch.nn)
    model = torch.nn.Sequential(*[_torch_module(layer, torch.nn, block) for layer in net.layers])
    model = model.to(torch.float64 if net.dtype == np.float64 else torch.float32)
    state = {k: torch.from_numpy(v) for k, v in net.state_dict().items()}
    missing = model.load_state_dict(state, strict=False).missing_keys  # our names are torch's
    assert all(key.endswith("num_batches_tracked") for key in missing), missing
    return model.train(net.training)


def _block_class(nn: Any) -> type:
    """A residual block module: body and shortcut nn.Sequentials (identity: an empty one)."""

    class Block(nn.Module):
        def __init__(self, body: list, shortcut: list) -> None:
            super().__init__()
            self.body, self.shortcut = nn.Sequential(*body), nn.Sequential(*shortcut)

        def forward(self, x: Any) -> Any:
            return self.body(x) + self.shortcut(x)

    return Block


def _torch_module(layer: Any, nn: Any, block: type) -> Any:
    """The torch module of one of our layers (a block with its branches)."""
    c = layer.config
    if layer.type == "residual":
        inner = [[_torch_module(sub, nn, block) for sub in branch]
                 for branch in (layer.body, layer.shortcut)]
        return block(*inner)
    if layer.type == "conv2d":
        return nn.Conv2d(layer.in_shape[0], c["out_channels"], c["kernel_size"], c["stride"],
                         c["padding"])
    if layer.type in ("maxpool2d", "avgpool2d"):
        cls = nn.MaxPool2d if layer.type == "maxpool2d" else nn.AvgPool2d
        return cls(c["kernel_size"], c["stride"], c["padding"])
    if layer.type in ("batchnorm2d", "batchnorm1d"):
        cls = nn.BatchNorm2d if layer.type == "batchnorm2d" else nn.BatchNorm1d
        return cls(layer.in_shape[0], eps=c["eps"], momentum=c["momentum"])
    if layer.type == "dense":
        return nn.Linear(layer.in_shape[0], c["units"])
    simple = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "flatten": nn.Flatten}
    if layer.type in simple:
        return simple[layer.type]()
    if layer.type == "dropout":
        return nn.Dropout(c["p"])
    return nn.LeakyReLU(c["negative_slope"])


_COMPILE_SNIPPET = (
    "import time; t=time.perf_counter(); import cnnviz.core as c; c.warmup('float32'); "
    "print(time.perf_counter()-t)"
)


def compile_seconds() -> tuple[float, float]:
    """(cold compile of every kernel, a later process loading them from the cache)."""
    with tempfile.TemporaryDirectory(prefix="cnnviz-numba-") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        runs = []
        for _ in range(2):
            out = subprocess.run(
                [sys.executable, "-c", _COMPILE_SNIPPET],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            runs.append(float(out.stdout.strip().splitlines()[-1]))
    return runs[0], runs[1]


def run_benchmarks(preset: str = "lenet5", repeats: int = 50, threads: int = 2) -> dict:
    """Every figure of `cnnviz bench` as a dict (milliseconds and seconds).

    An unknown preset raises SpecError first, before seconds of kernel compilation.
    """
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.core.presets import get_preset

    get_preset(preset)
    cold, cached = compile_seconds()
    figures: dict = {
        "preset": preset,
        "compile_cold_s": cold,
        "compile_cached_s": cached,
        "kernel_threads": thread_count(),
        "torch_threads": threads,
        "load_before": os.getloadavg()[0],
    }
    for batch in (1, 64):
        fns = {"ours": cnnviz_step(preset, batch)}
        if batch > 1:
            fns["whole"] = cnnviz_step(preset, batch, whole=True)
        theirs = torch_step(preset, batch, threads)
        if theirs is not None:
            fns["torch"] = theirs
        medians = paired_medians(fns, repeats)
        figures[f"step_b{batch}_ms"] = medians["ours"]
        figures[f"torch_step_b{batch}_ms"] = medians.get("torch")
    figures["whole_step_b64_ms"] = medians["whole"]
    figures["share_workers"] = share_processes.describe()
    figures["run_pass_b1_ms"] = median_ms(cnnviz_pass(preset), repeats)
    figures["load_after"] = os.getloadavg()[0]
    return figures


def format_figures(f: dict) -> str:
    """A readable table of the figures, with PyTorch ratios where available."""
    lines = [f"cnnviz bench — {f['preset']}, float32, median of repeated runs", ""]
    for batch in (1, 64):
        ours, theirs = f[f"step_b{batch}_ms"], f[f"torch_step_b{batch}_ms"]
        line = f"training step, batch {batch:>2}: {ours:8.3f} ms"
        if theirs is not None:
            line += f"   PyTorch {theirs:8.3f} ms   (PyTorch / cnnviz = {theirs / ours:.2f}×)"
        lines.append(line)
    lines.append(f"  (Network.train_step, whole batch as the stepper, batch 64: "
                 f"{f['whole_step_b64_ms']:.3f} ms)")
    lines.append(f"  (the trainer's shares ran in: {f['share_workers']})")
    lines.append(f"run_pass, 1 image, all tensors: {f['run_pass_b1_ms']:8.3f} ms")
    lines.append(f"first-call compile, all kernels: {f['compile_cold_s']:6.2f} s (cold cache)")
    lines.append(f"later process, from Numba cache: {f['compile_cached_s']:6.2f} s")
    lines.append(
        f"kernel threads {f['kernel_threads']}, PyTorch threads {f['torch_threads']}, "
        f"1-min load average {f['load_before']:.2f} before, {f['load_after']:.2f} after"
    )
    return "\n".join(lines)
