"""``microgradnp.optim.lr_scheduler``: the learning-rate schedulers, where PyTorch users import them from.

The same classes as ``microgradnp.nn.optim.lr_scheduler``.
"""
from microgradnp.nn.optim.lr_scheduler import *  # noqa: F403 - every name in its __all__
from microgradnp.nn.optim.lr_scheduler import __all__  # noqa: F401 - re-exported
