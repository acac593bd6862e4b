"""The PySide6 + pyqtgraph desktop application."""

from cnnviz.app import qt_compat as _qt_compat  # noqa: F401 - PySide6 refcount workaround


def __getattr__(name: str):
    """`cnnviz.app.MainWindow` without importing every panel when a single module is used."""
    if name == "MainWindow":
        # Imported on first use: a single panel's module need not load every room
        # (start-up time).
        from cnnviz.app.shell.main_window import MainWindow

        return MainWindow
    raise AttributeError(f"module 'cnnviz.app' has no attribute {name!r}")
