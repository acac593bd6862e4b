"""Per-layer times of a training step: where a step's milliseconds go.

python benchmarks/layer_times.py [--batch 64] [--repeats 100] [--preset lenet5]

Layers inside residual blocks get a line each ("4.body.0"); a block's own line includes
its inner layers. Run it with CNNVIZ_THREADS=1 for single-threaded kernel times, which
vary far less on a shared machine than the multi-threaded wall times. Medians over
`--repeats` steps.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict

import numpy as np

from cnnviz.core import Network
from cnnviz.core.layers import Layer, iter_layers
from cnnviz.core.optim import SGD
from cnnviz.core.presets import get_preset


def _timed(layer: Layer, times: dict) -> None:
    """Wrap the layer's forward and backward so that each call's seconds are recorded."""
    for method in ("forward", "backward"):
        call = getattr(layer, method)

        def timed(*args, _call=call, _key=(layer.key, method), **kwargs):
            start = time.perf_counter()
            result = _call(*args, **kwargs)
            times[_key].append(time.perf_counter() - start)
            return result

        setattr(layer, method, timed)


def layer_times(preset: str, batch: int, repeats: int) -> list[str]:
    """Lines of median forward / backward microseconds per layer, then the whole step."""
    net = Network.from_spec(get_preset(preset), seed=0, dtype="float32")
    rng = np.random.default_rng(0)
    x = rng.random((batch, *net.spec.input_shape), dtype=np.float32)
    y = rng.integers(0, net.spec.num_classes, size=batch)
    opt = SGD(lr=0.01)
    for _ in range(5):
        net.train_step(x, y, opt)
    times: dict = defaultdict(list)
    layers = iter_layers(net.layers)
    for layer in layers:
        _timed(layer, times)
    total = []
    for _ in range(repeats):
        start = time.perf_counter()
        net.train_step(x, y, opt)
        total.append(time.perf_counter() - start)

    def us(key: str, method: str) -> float:
        return statistics.median(times[(key, method)]) * 1e6

    lines = [
        f"{layer.key:13s} {layer.type:11s} forward {us(layer.key, 'forward'):8.1f} µs"
        f"   backward {us(layer.key, 'backward'):8.1f} µs"
        for layer in layers
    ]
    lines.append(f"whole step {statistics.median(total) * 1000:.3f} ms (update included)")
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="lenet5")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=100)
    args = parser.parse_args()
    print("\n".join(layer_times(args.preset, args.batch, args.repeats)))
