"""Elementwise functions of one tensor."""
import math

import numpy as np

from ..autograd.graph import defprimitive, primitive
from .constant_arrays import ONE, ZERO, zeros_view

exp = defprimitive("exp", np.exp, "e ** x.", saves_out=True, reads_inputs=False, elementwise=True)
exp.defvjp(lambda F, g, ans, x: g * ans)


log = defprimitive("log", np.log, "Natural logarithm.", elementwise=True)
log.defvjp(lambda F, g, ans, x: g / x)


log1p = defprimitive("log1p", np.log1p, "log(1 + x), accurate for small x.", elementwise=True)
log1p.defvjp(lambda F, g, ans, x: g / (x + 1.0))


sqrt = defprimitive("sqrt", np.sqrt, "Square root.", saves_out=True, reads_inputs=False, elementwise=True)
sqrt.defvjp(lambda F, g, ans, x: g * 0.5 / ans)


sin = defprimitive("sin", np.sin, "Sine.", elementwise=True)
sin.defvjp(lambda F, g, ans, x: g * F.cos(x))


cos = defprimitive("cos", np.cos, "Cosine.", elementwise=True)
cos.defvjp(lambda F, g, ans, x: -g * F.sin(x))


tanh = defprimitive("tanh", np.tanh, "Hyperbolic tangent.", saves_out=True, reads_inputs=False, elementwise=True)
tanh.defvjp(lambda F, g, ans, x: g * (ONE[ans.dtype] - ans * ans))  # ONE: see constant_arrays


abs = defprimitive("abs", np.abs, "Absolute value; the gradient at 0 is 0, as in PyTorch.", elementwise=True)
abs.defvjp(lambda F, g, ans, x: g * F.sign(x))


@primitive("sigmoid", saves_out=True, reads_inputs=False, elementwise=True)
def sigmoid(x):
    """Logistic sigmoid 1 / (1 + e**-x), computed without overflow for any x."""
    # exp(-logaddexp(0, -x)) never overflows: logaddexp is exact for large |x|
    negated = np.negative(x)  # an array or a NumPy scalar: it has a dtype for ZERO (see constant_arrays)
    return np.exp(-np.logaddexp(ZERO[negated.dtype], negated))


sigmoid.defvjp(lambda F, g, ans, x: g * ans * (ONE[ans.dtype] - ans))


_VECTOR_MIN = 1024  # elements from which a view of zeros, made in about 0.4 us, beats the scalar 0


# the mask is read from the output (out > 0 exactly where x > 0): the input can be freed after the
# forward pass, and the output is still in cache when the backward pass reaches the ReLU, because the
# next layer's weight gradient has just read it
@primitive("relu", saves_out=True, reads_inputs=False, elementwise=True)
def relu(x):
    """max(x, 0); the gradient is a mask multiply, 0 at x == 0 as in PyTorch."""
    # NumPy's maximum against a scalar is not vectorised: against an array of zeros laid out like x it
    # is three times faster (laid out otherwise, twice slower). x comes first either way, so a NaN stays
    # NaN and -0.0 becomes 0.0 in both.
    if type(x) is np.ndarray and x.dtype.kind == "f":
        if x.size >= _VECTOR_MIN:
            if x.flags.c_contiguous:
                return np.maximum(x, zeros_view(x.shape, x.dtype))
            if x.flags.f_contiguous:
                return np.maximum(x, zeros_view(x.shape[::-1], x.dtype).T)
        return np.maximum(x, ZERO[x.dtype])
    return np.maximum(x, 0)


relu.defvjp(lambda F, g, ans, x: g * (ans > ZERO[ans.dtype]))


@primitive("clip")
def clip(x, min=None, max=None):  # noqa: A002 - PyTorch's argument names
    """Clamp into [min, max]; the gradient passes where x is inside the range."""
    return np.clip(x, min, max)


def _inside(x, low, high):
    if low is None:
        return x <= high
    if high is None:
        return x >= low
    return (x >= low) & (x <= high)


clip.defvjp(lambda F, g, ans, x, min=None, max=None: g * _inside(x, min, max))

_erf_impl = None


def _erf_function():
    # SciPy's vectorised erf when installed, else the C library's element by element; looked up on first
    # use so that importing microgradnp never pays for importing SciPy
    global _erf_impl
    if _erf_impl is None:
        try:
            from scipy.special import erf as _erf_impl
        except ImportError:
            _erf_impl = np.frompyfunc(math.erf, 1, 1)
    return _erf_impl


@primitive("erf", elementwise=True)
def erf(x):
    """The error function (exact to double precision; used by the exact GELU)."""
    # np.asarray: on a 0-d input frompyfunc returns a bare Python float, which has no astype
    return np.asarray(_erf_function()(x)).astype(x.dtype if np.issubdtype(np.asarray(x).dtype, np.floating) else np.float64)


erf.defvjp(lambda F, g, ans, x: g * (2.0 / math.sqrt(math.pi)) * F.exp(-(x * x)))
