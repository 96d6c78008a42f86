"""The primitive table: every derivative in microgradnp is written in one of these modules.

Importing this package declares all primitives, in ``microgradnp.autograd.primitive.PRIMITIVES``.
"""
from . import arithmetic, einsum, elementwise, linalg, losses, reductions, shape, windows

__all__ = ["arithmetic", "einsum", "elementwise", "linalg", "losses", "reductions", "shape", "windows"]
