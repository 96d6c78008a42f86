"""``nn``: PyTorch-style modules, losses, initialisation and optimizers on microgradnp's public API.

    import microgradnp as mg
    from microgradnp import nn        # the same module as ``import nn``

    model = nn.Sequential(nn.Linear(2, 8), nn.LeakyReLU(), nn.Linear(8, 1), nn.Sigmoid())
    optimizer = nn.optim.SGD(model.parameters(), lr=0.5)
    loss = nn.BCELoss()(model(x), y)
    optimizer.zero_grad(); loss.backward(); optimizer.step()
"""
from . import functional, init, optim, utils
from .containers import ModuleList, Sequential
from .functional.loss_checks import MisuseWarning
from .module import Module
from .modules import (
                      ELU,
                      GELU,
                      BatchNorm1d,
                      BCELoss,
                      BCEWithLogitsLoss,
                      CosineEmbeddingLoss,
                      CosineSimilarity,
                      CrossEntropyLoss,
                      Dropout,
                      Embedding,
                      Flatten,
                      GaussianNLLLoss,
                      HuberLoss,
                      Identity,
                      KLDivLoss,
                      L1Loss,
                      LayerNorm,
                      LeakyReLU,
                      Linear,
                      LogSoftmax,
                      MarginRankingLoss,
                      MSELoss,
                      NLLLoss,
                      PairwiseDistance,
                      PoissonNLLLoss,
                      ReLU,
                      Sigmoid,
                      SmoothL1Loss,
                      SoftMarginLoss,
                      Softmax,
                      Tanh,
)
from .parameter import Parameter

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "Linear", "Identity", "ReLU", "LeakyReLU", "Sigmoid",
           "Tanh", "GELU", "ELU", "Softmax", "LogSoftmax", "Flatten", "Dropout", "BatchNorm1d", "LayerNorm",
           "Embedding", "MSELoss", "L1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss",
           "NLLLoss", "MisuseWarning", "functional", "init", "optim", "utils",
           "SmoothL1Loss", "KLDivLoss", "SoftMarginLoss", "MarginRankingLoss", "CosineEmbeddingLoss",
           "GaussianNLLLoss", "PoissonNLLLoss", "CosineSimilarity", "PairwiseDistance"]
