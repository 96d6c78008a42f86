"""Regression losses: mean squared error, mean absolute error, Huber."""
import microgradnp as mg

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
    return reduce(mg.where(size < delta, 0.5 * diff * diff, delta * (size - 0.5 * delta)), reduction)
