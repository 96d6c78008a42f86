"""Argument checks shared by the loss functions: each error names the loss and the shapes involved."""
import numpy as np

import microgradnp as mg

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction, loss):
    """Raise unless ``reduction`` is 'mean', 'sum' or 'none'."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"{loss}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def reduce(loss, reduction):
    """Apply the reduction to per-element losses."""
    if reduction == "mean":
        return mg.mean(loss)
    if reduction == "sum":
        return mg.sum(loss)
    return loss


def floating_input(input, loss):  # noqa: A002
    """``input`` as a floating-point Tensor (ndarrays are wrapped), or a TypeError naming the loss."""
    if not isinstance(input, mg.Tensor):
        input = mg.Tensor(np.asarray(input))
    if input.data.dtype.kind != "f":
        raise TypeError(f"{loss}: input must be a floating point tensor (predictions), got dtype {input.dtype} "
                        f"and shape {input.shape}")
    return input


def matching_target(input, target, loss):  # noqa: A002
    """``target`` as a Tensor of the input's dtype and exactly the input's shape.

    Broadcasting (N, 1) predictions against (N,) targets would compare every prediction with every target
    and give a wrong loss without any error, so different shapes are refused.
    """
    if not isinstance(target, mg.Tensor):
        target = mg.Tensor(np.asarray(target))
    if target.shape != input.shape:
        try:
            combined = f" (broadcasting would make them {np.broadcast_shapes(input.shape, target.shape)}, "\
                       f"a different loss)"
        except ValueError:
            combined = ""
        hint = f", e.g. target.reshape{input.shape}" if input.numel() == target.numel() else ""
        raise ValueError(f"{loss}: input shape {input.shape} and target shape {target.shape} differ{combined}; "
                         f"make them the same{hint}")
    if target.dtype != input.dtype:
        target = target.to(input.dtype)
    return target


def as_constant(value, dtype, loss, what, shape=None):
    """An optional weight argument as an ndarray of ``dtype`` (or a Tensor, if it requires grad)."""
    if value is None:
        return None
    if isinstance(value, mg.Tensor):
        if value.requires_grad:
            return value.to(dtype)
        value = value.data
    array = np.asarray(value, dtype=dtype)
    if shape is not None and array.shape != shape:
        raise ValueError(f"{loss}: {what} must have shape {shape}, got {array.shape}")
    return array
