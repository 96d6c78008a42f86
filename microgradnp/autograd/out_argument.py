"""``out=``: a primitive's result written into a given Tensor, as ``torch.add(a, b, out=y)`` does.

Nothing is recorded: as in PyTorch, a call with ``out=`` raises when autograd would have to record it
(grad mode on and an input, or ``out``, requiring grad). The write is an in-place write into ``out``:
its version moves, with that of every tensor sharing its memory.
"""
import warnings

import numpy as np

from .. import grad_mode
from ..capture import capture_state as _capture
from ..tensor import Tensor, arrays_replaced, note_write


def write_out(prim, inputs, kwargs):
    """``prim(*inputs, **kwargs)`` written into ``kwargs["out"]``, which is returned."""
    kwargs = dict(kwargs)
    out = kwargs.pop("out")
    if not isinstance(out, Tensor):
        raise TypeError(f"{prim.name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if grad_mode.is_grad_enabled() and (out.requires_grad or any(
            isinstance(x, Tensor) and x.requires_grad for x in inputs)):
        raise RuntimeError(f"{prim.name}(): functions with out=... arguments don't support automatic "
                           f"differentiation, but one of the arguments requires grad.")
    with grad_mode.no_grad():
        result = prim(*inputs, **kwargs)._array
    if not np.can_cast(result.dtype, out._array.dtype, "same_kind"):
        raise RuntimeError(f"{prim.name}(): result type {_torch_name(result.dtype)} can't be cast to the desired "
                           f"output type {_torch_name(out._array.dtype)}")
    if out._array.shape != result.shape:
        if out._array.size:
            warnings.warn(
                f"An output with one or more elements was resized since it had shape {list(out._array.shape)}, "
                f"which does not match the required output shape {list(result.shape)}. This behavior is "
                f"deprecated, and in a future PyTorch release outputs will not be resized unless they have zero "
                f"elements. You can explicitly reuse an out tensor t by resizing it, inplace, to zero elements "
                f"with t.resize_(0).", UserWarning, stacklevel=3)
        # a new array: out no longer shares memory with what it shared before (PyTorch reallocates too)
        out._array = np.empty(result.shape, dtype=out._array.dtype)
        arrays_replaced[0] += 1
    np.copyto(out._array, result, casting="unsafe")
    if _capture.active is not None:  # a compiled step's capture: the write is one replay step
        _capture.active.record_call(_copy_into, (out._array, result), None)
    note_write(out, f"{prim.name}(out=)")
    return out


def _copy_into(target, result):
    np.copyto(target, result, casting="unsafe")


def _torch_name(dtype):
    # PyTorch's names of the scalar types in its messages
    names = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
             "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}
    return names.get(np.dtype(dtype).name, np.dtype(dtype).name)
