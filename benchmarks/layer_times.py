"""Per-layer times of a LeNet-5 training step: where a step's milliseconds go.

python benchmarks/layer_times.py [--batch 64] [--repeats 100] [--preset lenet5]

Run it with CNNVIZ_THREADS=1 for single-threaded kernel times, which vary far less on a
shared machine than the multi-threaded wall times. Medians over `--repeats` steps.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from cnnviz.core import Network
from cnnviz.core.optim import SGD
from cnnviz.core.presets import get_preset


def layer_times(preset: str, batch: int, repeats: int) -> list[str]:
    """Lines of median forward / backward microseconds per layer, then the update."""
    net = Network.from_spec(get_preset(preset), seed=0, dtype="float32")
    rng = np.random.default_rng(0)
    x = rng.random((batch, *net.spec.input_shape), dtype=np.float32)
    y = rng.integers(0, net.spec.num_classes, size=batch)
    opt = SGD(lr=0.01)
    for _ in range(5):
        net.train_step(x, y, opt)
    fwd: dict[int, list[float]] = {layer.index: [] for layer in net.layers}
    bwd: dict[int, list[float]] = {layer.index: [] for layer in net.layers}
    update, total = [], []
    for _ in range(repeats):
        begin = time.perf_counter()
        out = net.prepare_input(x)
        for layer in net.layers:
            start = time.perf_counter()
            out = layer.forward(out)
            fwd[layer.index].append(time.perf_counter() - start)
        _, grad = net.compute_loss(out, net.prepare_labels(y, batch))
        for layer in reversed(net.layers):
            start = time.perf_counter()
            grad = layer.backward(grad, need_input_grad=layer is not net.layers[0])
            bwd[layer.index].append(time.perf_counter() - start)
        start = time.perf_counter()
        opt.step(net.params(), net.grads())
        update.append(time.perf_counter() - start)
        total.append(time.perf_counter() - begin)

    def us(values: list[float]) -> float:
        return statistics.median(values) * 1e6

    lines = [
        f"{layer.index:2d} {layer.type:10s} forward {us(fwd[layer.index]):8.1f} µs"
        f"   backward {us(bwd[layer.index]):8.1f} µs"
        for layer in net.layers
    ]
    lines.append(f"update {us(update):.1f} µs; whole step {us(total) / 1000:.3f} ms")
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="lenet5")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=100)
    args = parser.parse_args()
    print("\n".join(layer_times(args.preset, args.batch, args.repeats)))
