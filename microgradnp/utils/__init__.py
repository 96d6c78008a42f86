"""``mg.utils``: data loading (``mg.utils.data``), and ``missing_attribute``, the error for a name
that PyTorch has and microgradnp lacks (``nn``'s packages raise it from their module ``__getattr__``)."""
from ..torch_names import missing_attribute
from . import data

__all__ = ["data", "missing_attribute"]
