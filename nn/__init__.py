"""``nn``: PyTorch-style modules, losses, initialisation and optimizers on microgradnp's public API.

    import microgradnp as mg
    from microgradnp import nn        # the same module as ``import nn``

    model = nn.Sequential(nn.Linear(2, 8), nn.LeakyReLU(), nn.Linear(8, 1), nn.Sigmoid())
    optimizer = nn.optim.SGD(model.parameters(), lr=0.5)
    loss = nn.BCELoss()(model(x), y)
    optimizer.zero_grad(); loss.backward(); optimizer.step()
"""
import microgradnp as mg

from . import functional, init, optim, utils
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .functional.loss_checks import MisuseWarning
from .module import Module
from .modules import (
    CELU,
    ELU,
    GELU,
    GRU,
    LSTM,
    RNN,
    SELU,
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    BCELoss,
    BCEWithLogitsLoss,
    Conv1d,
    Conv2d,
    ConvTranspose1d,
    ConvTranspose2d,
    CosineEmbeddingLoss,
    CosineSimilarity,
    CrossEntropyLoss,
    Dropout,
    Dropout1d,
    Dropout2d,
    Embedding,
    Flatten,
    Fold,
    GaussianNLLLoss,
    GRUCell,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    HuberLoss,
    Identity,
    KLDivLoss,
    L1Loss,
    LayerNorm,
    LazyLinear,
    LeakyReLU,
    Linear,
    LogSigmoid,
    LogSoftmax,
    LSTMCell,
    MarginRankingLoss,
    MaxPool1d,
    MaxPool2d,
    Mish,
    MSELoss,
    NLLLoss,
    PairwiseDistance,
    PoissonNLLLoss,
    PReLU,
    ReLU,
    ReLU6,
    RNNBase,
    RNNCell,
    RNNCellBase,
    Sigmoid,
    SiLU,
    SmoothL1Loss,
    SoftMarginLoss,
    Softmax,
    Softmax2d,
    Softplus,
    Softsign,
    Tanh,
    Unfold,
    UninitializedParameter,
    Upsample,
    UpsamplingBilinear2d,
    UpsamplingNearest2d,
)
from .parameter import Parameter

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "Linear", "Identity", "ReLU", "LeakyReLU", "Sigmoid",
           "Tanh", "GELU", "ELU", "Softmax", "LogSoftmax", "Flatten", "Dropout", "BatchNorm1d", "LayerNorm",
           "Embedding", "MSELoss", "L1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss",
           "NLLLoss", "MisuseWarning", "functional", "init", "optim", "utils",
           "SmoothL1Loss", "KLDivLoss", "SoftMarginLoss", "MarginRankingLoss", "CosineEmbeddingLoss",
           "GaussianNLLLoss", "PoissonNLLLoss", "CosineSimilarity", "PairwiseDistance"]
__all__ += ["ModuleDict", "ParameterList", "ParameterDict", "LazyLinear", "UninitializedParameter"]
__all__ += ["Softplus", "SiLU", "Mish", "Hardtanh", "ReLU6", "PReLU", "Softmax2d",
            "LogSigmoid", "Softsign", "Hardswish", "Hardsigmoid", "SELU", "CELU"]
__all__ += ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

__all__ += ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
            "AvgPool1d", "AvgPool2d", "MaxPool1d", "MaxPool2d", "Fold", "Unfold", "Upsample", "UpsamplingBilinear2d",
            "UpsamplingNearest2d", "Dropout1d", "Dropout2d", "BatchNorm2d", "BatchNorm3d"]


def __getattr__(name):
    # only for a missing name: the error says so when PyTorch has it
    raise mg.utils.missing_attribute(__name__, name)
