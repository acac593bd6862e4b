"""The numeric core: spec, layers, network, losses, optimizers. Never imports Qt.

from cnnviz.core import Network, SpecError
net = Network.from_spec(spec, seed=0, dtype="float64")
"""

from cnnviz.core.network import Network, PassResult, transfer_matching_weights
from cnnviz.core.spec import NetworkSpec, SpecError, parse_spec
from cnnviz.core.warmup import warmup

__all__ = [
    "Network",
    "NetworkSpec",
    "PassResult",
    "SpecError",
    "parse_spec",
    "transfer_matching_weights",
    "warmup",
]
