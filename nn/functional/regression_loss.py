"""Regression losses: mean squared and absolute error, Huber, smooth L1, Gaussian and Poisson likelihoods."""
import math
import warnings

import numpy as np

import microgradnp as mg
from microgradnp.autograd.graph import array_of, replayable

from . import loss_checks
from .derived import floor_straight_through, mask
from .loss_checks import check_reduction, floating_input, matching_target, reduce, warn_if_relu_output


def _prepare(input, target, reduction, loss):
    check_reduction(reduction, loss)
    input = floating_input(input, loss)
    warn_if_relu_output(input, loss)
    return input, matching_target(input, target, loss)


def mse_loss(input, target, reduction="mean"):
    """(input - target) ** 2, reduced."""
    input, target = _prepare(input, target, reduction, "mse_loss")
    diff = input - target
    return reduce(diff * diff, reduction)


def l1_loss(input, target, reduction="mean"):
    """|input - target|, reduced (the gradient at 0 is 0, as in PyTorch)."""
    input, target = _prepare(input, target, reduction, "l1_loss")
    return reduce(mg.abs(input - target), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """0.5 * d**2 where |d| < delta, else delta * (|d| - 0.5 * delta), with d = input - target."""
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    input, target = _prepare(input, target, reduction, "huber_loss")
    diff = input - target
    size = mg.abs(diff)
    return reduce(mg.where(mask(np.less, size, delta), 0.5 * diff * diff, delta * (size - 0.5 * delta)), reduction)


def legacy_reduction(size_average, reduce, reduction, loss):
    """The reduction named by PyTorch's deprecated ``size_average`` and ``reduce`` flags (when either is given).

    Warns as PyTorch does; with neither given, ``reduction`` is returned unchanged.
    """
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = ("mean" if size_average else "sum") if reduce else "none"
    warnings.warn(f"{loss}: size_average and reduce args will be deprecated, please use reduction='{reduction}' "
                  f"instead.", UserWarning, stacklevel=3)
    return reduction


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 * d**2 / beta where |d| < beta, else |d| - 0.5 * beta, with d = input - target (L1 when beta is 0).

    Huber loss divided by ``beta``: the quadratic part has slope 1 where it meets the linear part.
    """
    reduction = legacy_reduction(size_average, reduce, reduction, "smooth_l1_loss")
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must not be negative, got {beta}")
    input, target = _prepare(input, target, reduction, "smooth_l1_loss")
    diff = input - target
    size = mg.abs(diff)
    if beta == 0:
        return loss_checks.reduce(size, reduction)
    quadratic = mask(np.less, size, beta)
    return loss_checks.reduce(mg.where(quadratic, (0.5 / beta) * diff * diff, size - 0.5 * beta), reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Negative log-likelihood of ``target`` under Gaussians of mean ``input`` and variance ``var``:
    0.5 * (log(var) + (input - target)**2 / var), plus 0.5 * log(2 pi) when ``full``.

    ``var`` has the input's shape, or one dimension fewer or of size 1 (one variance shared along it), or is a
    float. Variances below ``eps`` count as ``eps`` in the loss, while their gradient flows as if unclamped
    (as in PyTorch). A negative variance raises a ValueError, inside a compiled step at every replay too.
    """
    loss_name = "gaussian_nll_loss"
    input, target = _prepare(input, target, reduction, loss_name)
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        if var < 0:
            raise ValueError(f"{loss_name}: var has negative entry/entries (got {var})")
        var = mg.full_like(input, var)
    else:
        var = var if isinstance(var, mg.Tensor) else mg.tensor(np.asarray(var))
        var = var.to(input.dtype) if var.dtype != input.dtype else var
        replayable(_check_variances, array_of(var), loss_name)
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:  # one variance per sample, shared along the last dim
            var = mg.unsqueeze(var, -1)
        elif not (var.ndim == input.ndim
                  and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1):
            raise ValueError(f"{loss_name}: var is of incorrect size: shape {tuple(var.shape)} for an input of shape "
                             f"{tuple(input.shape)} (give the input's shape, that shape without its last dim, "
                             f"or size 1 "
                             f"in one dim)")
    var = floor_straight_through(var, eps)  # the value clamped at eps, the gradient that of var itself
    diff = input - target
    loss = 0.5 * (mg.log(var) + diff * diff / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduce(loss, reduction)


def _check_variances(var, loss_name):
    """Raise unless every variance is >= 0: a compiled step runs this at every replay, on each call's ``var``."""
    if (var < 0).any():
        raise ValueError(f"{loss_name}: var has negative entry/entries")


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    """Negative log-likelihood of counts ``target`` under Poisson rates given by ``input``.

    exp(input) - target * input when ``log_input`` (input is the log of the rate), else
    input - target * log(input + eps). ``full`` adds Stirling's approximation of log(target!) where target > 1.
    """
    reduction = legacy_reduction(size_average, reduce, reduction, "poisson_nll_loss")
    input, target = _prepare(input, target, reduction, "poisson_nll_loss")
    if log_input:
        loss = mg.exp(input) - target * input
    else:
        loss = input - target * mg.log(input + eps)
    if full:
        big = mask(np.greater, target, 1)
        safe = mg.where(big, target, 2.0)  # the term is 0 where target <= 1: keep log away from 0 there
        stirling = safe * mg.log(safe) - safe + 0.5 * mg.log(2 * math.pi * safe)
        loss = loss + mg.where(big, stirling, 0.0)
    return loss_checks.reduce(loss, reduction)
