"""The layer and loss classes, re-exported by ``nn``."""
from .activation import (
           CELU,
           ELU,
           GELU,
           SELU,
           Hardsigmoid,
           Hardswish,
           Hardtanh,
           LeakyReLU,
           LogSigmoid,
           LogSoftmax,
           Mish,
           PReLU,
           ReLU,
           ReLU6,
           Sigmoid,
           SiLU,
           Softmax,
           Softmax2d,
           Softplus,
           Softsign,
           Tanh,
)
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .distance import CosineSimilarity, PairwiseDistance
from .dropout import Dropout, Dropout1d, Dropout2d
from .embedding import Embedding
from .flatten import Flatten
from .fold import Fold, Unfold
from .linear import Identity, LazyLinear, Linear, UninitializedParameter
from .loss import (
           BCELoss,
           BCEWithLogitsLoss,
           CosineEmbeddingLoss,
           CrossEntropyLoss,
           GaussianNLLLoss,
           HuberLoss,
           KLDivLoss,
           L1Loss,
           MarginRankingLoss,
           MSELoss,
           NLLLoss,
           PoissonNLLLoss,
           SmoothL1Loss,
           SoftMarginLoss,
)
from .normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d, LayerNorm
from .pooling import AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

__all__ = ["Linear", "Identity", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "ELU", "Softmax", "LogSoftmax",
           "Flatten", "Dropout", "BatchNorm1d", "LayerNorm", "Embedding", "MSELoss", "L1Loss", "HuberLoss",
           "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss",
           "SmoothL1Loss", "KLDivLoss", "SoftMarginLoss", "MarginRankingLoss", "CosineEmbeddingLoss",
           "GaussianNLLLoss", "PoissonNLLLoss", "CosineSimilarity", "PairwiseDistance"]
__all__ += ["LazyLinear", "UninitializedParameter"]
__all__ += ["Softplus", "SiLU", "Mish", "Hardtanh", "ReLU6", "PReLU", "Softmax2d",
            "LogSigmoid", "Softsign", "Hardswish", "Hardsigmoid", "SELU", "CELU"]
__all__ += ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
            "AvgPool1d", "AvgPool2d", "MaxPool1d", "MaxPool2d", "Fold", "Unfold", "Upsample", "UpsamplingBilinear2d",
            "UpsamplingNearest2d", "Dropout1d", "Dropout2d", "BatchNorm2d", "BatchNorm3d"]
__all__ += ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]
