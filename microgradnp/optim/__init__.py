"""``microgradnp.optim``: the optimizers, where PyTorch users import them from (``torch.optim``).

They are defined in ``microgradnp.nn.optim``; this module names the same classes, so
``from microgradnp.optim import SGD`` and ``mg.nn.optim.SGD`` are one class.
"""
from microgradnp.nn.optim import *  # noqa: F403 - every name in nn.optim.__all__
from microgradnp.nn.optim import __all__  # noqa: F401 - re-exported
from microgradnp.torch_names import missing_attribute

from . import lr_scheduler  # noqa: F401 - microgradnp.optim.lr_scheduler, as torch.optim.lr_scheduler


def __getattr__(name):
    # only for a missing name: the error says so when PyTorch has it
    raise missing_attribute(__name__, name)
