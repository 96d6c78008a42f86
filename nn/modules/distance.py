"""Similarity and distance modules: each stores its options and calls the function in ``nn.functional``."""
from .. import functional as F
from ..module import Module


class CosineSimilarity(Module):
    """Cosine of the angle between ``x1`` and ``x2`` along ``dim`` (each norm clamped at ``eps``)."""

    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim = dim
        self.eps = eps

    def forward(self, x1, x2):
        """The cosine similarity of two tensors that broadcast together."""
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """The ``p``-norm distance between the rows (last dimension) of ``x1`` and ``x2``, with ``eps`` added."""

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm = p
        self.eps = eps
        self.keepdim = keepdim

    def forward(self, x1, x2):
        """The distance of each pair of rows."""
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
