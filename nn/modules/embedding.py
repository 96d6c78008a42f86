"""``Embedding``: a lookup table of learnable vectors indexed by integers."""
import microgradnp as mg

from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter


class Embedding(Module):
    """Row ``i`` of ``weight`` (shape (num_embeddings, embedding_dim), initialised N(0, 1)) for each index i.

    The row at ``padding_idx`` starts at zero and receives no gradient, as in PyTorch.
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, dtype=None):
        super().__init__()
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} must be within [-{num_embeddings}, "
                                 f"{num_embeddings})")
            padding_idx %= num_embeddings
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        self.weight = Parameter(mg.empty(num_embeddings, embedding_dim, dtype=dtype or mg.get_default_dtype()))
        self.reset_parameters()

    def reset_parameters(self):
        """Draw N(0, 1) rows and zero the padding row."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with mg.no_grad():
                self.weight[self.padding_idx] = 0

    def forward(self, input):
        """Look up the rows for the integer indices in ``input``."""
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self):
        """The settings shown inside the parentheses of ``repr``."""
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
