"""Read-only arrays of zeros and ones that forward and backward passes read as constant operands.

They exist for speed. NumPy does not vectorise every ufunc loop that has a scalar operand:
``np.maximum(x, 0)`` on a layer-sized float32 array takes several times as long as
``np.maximum(x, zeros)``. And a sum down the rows of a matrix is faster as a matrix-vector product with
ones than as ``np.add.reduce`` along axis 0. Each dtype has one buffer, grown to the largest size asked
for; every shape is a view of it, so varying shapes never pile up cached arrays.

A Python number as an operand costs NumPy a conversion on every call, a large share of an operation on
a small array: ``x > ZERO[x.dtype]`` and ``ONE[x.dtype] - x`` skip it. ``ZERO`` and ``ONE`` hold those
numbers as 0-d arrays of each dtype. The result is the same: NumPy casts a Python number to the
array's dtype anyway. (Measured in ``benchmarks/HISTORY.md``.)
"""
import math

import numpy as np

_ZEROS = {}  # dtype -> 1-D read-only buffer of zeros
_ONES = {}   # dtype -> 1-D read-only buffer of ones


def _prefix(table, make, size, dtype):
    # the first ``size`` elements of the dtype's buffer, which is replaced by one at least twice as large
    # when too short, so that a slowly growing size reallocates only a few times
    buffer = table.get(dtype)
    if buffer is None or buffer.size < size:
        buffer = make(max(size, 2 * buffer.size if buffer is not None else size), dtype)
        buffer.flags.writeable = False
        table[dtype] = buffer
    return buffer[:size]


def zeros_view(shape, dtype):
    """A read-only array of zeros of ``shape`` and ``dtype``, a view of a shared buffer.

    The buffer comes from ``np.zeros``, whose large allocations are pages the kernel maps to its one
    zero page until written: a large buffer costs address space, not memory.
    """
    return _prefix(_ZEROS, np.zeros, math.prod(shape), dtype).reshape(shape)


def ones_vector(n, dtype):
    """A read-only vector of ``n`` ones of ``dtype``, a view of a shared buffer."""
    return _prefix(_ONES, np.ones, n, dtype)


class ScalarTable(dict):
    """``table[dtype]``: one number as a read-only 0-d array of that dtype, made on first use."""

    __slots__ = ("value",)

    def __init__(self, value):
        super().__init__()
        self.value = value

    def __missing__(self, dtype):
        array = np.array(self.value, dtype)
        array.flags.writeable = False
        self[dtype] = array
        return array


ZERO = ScalarTable(0)
ONE = ScalarTable(1)
