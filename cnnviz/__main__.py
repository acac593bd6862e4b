"""`python -m cnnviz`: the same as the `cnnviz` command."""

import sys

if __name__ == "__main__":  # not when a spawned share worker imports the main module
    from cnnviz.cli import main

    sys.exit(main())
