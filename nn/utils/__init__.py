"""``nn.utils``: gradient clipping."""
import microgradnp as mg

from .clip_grad import clip_grad_norm_, clip_grad_value_

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def __getattr__(name):
    # only for a missing name: the error says so when PyTorch has it
    raise mg.utils.missing_attribute(__name__, name)
