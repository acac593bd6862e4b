"""The bundle's entry point: the `cnnviz` command (see packaging/cnnviz.spec)."""

import multiprocessing
import sys

if __name__ == "__main__":
    # the trainer's share workers are spawned processes: in the frozen bundle they start
    # as this executable, and freeze_support() turns them into workers
    multiprocessing.freeze_support()
    from cnnviz.cli import main

    sys.exit(main())
