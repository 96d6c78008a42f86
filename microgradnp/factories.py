"""Functions that make new tensors."""
import numpy as np

from . import dtypes
from .random import get_generator
from .tensor import Tensor, as_array


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(int(s) for s in size)


def _made(array, dtype, requires_grad):
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    return Tensor(array, requires_grad=requires_grad)


def tensor(data, dtype=None, requires_grad=False):
    """A new tensor (a copy of ``data``): Python floats become the default dtype, arrays keep theirs."""
    array = np.array(as_array(data, dtype), copy=True)
    return Tensor(array, requires_grad=requires_grad)


def from_numpy(array):
    """A tensor sharing memory with ``array`` (its dtype kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor(array)


def zeros(*size, dtype=None, requires_grad=False):
    """A tensor of zeros."""
    return _made(np.zeros(_shape(size), dtype or dtypes.get_default_dtype()), None, requires_grad)


def ones(*size, dtype=None, requires_grad=False):
    """A tensor of ones."""
    return _made(np.ones(_shape(size), dtype or dtypes.get_default_dtype()), None, requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False):
    """A tensor filled with ``fill_value``."""
    return _made(np.full(tuple(size), fill_value, dtype or as_array(fill_value).dtype), None, requires_grad)


def empty(*size, dtype=None, requires_grad=False):
    """An uninitialised tensor."""
    return _made(np.empty(_shape(size), dtype or dtypes.get_default_dtype()), None, requires_grad)


def _like(t):
    return t._array if isinstance(t, Tensor) else np.asarray(t)


def zeros_like(t, dtype=None, requires_grad=False):
    """Zeros with the shape and dtype of ``t``."""
    return _made(np.zeros_like(_like(t), dtype=dtype), None, requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    """Ones with the shape and dtype of ``t``."""
    return _made(np.ones_like(_like(t), dtype=dtype), None, requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False):
    """``fill_value`` with the shape and dtype of ``t``."""
    return _made(np.full_like(_like(t), fill_value, dtype=dtype), None, requires_grad)


def empty_like(t, dtype=None, requires_grad=False):
    """An uninitialised tensor with the shape and dtype of ``t``."""
    return _made(np.empty_like(_like(t), dtype=dtype), None, requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False):
    """Evenly spaced values in [start, end); integers stay int64, floats use the default dtype."""
    if end is None:
        start, end = 0, start
    array = np.arange(start, end, step)
    if dtype is None and np.issubdtype(array.dtype, np.floating):
        dtype = dtypes.get_default_dtype()
    return _made(array, dtype, requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False):
    """``steps`` evenly spaced values from start to end inclusive."""
    return _made(np.linspace(start, end, steps), dtype or dtypes.get_default_dtype(), requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False):
    """An identity matrix."""
    return _made(np.eye(n, m), dtype or dtypes.get_default_dtype(), requires_grad)


def rand(*size, dtype=None, requires_grad=False, generator=None):
    """Uniform samples in [0, 1)."""
    array = get_generator(generator).random(_shape(size))
    return _made(array, dtype or dtypes.get_default_dtype(), requires_grad)


def randn(*size, dtype=None, requires_grad=False, generator=None):
    """Standard normal samples."""
    array = get_generator(generator).standard_normal(_shape(size))
    return _made(array, dtype or dtypes.get_default_dtype(), requires_grad)


def randint(low, high=None, size=(), dtype=None, generator=None):
    """Integers in [low, high) (int64 unless ``dtype`` says otherwise)."""
    if high is None:
        low, high = 0, low
    array = get_generator(generator).integers(low, high, size=tuple(size))
    return _made(np.asarray(array, dtype=dtype or np.int64), None, False)


def randperm(n, generator=None):
    """A random permutation of 0..n-1 (int64)."""
    return _made(get_generator(generator).permutation(n).astype(np.int64), None, False)
