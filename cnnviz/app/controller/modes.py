"""Train and eval mode in words: what the switch changes, for its tooltip and the status bar."""

from __future__ import annotations

from cnnviz.core.network import Network

MODE_TIP = (
    "Train mode / eval mode (as in PyTorch: net.train() / net.eval()).\n"
    "Train: batch norm normalises with the batch's own mean and variance and moves its "
    "running statistics; dropout drops units at random (a new mask each pass).\n"
    "Eval: batch norm uses its running mean and variance (nothing moves); dropout is off "
    "(the identity). Switching starts a new pass."
)


def mode_name(training: bool) -> str:
    """"train mode" or "eval mode"."""
    return "train mode" if training else "eval mode"


def mode_effects(network: Network) -> str:
    """What the current mode does to this network's layers, in one line."""
    kinds = {layer.type for layer in _all_layers(network)}
    norm = {"batchnorm2d", "batchnorm1d"} & kinds
    parts = []
    if norm:
        parts.append("batch norm uses the batch's statistics" if network.training
                     else "batch norm uses its running statistics")
    if "dropout" in kinds:
        parts.append("dropout drops units" if network.training else "dropout is off")
    if not parts:
        return f"{mode_name(network.training)}: this network has no batch norm or dropout, " \
               "so both modes compute the same numbers"
    return f"{mode_name(network.training)}: " + ", ".join(parts)


def _all_layers(network: Network) -> list:
    """Every layer, those inside residual blocks included."""
    found = []
    for layer in network.layers:
        found.append(layer)
        found += [inner for _, inner in layer.inner()] if layer.type == "residual" else []
    return found
