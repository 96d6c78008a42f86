"""The layer and loss classes, re-exported by ``nn``."""
from .activation import ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .dropout import Dropout
from .embedding import Embedding
from .flatten import Flatten
from .linear import Identity, LazyLinear, Linear, UninitializedParameter
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss, NLLLoss
from .normalization import BatchNorm1d, LayerNorm

__all__ = ["Linear", "LazyLinear", "UninitializedParameter", "Identity", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "ELU", "Softmax", "LogSoftmax",
           "Flatten", "Dropout", "BatchNorm1d", "LayerNorm", "Embedding", "MSELoss", "L1Loss", "HuberLoss",
           "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss"]
