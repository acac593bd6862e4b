"""Sub-commands of the `cnnviz` command line, one module each."""
