"""`cnnviz bench --startup`: seconds from launch to an interactive window, cold and warm.

Each run is a fresh `cnnviz` process (the bundle's executable inside the bundle) with
CNNVIZ_STARTUP_PROBE=1: the app presses F10 once its window is up, waits for the
background warm-up and prints its times. Cold runs get a fresh, empty NUMBA_CACHE_DIR;
warm runs reuse the cache a cold run filled. Offscreen when there is no display.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from cnnviz.cli import UserError
from cnnviz.paths import is_frozen

PROBE_VARIABLE = "CNNVIZ_STARTUP_PROBE"  # as cnnviz.app.shell.startup_probe (no Qt here)
FIGURES = ("ready", "step", "pass", "all")  # window up, F10 done, first pass, every kernel
TIMEOUT_S = 300


def _command() -> list[str]:
    """How to start cnnviz in a fresh process."""
    return [sys.executable] if is_frozen() else [sys.executable, "-m", "cnnviz"]


def run_once(cache_dir: str) -> dict[str, float]:
    """One launch with this Numba cache folder: seconds from spawn to each figure."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, **{PROBE_VARIABLE: "1"})
    if not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    started = time.time()
    run = subprocess.run(_command(), env=env, capture_output=True, text=True,
                         timeout=TIMEOUT_S, check=False)
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    if run.returncode != 0 or not lines:
        raise UserError(f"the launched cnnviz failed (exit {run.returncode}): "
                        f"{(run.stderr.strip().splitlines() or ['no output'])[-1]}")
    report = json.loads(lines[-1])
    times = {key: when - started for key, when in report["times"].items() if key in FIGURES}
    times["waited"] = float(bool(report.get("waited")))
    return times


def startup_figures(runs: int = 3) -> dict:
    """Medians over `runs` cold and `runs` warm launches, with the load average."""
    figures: dict = {"load_before": os.getloadavg()}
    cold, warm = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="cnnviz-numba-") as cache:
            cold.append(run_once(cache))
            warm.append(run_once(cache))
    for name, results in (("cold", cold), ("warm", warm)):
        figures[name] = {key: statistics.median(r[key] for r in results)
                         for key in results[0]}
        figures[f"{name}_runs"] = results
    figures["load_after"] = os.getloadavg()
    return figures


def format_startup(f: dict) -> str:
    """The figures as a few lines of text."""
    load = " → ".join(f"{f[k][0]:.2f}" for k in ("load_before", "load_after"))
    lines = [f"start-up, median of {len(f['cold_runs'])} fresh processes each "
             f"(1-min load average {load}):"]
    for name, words in (("cold", "cold (empty Numba cache)"), ("warm", "warm (cached kernels)")):
        t = f[name]
        lines.append(f"  {words}: window {t['ready']:.2f} s · F10 done {t['step']:.2f} s · "
                     f"first pass ready {t.get('pass', float('nan')):.2f} s · "
                     f"every kernel {t['all']:.2f} s")
    return "\n".join(lines)
