"""``nn.functional``: every layer, activation and loss as a plain function of tensors.

    import microgradnp.nn.functional as F
    loss = F.cross_entropy(F.relu(F.linear(x, w, b)), y)

Activations are forward passes only; their gradients come from the engine.
"""
import microgradnp as mg
from microgradnp import one_hot, pad
from microgradnp.convolution import conv1d, conv2d, conv_transpose1d, conv_transpose2d, fold, unfold
from microgradnp.pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)

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
from .classification_loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    kl_div,
    margin_ranking_loss,
    nll_loss,
    soft_margin_loss,
)
from .distance import cosine_embedding_loss, cosine_similarity, pairwise_distance
from .layers import batch_norm, dropout, dropout1d, dropout2d, embedding, layer_norm, linear
from .regression_loss import gaussian_nll_loss, huber_loss, l1_loss, mse_loss, poisson_nll_loss, smooth_l1_loss
from .sampling import interpolate, upsample

__all__ = ["relu", "leaky_relu", "sigmoid", "tanh", "gelu", "elu", "softmax", "log_softmax", "softplus",
           "silu", "mish", "hardtanh", "relu6", "prelu", "logsigmoid", "softsign", "hardswish", "hardsigmoid",
           "selu", "celu",
           "linear", "dropout", "batch_norm", "layer_norm", "embedding", "one_hot", "pad",
           "mse_loss", "l1_loss", "huber_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
           "cross_entropy", "nll_loss", "smooth_l1_loss", "kl_div", "soft_margin_loss", "margin_ranking_loss",
           "gaussian_nll_loss", "poisson_nll_loss", "cosine_similarity", "pairwise_distance",
           "cosine_embedding_loss",
           "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "unfold", "fold", "max_pool1d", "max_pool2d",
           "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "dropout1d", "dropout2d",
           "interpolate", "upsample"]


def __getattr__(name):
    # only for a missing name: the error says so when PyTorch has it
    raise mg.utils.missing_attribute(__name__, name)
