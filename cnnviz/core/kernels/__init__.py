"""Numba kernels, one module per op family (conv, pool, dense, activations,
losses, norm, dropout, the optimizer's update); flags come from cnnviz.core.kernels._jit.

Every public function here has a plain-NumPy twin of the same name in
`cnnviz.core.reference`.
"""

from cnnviz.core.kernels.activations import (
    leaky_relu_backward,
    leaky_relu_forward,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)
from cnnviz.core.kernels.conv import (
    conv2d_backward,
    conv2d_backward_input,
    conv2d_backward_params,
    conv2d_forward,
)
from cnnviz.core.kernels.dense import (
    dense_backward,
    dense_backward_input,
    dense_backward_params,
    dense_forward,
)
from cnnviz.core.kernels.dropout import dropout_backward, dropout_forward
from cnnviz.core.kernels.losses import mse_loss, softmax_cross_entropy
from cnnviz.core.kernels.norm import (
    batchnorm_backward,
    batchnorm_backward_with_sums,
    batchnorm_delta_sums,
    batchnorm_forward,
    batchnorm_forward_eval,
    batchnorm_shifted_sums,
    batchnorm_update_running,
)
from cnnviz.core.kernels.pool import (
    avgpool2d_backward,
    avgpool2d_forward,
    maxpool2d_backward,
    maxpool2d_forward,
)
from cnnviz.core.kernels.update import sgd_update

__all__ = [
    "avgpool2d_backward",
    "avgpool2d_forward",
    "batchnorm_backward",
    "batchnorm_backward_with_sums",
    "batchnorm_delta_sums",
    "batchnorm_forward",
    "batchnorm_forward_eval",
    "batchnorm_shifted_sums",
    "batchnorm_update_running",
    "conv2d_backward",
    "conv2d_backward_input",
    "conv2d_backward_params",
    "conv2d_forward",
    "dense_backward",
    "dense_backward_input",
    "dense_backward_params",
    "dense_forward",
    "dropout_backward",
    "dropout_forward",
    "leaky_relu_backward",
    "leaky_relu_forward",
    "maxpool2d_backward",
    "maxpool2d_forward",
    "mse_loss",
    "relu_backward",
    "relu_forward",
    "sigmoid_backward",
    "sgd_update",
    "sigmoid_forward",
    "softmax_cross_entropy",
    "tanh_backward",
    "tanh_forward",
]

# The functions with a twin of the same name in cnnviz.core.reference (the others are
# halves of a twinned function).
TWINNED = [name for name in __all__ if not name.endswith(("_input", "_params"))]
