"""Similarities and distances between vectors, and the cosine embedding loss built on them.

Norms are taken with a zero-safe square root: a zero vector has norm 0 and passes a gradient of 0 through
its norm (as PyTorch's norm does), never NaN.
"""
import numpy as np

import microgradnp as mg
from microgradnp.autograd.graph import array_of, capture_state, replayable

from . import loss_checks
from .derived import floor_straight_through, mask
from .loss_checks import check_reduction, floating_input
from .regression_loss import legacy_reduction


def _pair(x1, x2, name):
    """Both inputs as floating Tensors of one dtype, broadcast to one shape (or a ValueError naming both)."""
    x1, x2 = floating_input(x1, name), floating_input(x2, name)
    try:
        shape = np.broadcast_shapes(x1.shape, x2.shape)
    except ValueError:
        raise ValueError(f"{name}: x1 of shape {tuple(x1.shape)} and x2 of shape {tuple(x2.shape)} do not "
                         f"broadcast to one "
                         f"shape") from None
    dtype = np.result_type(x1.dtype, x2.dtype)
    x1, x2 = (x if x.dtype == dtype else x.to(dtype) for x in (x1, x2))
    if x1.shape != shape:
        x1 = mg.broadcast_to(x1, shape)
    if x2.shape != shape:
        x2 = mg.broadcast_to(x2, shape)
    return x1, x2


def _check_dim(dim, ndim, name, shapes):
    low, high = -max(ndim, 1), max(ndim, 1) - 1
    if not low <= dim <= high:
        raise IndexError(f"{name}: dim {dim} is out of range for inputs of shapes {' and '.join(map(str, shapes))} "
                         f"(expected a dim in [{low}, {high}])")


def _norm(x, dim, keepdim):
    """The Euclidean norm along ``dim``, whose gradient is 0 (not NaN) where the norm is 0."""
    squares = mg.sum(x * x, dim=dim, keepdim=keepdim)
    return _root_of_nonzero(squares, mg.sqrt)


def _root_of_nonzero(powers, root):
    """``root(powers)`` where ``powers`` > 0 and 0 elsewhere, with a gradient of 0 (not NaN) there.

    Eagerly the plain root when every value is positive. A compiled step always records the ``where`` form,
    with the mask recomputed at every replay: with every value positive it equals the plain root bit for bit,
    value and gradient (each ``where`` passes its input's values and gradient through unchanged).
    """
    if capture_state.active is not None:
        nonzero = mask(np.greater, powers, 0)
    else:
        nonzero = array_of(powers) > 0
        if nonzero.all():
            return root(powers)
    return mg.where(nonzero, root(mg.where(nonzero, powers, 1.0)), 0.0)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """x1 . x2 / (max(||x1||, eps) * max(||x2||, eps)) along ``dim``, with the inputs broadcast together.

    Each input is divided by its own norm before the dot product (as in PyTorch), so the result stays within
    [-1, 1].
    """
    name = "cosine_similarity"
    shapes = (np.shape(x1), np.shape(x2))
    x1, x2 = _pair(x1, x2, name)
    _check_dim(dim, x1.ndim, name, shapes)
    # PyTorch clamps the norms under no_grad: the gradient flows as if unclamped
    n1 = floor_straight_through(_norm(x1, dim, keepdim=True), eps)
    n2 = floor_straight_through(_norm(x2, dim, keepdim=True), eps)
    return mg.sum((x1 / n1) * (x2 / n2), dim=dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """The p-norm of x1 - x2 + eps along the last dimension (``eps`` keeps the norm of equal rows off 0).

    ``p`` may be any positive number, ``float('inf')`` (the largest difference), ``-inf`` (the smallest) or 0
    (the number of nonzero differences).
    """
    name = "pairwise_distance"
    x1, x2 = _pair(x1, x2, name)
    diff = x1 - x2 + eps
    if diff.ndim == 0:
        diff = mg.reshape(diff, (1,))
        keepdim = False
    if p == 2:
        return _norm(diff, -1, keepdim)
    size = mg.abs(diff)
    if p == float("inf"):
        return mg.amax(size, dim=-1, keepdim=keepdim)
    if p == float("-inf"):
        return mg.amin(size, dim=-1, keepdim=keepdim)
    if p == 0:
        if capture_state.active is not None:  # computed from the values by NumPy: recomputed at every replay
            return mg.from_numpy(replayable(_nonzero_counts, array_of(diff), keepdim))
        return mg.tensor(_nonzero_counts(array_of(diff), keepdim))
    if p < 0:
        raise ValueError(f"{name}: p must be positive, inf, -inf or 0, got {p}")
    if p == 1:
        return mg.sum(size, dim=-1, keepdim=keepdim)
    powers = mg.sum(size ** p, dim=-1, keepdim=keepdim)
    return _root_of_nonzero(powers, lambda t: t ** (1.0 / p))


def _nonzero_counts(diff, keepdim):
    """How many differences along the last dim are not 0 (the "0-norm"), in the differences' dtype."""
    return np.asarray((diff != 0).sum(axis=-1, keepdims=keepdim).astype(diff.dtype))


_EPSILON = 1e-12  # PyTorch's: added to each squared norm, so that a zero vector gives a finite cosine


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """1 - cos(input1, input2) where target is 1, max(0, cos - margin) where it is -1 (cosine along the last dim).

    Inputs are (N, D) with a target of N values, or (D,) with a single target.
    """
    name = "cosine_embedding_loss"
    reduction = legacy_reduction(size_average, reduce, reduction, name)
    check_reduction(reduction, name)
    input1, input2 = floating_input(input1, name), floating_input(input2, name)
    if not isinstance(target, mg.Tensor):
        target = mg.tensor(np.asarray(target))
    if target.ndim > 1:
        raise ValueError(f"{name}: 0D or 1D target tensor expected, multi-target not supported (got a target of "
                         f"shape {tuple(target.shape)})")
    expected = target.ndim + 1
    if input1.ndim != expected or input2.ndim != expected:
        raise ValueError(f"{name}: a {target.ndim}D target expects {expected}D input tensors, but found inputs of "
                         f"shapes {tuple(input1.shape)} and {tuple(input2.shape)}")
    if input1.shape != input2.shape or input1.shape[:-1] != target.shape:
        raise ValueError(f"{name}: inputs of shapes {tuple(input1.shape)} and {tuple(input2.shape)} and a "
                         f"target of shape "
                         f"{tuple(target.shape)} do not match (give (N, D), (N, D) and (N,))")
    dim = target.ndim
    products = mg.sum(input1 * input2, dim=dim)
    squares1 = mg.sum(input1 * input1, dim=dim) + _EPSILON
    squares2 = mg.sum(input2 * input2, dim=dim) + _EPSILON
    cos = products / mg.sqrt(squares1 * squares2)
    loss = (mg.where(mask(np.equal, target, 1), 1 - cos, 0.0)
            + mg.where(mask(np.equal, target, -1), mg.clamp(cos - margin, min=0.0), 0.0))
    return loss_checks.reduce(loss, reduction)
