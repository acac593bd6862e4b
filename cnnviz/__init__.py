"""cnnviz: see backpropagation happen, one operation at a time."""

__version__ = "0.1.0"
