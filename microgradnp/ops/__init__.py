"""The primitive table: every derivative in microgradnp is written in one of these modules.

Importing this package registers all primitives in ``microgradnp.autograd.graph.PRIMITIVES``.
"""
from . import arithmetic, elementwise, reductions, shape, linalg, losses  # noqa: F401  (registers primitives)
