"""Activation functions, each written as its forward pass only: the engine derives every gradient."""
import math
import warnings

import numpy as np

import microgradnp as mg


def relu(input, inplace=False):
    """max(input, 0). ``inplace`` is accepted for PyTorch compatibility; the result is always a new tensor."""
    return mg.relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """``input`` where positive, ``negative_slope * input`` elsewhere (the slope is kept elementwise)."""
    # a piecewise-linear function is input times a piecewise-constant slope: one recorded op, and the
    # slope array is a constant, so the derived gradient is exactly 1 or negative_slope elementwise
    data = input.numpy()
    slopes = np.where(data > 0, 1.0, negative_slope)
    if slopes.dtype != data.dtype:  # float32 data: keep the product in float32
        slopes = slopes.astype(data.dtype)
    return input * slopes


def sigmoid(input):
    """1 / (1 + exp(-input)), without overflow for any input."""
    return mg.sigmoid(input)


def tanh(input):
    """Hyperbolic tangent."""
    return mg.tanh(input)


_SQRT_HALF = 1.0 / math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu(input, approximate="none"):
    """x * Phi(x) with Phi the standard normal CDF (exact, via erf), or its tanh approximation."""
    if approximate == "none":
        return 0.5 * input * (1.0 + mg.erf(input * _SQRT_HALF))
    if approximate == "tanh":
        return 0.5 * input * (1.0 + mg.tanh(_SQRT_2_OVER_PI * (input + 0.044715 * input * input * input)))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def elu(input, alpha=1.0, inplace=False):
    """``input`` where positive, ``alpha * (exp(input) - 1)`` elsewhere."""
    # exp only sees non-positive values, so large positive inputs cannot overflow in the unused branch
    negative_part = mg.where(input > 0, 0.0, input)
    return mg.where(input > 0, input, alpha * (mg.exp(negative_part) - 1.0))


def _softmax_dim(name, ndim):
    # PyTorch's legacy rule for a missing dim, with its warning
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
                  f"as an argument.", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None):
    """exp(input) normalised to sum to 1 along ``dim`` (stable for any magnitude)."""
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim)
    return mg.softmax(input, dim=dim)


def log_softmax(input, dim=None):
    """log(softmax(input)) along ``dim``, computed as input - logsumexp(input) (no overflow, no log(0))."""
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim)
    return mg.log_softmax(input, dim=dim)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold (as PyTorch)."""
    scaled = input * beta
    smooth = (mg.log1p(mg.exp(-mg.abs(scaled))) + mg.maximum(scaled, 0.0)) / beta
    return mg.where(scaled > threshold, input, smooth)
