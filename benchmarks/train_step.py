"""Benchmark: LeNet-5 training steps, a recorded pass and compile time (= `cnnviz bench`).

python benchmarks/train_step.py [--json] [--repeats N]
"""

import sys

from cnnviz.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
