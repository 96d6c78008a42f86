"""``Flatten``: merge a range of dimensions into one."""
import microgradnp as mg

from ..module import Module


class Flatten(Module):
    """Flatten dims ``start_dim..end_dim`` (by default all but the batch dimension)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input):
        """Return ``input`` with the dims merged."""
        return mg.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self):
        """The settings shown inside the parentheses of ``repr``."""
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
