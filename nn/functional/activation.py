"""Activation functions, each written as its forward pass only: the engine derives every gradient."""
import math
import warnings

import numpy as np

import microgradnp as mg
from microgradnp.autograd.graph import array_of, capture_state, replayable

from .derived import mask


def relu(input, inplace=False):
    """max(input, 0). ``inplace`` is accepted for PyTorch compatibility; the result is always a new tensor."""
    return mg.relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """``input`` where positive, ``negative_slope * input`` elsewhere (the slope is kept elementwise)."""
    # a piecewise-linear function is input times a piecewise-constant slope: one recorded op, and the
    # slope array is a constant, so the derived gradient is exactly 1 or negative_slope elementwise
    data = array_of(input)  # (not .numpy(): a compiled step refuses value reads during capture)
    if capture_state.active is not None:  # computed outside any op: a compiled step replays it as a step of its own
        return input * replayable(_slopes, data, negative_slope)
    slopes = np.where(data > 0, 1.0, negative_slope)
    if slopes.dtype != data.dtype:  # float32 data: keep the product in float32
        slopes = slopes.astype(data.dtype)
    return input * slopes


def _slopes(data, negative_slope):
    # (leaky_relu's lines, as one function for a compiled step's replay)
    slopes = np.where(data > 0, 1.0, negative_slope)
    if slopes.dtype != data.dtype:  # float32 data: keep the product in float32
        slopes = slopes.astype(data.dtype)
    return slopes


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
    positive = mask(np.greater, input, 0)
    negative_part = mg.where(positive, 0.0, input)
    return mg.where(positive, input, alpha * (mg.exp(negative_part) - 1.0))


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
    return mg.where(mask(np.greater, scaled, threshold), input, smooth)


def silu(input, inplace=False):
    """x * sigmoid(x) (also called swish)."""
    return input * mg.sigmoid(input)


def mish(input, inplace=False):
    """x * tanh(softplus(x))."""
    return input * mg.tanh(softplus(input))


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """``input`` clipped to [min_val, max_val]; the gradient is 0 at and beyond the bounds, as in PyTorch."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val, got min_val={min_val}, "
                         f"max_val={max_val}")
    # where, not clamp: clamp passes the gradient at the bounds themselves, hardtanh does not
    return mg.where(mask(np.less_equal, input, min_val), min_val,
                    mg.where(mask(np.greater_equal, input, max_val), max_val, input))


def relu6(input, inplace=False):
    """min(max(x, 0), 6)."""
    return hardtanh(input, 0.0, 6.0)


def prelu(input, weight):
    """``input`` where positive, ``weight * input`` elsewhere; ``weight`` has one slope, or one per channel
    (dimension 1 of the input)."""
    if weight.ndim != 1:
        raise RuntimeError(f"prelu: weight must be 1-D (one slope, or one per channel), got shape "
                           f"{tuple(weight.shape)}")
    n = weight.shape[0]
    if n != 1:
        channels = input.shape[1] if input.ndim >= 2 else 1
        if n != channels:
            raise RuntimeError(f"prelu: weight has {n} slopes but the input of shape {tuple(input.shape)} has "
                               f"{channels} channel(s) in dimension 1; give 1 slope or one per channel")
        weight = weight.reshape((n,) + (1,) * (input.ndim - 2))
    return mg.where(mask(np.greater, input, 0), input, weight * input)


def logsigmoid(input):
    """log(sigmoid(x)), computed as min(x, 0) - log1p(exp(-|x|)) (no overflow, no log(0))."""
    return mg.minimum(input, 0.0) - mg.log1p(mg.exp(-mg.abs(input)))


def softsign(input):
    """x / (1 + |x|)."""
    return input / (1 + mg.abs(input))


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6; the gradient is 1/6 strictly between -3 and 3, else 0 (as in PyTorch)."""
    return mg.where(mask(np.less_equal, input, -3.0), 0.0,
                    mg.where(mask(np.greater_equal, input, 3.0), 1.0, input / 6 + 0.5))


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6; the gradient is 0 at -3 and 1 at 3, as in PyTorch."""
    return mg.where(mask(np.less_equal, input, -3.0), 0.0,
                    mg.where(mask(np.greater_equal, input, 3.0), input, input * (input + 3) / 6))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace=False):
    """scale * elu(x, alpha) with PyTorch's constants (self-normalising networks)."""
    return _SELU_SCALE * elu(input, _SELU_ALPHA)


def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    if alpha == 0:
        raise ValueError("celu: alpha cannot be 0 (it divides the input)")
    positive = mask(np.greater, input, 0)
    negative_part = mg.where(positive, 0.0, input)  # exp only sees non-positive values: no overflow
    return mg.where(positive, input, alpha * (mg.exp(negative_part / alpha) - 1.0))
