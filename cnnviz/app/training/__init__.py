"""The training dock: settings, the worker thread, curves and the run comparison.

Training runs in a QThread through the engine's Trainer. It may use the controller and the
shared widgets only.
"""
