"""Dtypes and the default floating dtype.

microgradnp dtypes *are* NumPy dtypes, so ``t.dtype == np.float32`` and ``t.dtype == mg.float32`` agree.
"""
import numpy as np

float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int8 = np.dtype(np.int8)
int16 = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
uint8 = np.dtype(np.uint8)
bool = np.dtype(np.bool_)
half, float, double, long = float16, float32, float64, int64

_default_dtype = float32


def get_default_dtype():
    """Return the dtype that Python floats become (float32 unless changed)."""
    return _default_dtype


def set_default_dtype(dtype):
    """Set the dtype that Python floats become; only float32 and float64 are allowed."""
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype not in (float32, float64):
        raise TypeError(f"set_default_dtype: only float32 and float64 are supported, got {dtype}")
    _default_dtype = dtype


def is_floating(dtype):
    """True for floating dtypes: the only ones that can require grad."""
    return np.dtype(dtype).kind == "f"
