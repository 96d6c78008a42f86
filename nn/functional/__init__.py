"""``nn.functional``: every layer, activation and loss as a plain function of tensors.

    import microgradnp.nn.functional as F
    loss = F.cross_entropy(F.relu(F.linear(x, w, b)), y)

Activations are forward passes only; their gradients come from the engine.
"""
from microgradnp import one_hot, pad

from .activation import (
    celu,
    elu,
    gelu,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    log_softmax,
    logsigmoid,
    mish,
    prelu,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
    softsign,
    tanh,
)
from .classification_loss import binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, nll_loss
from .layers import batch_norm, dropout, embedding, layer_norm, linear
from .regression_loss import huber_loss, l1_loss, mse_loss

__all__ = ["relu", "leaky_relu", "sigmoid", "tanh", "gelu", "elu", "softmax", "log_softmax", "softplus",
           "silu", "mish", "hardtanh", "relu6", "prelu", "logsigmoid", "softsign", "hardswish", "hardsigmoid",
           "selu", "celu",
           "linear", "dropout", "batch_norm", "layer_norm", "embedding", "one_hot", "pad",
           "mse_loss", "l1_loss", "huber_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
           "cross_entropy", "nll_loss"]
