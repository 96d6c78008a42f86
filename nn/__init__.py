"""``nn``: PyTorch-style modules, losses, initialisation and optimizers on microgradnp's public API.

    import microgradnp as mg
    from microgradnp import nn        # the same module as ``import nn``

    model = nn.Sequential(nn.Linear(2, 8), nn.LeakyReLU(), nn.Linear(8, 1), nn.Sigmoid())
    optimizer = nn.optim.SGD(model.parameters(), lr=0.5)
    loss = nn.BCELoss()(model(x), y)
    optimizer.zero_grad(); loss.backward(); optimizer.step()
"""
from . import functional, init, optim, utils
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .functional.loss_checks import MisuseWarning
from .module import Module
from .modules import (
                      ELU,
                      GELU,
                      BatchNorm1d,
                      BCELoss,
                      BCEWithLogitsLoss,
                      CrossEntropyLoss,
                      Dropout,
                      Embedding,
                      Flatten,
                      HuberLoss,
                      Identity,
                      LazyLinear,
                      L1Loss,
                      LayerNorm,
                      LeakyReLU,
                      Linear,
                      LogSoftmax,
                      MSELoss,
                      NLLLoss,
                      ReLU,
                      Sigmoid,
                      Softmax,
                      Tanh,
                      UninitializedParameter,
)
from .parameter import Parameter

__all__ = ["Module", "Parameter", "UninitializedParameter", "Sequential", "ModuleList", "ModuleDict", "ParameterList",
           "ParameterDict", "Linear", "LazyLinear", "Identity", "ReLU", "LeakyReLU", "Sigmoid",
           "Tanh", "GELU", "ELU", "Softmax", "LogSoftmax", "Flatten", "Dropout", "BatchNorm1d", "LayerNorm",
           "Embedding", "MSELoss", "L1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss",
           "NLLLoss", "MisuseWarning", "functional", "init", "optim", "utils"]
