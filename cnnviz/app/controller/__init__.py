"""The controller: the one object every dock talks to, and its small collaborators.

It holds the network, the input, the stepper and the selection, and re-emits the
engine's changes as Qt signals. It may use the engine, the core and the data packages,
and nothing of the other rooms of `cnnviz.app`.
"""

from cnnviz.app.controller.app_controller import AppController

__all__ = ["AppController"]
