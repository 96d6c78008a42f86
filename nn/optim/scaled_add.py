"""``param += alpha * update`` in place, computed as PyTorch's ``param.add_(update, alpha=alpha)`` computes it.

PyTorch's CPU kernel does one fused multiply-add per element: a single rounding, in one pass over memory.
NumPy has no fused multiply-add, so ``param += alpha * update`` rounds twice (the product, then the sum)
and makes a temporary as large as the parameter. BLAS ``axpy`` computes ``y += a * x`` in one pass, and
SciPy exposes it: with SciPy installed, float32 and float64 updates go through it. Where the BLAS kernel
loaded at run time fuses the multiply and the add in every element, an SGD step equals PyTorch's bit for
bit. Not every kernel does: OpenBLAS's SkylakeX kernel fuses them all, but its Haswell kernel (picked on
many AVX2 CPUs, and wherever ``OPENBLAS_CORETYPE=Haswell`` asks for it) fuses whole blocks of 32 floats or 16
doubles in vector code and finishes the last, partial block with a separate multiply and add: those
elements round twice, as NumPy rounds them, and parity with PyTorch is then close but not exact. The
update goes through ``axpy`` there all the same: every full block is still fused, and it is still one
pass with no temporary. That pass is what makes it faster on a layer's weights: NumPy's temporary is new
memory, written and read once. On a small array the checks below cost a little more than NumPy's two
operations save (the figures are in benchmarks/HISTORY.md).

Without SciPy, or for another dtype, for arrays laid out differently in memory, or for arrays that
overlap, the update is NumPy's: ``alpha`` as a 0-d array of the parameter's dtype (so that a float32
parameter is never updated in float64), times ``update``, added in place.
"""
import numpy as np

_axpy_of_dtype = None  # dtype -> BLAS axpy, filled on first use (importing SciPy takes a while)


def _axpy_table():
    global _axpy_of_dtype
    if _axpy_of_dtype is None:
        try:
            from scipy.linalg.blas import daxpy, saxpy
        except ImportError:
            _axpy_of_dtype = {}
        else:
            _axpy_of_dtype = {np.dtype(np.float32): saxpy, np.dtype(np.float64): daxpy}
    return _axpy_of_dtype


def fused_available(dtype):
    """Whether updates of ``dtype`` parameters go through BLAS ``axpy`` here (SciPy's BLAS is importable).

    They are then fused multiply-adds, rounded once, in every element that the loaded BLAS kernel fuses:
    all of them with some kernels, all but a last partial block with others (see the module's docstring).
    """
    return np.dtype(dtype) in _axpy_table()


def axpy_of(param):
    """The BLAS ``axpy`` that ``add_scaled_`` uses for ``param`` (C-contiguous, writable, owning its memory,
    its dtype fused here) updated in place through ``param.ravel(order="K")``, else None."""
    axpy = _axpy_table().get(param.dtype)
    flags = param.flags
    if axpy is None or not (flags.writeable and flags.c_contiguous and param.base is None):
        return None
    return axpy


class ShapeMismatch(ValueError):
    """``add_scaled_`` got arrays of two shapes (NumPy would broadcast one over the other)."""


def add_scaled_(param, update, alpha):
    """``param += alpha * update`` in place for ndarrays of one shape; ``alpha`` is a Python number.

    Through BLAS ``axpy`` (rounded once in each element its kernel fuses) when
    ``fused_available(param.dtype)`` and both arrays are contiguous in the same memory order, of the same
    dtype, and apart in memory; otherwise in NumPy, rounded twice, in the parameter's dtype. Arrays of two
    shapes raise ``ShapeMismatch``.
    """
    if update.shape != param.shape:
        raise ShapeMismatch(f"add_scaled_: an update of shape {tuple(update.shape)} for an array of shape "
                            f"{tuple(param.shape)}")
    axpy = (_axpy_of_dtype if _axpy_of_dtype is not None else _axpy_table()).get(param.dtype)
    if axpy is not None and update.dtype is param.dtype:
        # the checks are inline and cheapest first: this runs for every parameter at every step
        param_flags, update_flags = param.flags, update.flags
        if param_flags.writeable and (param_flags.c_contiguous and update_flags.c_contiguous
                                      or param_flags.f_contiguous and update_flags.f_contiguous) \
                and (param.base is None and update.base is None  # two arrays that own their memory
                     or not np.may_share_memory(param, update)):
            # ravel(order="K") of a contiguous array is a view in memory order: the two flat views pair
            # the same elements because both arrays have the same shape and the same memory order
            flat = param.ravel(order="K")
            result = axpy(update.ravel(order="K"), flat, flat.size, alpha)
            if result is not flat:  # SciPy updates a contiguous array of its own dtype in place; if
                flat[...] = result  # ever not, the update must still land in the parameter
            return
    param += update * np.array(alpha, param.dtype)


def plus_scaled(a, b, alpha):
    """``a + alpha * b`` as a new array laid out like ``a``, rounded as ``add_scaled_`` rounds it."""
    out = a.copy(order="K")
    add_scaled_(out, b, alpha)
    return out
