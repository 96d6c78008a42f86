"""microgradnp: reverse-mode automatic differentiation on NumPy, with a PyTorch-like ``nn`` on top.

    import microgradnp as mg
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    x.grad            # tensor([2., 4.])
"""
import importlib

from . import dtypes, grad_mode, ops  # noqa: F401  (ops registers the primitives)
from .tensor import Tensor
from . import functions
from .functions import *  # noqa: F401,F403
from .factories import (tensor, from_numpy, zeros, ones, full, empty, zeros_like, ones_like, full_like,
                        empty_like, arange, linspace, eye, rand, randn, randint, randperm)
from .random import manual_seed
from .dtypes import (float16, float32, float64, int8, int16, int32, int64, uint8, bool, half, float,  # noqa: A004
                     double, long, get_default_dtype, set_default_dtype)
from .grad_mode import no_grad, enable_grad, set_grad_enabled, is_grad_enabled
from . import autograd
from .autograd import backends as _backends, engine as _engine

_engine.Tensor = Tensor
_backends.NUMPY, _backends.TENSOR = _backends.build()

__version__ = "0.1.0"

# nn and optim live in the top-level `nn` package, which imports microgradnp; they are bound lazily so
# that the engine never imports nn. viz, utils and serialization load on first use.
_LAZY = {"nn": "nn", "optim": "nn.optim", "viz": "microgradnp.viz", "utils": "microgradnp.utils"}


def __getattr__(name):
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        globals()[name] = module
        return module
    if name in ("save", "load"):
        from . import serialization
        return getattr(serialization, name)
    raise AttributeError(f"module 'microgradnp' has no attribute {name!r}")
