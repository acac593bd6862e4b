"""CPU time per training step (LeNet-5 or another preset), ours against PyTorch's, on one thread.

CNNVIZ_THREADS=1 python benchmarks/cpu_time.py [--batch 64] [--repeats 200] [--preset mini-resnet]

Wall times on a shared machine swing with other processes (a step waits while its core
runs someone else); the CPU time a step spends on its own thread swings far less, so it
compares the work per core of the two implementations. Both steps run on the calling
thread (our kernel pool with CNNVIZ_THREADS=1, PyTorch with set_num_threads(1)), in
alternating blocks of 5 steps. Prints medians in ms and the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from cnnviz.benchmark import cnnviz_step, torch_step


def cpu_medians(batch: int, repeats: int, preset: str = "lenet5") -> dict[str, float]:
    """Median thread CPU ms of one step, ours and (if installed) PyTorch's."""
    fns = {"ours": cnnviz_step(preset, batch)}
    theirs = torch_step(preset, batch, threads=1)
    if theirs is not None:
        fns["torch"] = theirs
    times: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        for _ in range(5):
            fn()
    while len(times["ours"]) < repeats:
        for name, fn in fns.items():
            for _ in range(5):
                start = time.thread_time()
                fn()
                times[name].append((time.thread_time() - start) * 1000)
    return {name: statistics.median(v) for name, v in times.items()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--preset", default="lenet5")
    args = parser.parse_args()
    if os.environ.get("CNNVIZ_THREADS") != "1":
        print("note: set CNNVIZ_THREADS=1, else our kernel pool's threads are not counted")
    for batch in args.batch:
        m = cpu_medians(batch, args.repeats, args.preset)
        line = f"{args.preset} batch {batch:>2}: ours {m['ours']:.3f} ms CPU"
        if "torch" in m:
            ratio = m["ours"] / m["torch"]
            line += f"   PyTorch {m['torch']:.3f} ms CPU   (ours / PyTorch = {ratio:.2f})"
        print(line, f"  1-min load {os.getloadavg()[0]:.2f}")
