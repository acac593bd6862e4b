"""The bundle's entry point: the `cnnviz` command (see packaging/cnnviz.spec)."""

import sys

from cnnviz.cli import main

if __name__ == "__main__":
    sys.exit(main())
