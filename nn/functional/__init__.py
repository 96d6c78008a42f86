"""``nn.functional``: every layer, activation and loss as a plain function of tensors.

    import microgradnp.nn.functional as F
    loss = F.cross_entropy(F.relu(F.linear(x, w, b)), y)

Activations are forward passes only; their gradients come from the engine.
"""
from microgradnp import one_hot, pad

from .activation import elu, gelu, leaky_relu, log_softmax, relu, sigmoid, softmax, softplus, tanh
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
from .layers import batch_norm, dropout, embedding, layer_norm, linear
from .regression_loss import gaussian_nll_loss, huber_loss, l1_loss, mse_loss, poisson_nll_loss, smooth_l1_loss

__all__ = ["relu", "leaky_relu", "sigmoid", "tanh", "gelu", "elu", "softmax", "log_softmax", "softplus",
           "linear", "dropout", "batch_norm", "layer_norm", "embedding", "one_hot", "pad",
           "mse_loss", "l1_loss", "huber_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
           "cross_entropy", "nll_loss", "smooth_l1_loss", "kl_div", "soft_margin_loss", "margin_ranking_loss",
           "gaussian_nll_loss", "poisson_nll_loss", "cosine_similarity", "pairwise_distance",
           "cosine_embedding_loss"]
