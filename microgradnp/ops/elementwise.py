"""Elementwise functions of one tensor."""
import math

import numpy as np

from ..autograd.primitive import primitive
from .constant_arrays import ONE, ZERO, zeros_view

exp = primitive("exp", np.exp, "e ** x.",
                vjp=lambda xp, g, ans, x: g * ans,
                reads=("ans",), elementwise=True, public=True, method=True, numpy=np.exp)

log = primitive("log", np.log, "Natural logarithm.",
                vjp=lambda xp, g, ans, x: g / x,
                elementwise=True, public=True, method=True, numpy=np.log)

log1p = primitive("log1p", np.log1p, "log(1 + x), accurate for small x.",
                  vjp=lambda xp, g, ans, x: g / (x + 1.0),
                  elementwise=True, public=True, method=True, numpy=np.log1p)

sqrt = primitive("sqrt", np.sqrt, "Square root.",
                 vjp=lambda xp, g, ans, x: g * 0.5 / ans,
                 reads=("ans",), elementwise=True, public=True, method=True, numpy=np.sqrt)

sin = primitive("sin", np.sin, "Sine.",
                vjp=lambda xp, g, ans, x: g * xp.cos(x),
                elementwise=True, public=True, method=True, numpy=np.sin)

cos = primitive("cos", np.cos, "Cosine.",
                vjp=lambda xp, g, ans, x: -g * xp.sin(x),
                elementwise=True, public=True, method=True, numpy=np.cos)

tan = primitive("tan", np.tan, "Tangent.",
                vjp=lambda xp, g, ans, x: g * (1 + ans * ans),
                reads=("ans",), elementwise=True, public=True, method=True, numpy=np.tan)

# ONE[dtype] is 1 as a 0-d array of that dtype: see constant_arrays
tanh = primitive("tanh", np.tanh, "Hyperbolic tangent.",
                 vjp=lambda xp, g, ans, x: g * (ONE[ans.dtype] - ans * ans),
                 reads=("ans",), elementwise=True, public=True, method=True, numpy=np.tanh)

abs = primitive("abs", np.abs, "Absolute value; the gradient at 0 is 0, as in PyTorch.",
                vjp=lambda xp, g, ans, x: g * xp.sign(x),
                elementwise=True, public=True, aliases=("absolute",), method=True, numpy=(np.absolute, np.fabs))


def _sigmoid(x):
    """1 / (1 + e ** -x), computed without overflow for any x."""
    # exp(-logaddexp(0, -x)) never overflows: logaddexp is exact for large |x|
    negated = np.negative(x)  # an array or a NumPy scalar: it has a dtype for ZERO (see constant_arrays)
    return np.exp(-np.logaddexp(ZERO[negated.dtype], negated))


sigmoid = primitive("sigmoid", _sigmoid,
                    vjp=lambda xp, g, ans, x: g * ans * (ONE[ans.dtype] - ans),
                    reads=("ans",), elementwise=True, public=True, method=True)


_VECTOR_MIN = 1024  # elements from which comparing against a view of zeros beats the scalar 0


def _relu(x):
    """max(x, 0); the gradient at 0 is 0, as in PyTorch."""
    # NumPy's maximum against a scalar is not vectorised: against an array of zeros laid out like x it
    # is several times faster (laid out otherwise, slower), once the array is large enough to pay for
    # the view. x comes first either way, so a NaN stays NaN and -0.0 becomes 0.0 in both.
    if type(x) is np.ndarray and x.dtype.kind == "f":
        if x.size >= _VECTOR_MIN:
            if x.flags.c_contiguous:
                return np.maximum(x, zeros_view(x.shape, x.dtype))
            if x.flags.f_contiguous:
                return np.maximum(x, zeros_view(x.shape[::-1], x.dtype).T)
        return np.maximum(x, ZERO[x.dtype])
    return np.maximum(x, 0)


# the mask is read from the output (out > 0 exactly where x > 0): the input can be freed after the
# forward pass, and the output is still in cache when the backward pass reaches the ReLU, because the
# next layer's weight gradient has just read it
relu = primitive("relu", _relu,
                 vjp=lambda xp, g, ans, x: g * (ans > ZERO[ans.dtype]),
                 reads=("ans",), elementwise=True, public=True, method=True)


def _clip(x, min=None, max=None):
    """Clamp into [min, max]; the gradient passes where x is inside the range."""
    return np.clip(x, min, max)


def _inside(x, low, high):
    if low is None:
        return x <= high
    if high is None:
        return x >= low
    return (x >= low) & (x <= high)


clip = primitive("clip", _clip,
                 vjp=lambda xp, g, ans, x, min=None, max=None: g * _inside(x, min, max))

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


def _erf(x):
    """The error function (exact to double precision; used by the exact GELU)."""
    # np.asarray: on a 0-d input frompyfunc returns a bare Python float, which has no astype
    dtype = x.dtype if np.issubdtype(np.asarray(x).dtype, np.floating) else np.float64
    return np.asarray(_erf_function()(x)).astype(dtype)


erf = primitive("erf", _erf,
                vjp=lambda xp, g, ans, x: g * (2.0 / math.sqrt(math.pi)) * xp.exp(-(x * x)),
                elementwise=True, public=True, method=True)


# ---- logarithms and powers of 2 and 10, hyperbolic and inverse trigonometric functions -------------------
# Each is a primitive rather than a composite of exp and log: NumPy's own function is exact to the last
# digit where a composite loses digits (sinh(x) = (e**x - e**-x) / 2 cancels for small x).

_LN2, _LN10 = math.log(2.0), math.log(10.0)

log2 = primitive("log2", np.log2, "Base-2 logarithm.",
                 vjp=lambda xp, g, ans, x: g / (x * _LN2),
                 elementwise=True, public=True, method=True)

log10 = primitive("log10", np.log10, "Base-10 logarithm.",
                  vjp=lambda xp, g, ans, x: g / (x * _LN10),
                  elementwise=True, public=True, method=True)

exp2 = primitive("exp2", np.exp2, "2 ** x.",
                 vjp=lambda xp, g, ans, x: g * ans * _LN2,
                 reads=("ans",), elementwise=True, public=True, method=True, numpy=np.exp2)

sinh = primitive("sinh", np.sinh, "Hyperbolic sine.",
                 vjp=lambda xp, g, ans, x: g * xp.cosh(x),
                 elementwise=True, public=True, method=True, numpy=np.sinh)

cosh = primitive("cosh", np.cosh, "Hyperbolic cosine.",
                 vjp=lambda xp, g, ans, x: g * xp.sinh(x),
                 elementwise=True, public=True, method=True, numpy=np.cosh)

asinh = primitive("asinh", np.arcsinh, "Inverse hyperbolic sine.",
                  vjp=lambda xp, g, ans, x: g / xp.sqrt(x * x + ONE[x.dtype]),
                  elementwise=True, public=True, aliases=("arcsinh",), method=True, numpy=np.arcsinh)

acosh = primitive("acosh", np.arccosh, "Inverse hyperbolic cosine (NaN below 1).",
                  vjp=lambda xp, g, ans, x: g / xp.sqrt(x * x - ONE[x.dtype]),
                  elementwise=True, public=True, aliases=("arccosh",), method=True, numpy=np.arccosh)

atanh = primitive("atanh", np.arctanh, "Inverse hyperbolic tangent (NaN outside [-1, 1]).",
                  vjp=lambda xp, g, ans, x: g / (ONE[x.dtype] - x * x),
                  elementwise=True, public=True, aliases=("arctanh",), method=True, numpy=np.arctanh)

asin = primitive("asin", np.arcsin, "Inverse sine (NaN outside [-1, 1]).",
                 vjp=lambda xp, g, ans, x: g / xp.sqrt(ONE[x.dtype] - x * x),
                 elementwise=True, public=True, aliases=("arcsin",), method=True, numpy=np.arcsin)

acos = primitive("acos", np.arccos, "Inverse cosine (NaN outside [-1, 1]).",
                 vjp=lambda xp, g, ans, x: -g / xp.sqrt(ONE[x.dtype] - x * x),
                 elementwise=True, public=True, aliases=("arccos",), method=True, numpy=np.arccos)

atan = primitive("atan", np.arctan, "Inverse tangent.",
                 vjp=lambda xp, g, ans, x: g / (x * x + ONE[x.dtype]),
                 elementwise=True, public=True, aliases=("arctan",), method=True, numpy=np.arctan)


def _atan2_scale(xp, input, other):
    return input * input + other * other


# atan2(input, other) is the angle of the point (other, input): d/d input = other / r², d/d other = -input / r²
atan2 = primitive("atan2", np.arctan2, "Angle of the point (other, input), elementwise: atan(input / other) in the "
                  "right quadrant.",
                  vjp=(lambda xp, g, ans, input, other: g * other / _atan2_scale(xp, input, other),
                       lambda xp, g, ans, input, other: -g * input / _atan2_scale(xp, input, other)),
                  elementwise=True, public=True, aliases=("arctan2",), method=True, numpy=np.arctan2)

hypot = primitive("hypot", np.hypot, "sqrt(input ** 2 + other ** 2), elementwise, without overflow.",
                  vjp=(lambda xp, g, ans, input, other: g * input / ans,
                       lambda xp, g, ans, input, other: g * other / ans),
                  reads={"input": ("ans", "input"), "other": ("ans", "other")},
                  elementwise=True, public=True, method=True, numpy=np.hypot)


# ---- rounding: flat almost everywhere, so the gradient is 0, as in PyTorch ----------------------------------
# (np.floor, np.ceil and np.trunc on a tensor keep numpy_dispatch's rule: a result without gradient; and
# np.log2, np.log10 its composites, which have the same values and gradients)

def _zero_vjp(xp, g, ans, x, *options, **kwargs):
    # zeros, not g * 0: an infinite gradient times 0 would be NaN where PyTorch gives 0
    return xp.broadcast_to(ZERO[g.dtype], shape=g.shape)


def _rounding(function):
    def rounded(x):
        # an integer tensor is already whole: PyTorch returns it in its own dtype (NumPy would make floats)
        array = np.asarray(x)
        return function(x) if array.dtype.kind in "fc" else array.copy()
    rounded.__name__ = function.__name__
    return rounded


floor = primitive("floor", _rounding(np.floor), "The largest whole number <= x (gradient 0).",
                  vjp=_zero_vjp, reads=(), elementwise=True, public=True, method=True)

ceil = primitive("ceil", _rounding(np.ceil), "The smallest whole number >= x (gradient 0).",
                 vjp=_zero_vjp, reads=(), elementwise=True, public=True, method=True)

trunc = primitive("trunc", _rounding(np.trunc), "x rounded toward 0 (gradient 0).",
                  vjp=_zero_vjp, reads=(), elementwise=True, public=True, aliases=("fix",), method=True)


def _round(x, decimals=0):
    """x rounded to ``decimals`` decimal places, halves to even (gradient 0)."""
    array = np.asarray(x)
    if array.dtype.kind not in "fc":
        if decimals:
            raise TypeError(f"round: decimals={decimals} needs a floating tensor, got dtype {array.dtype}")
        return array.copy()
    return np.round(x, decimals)


round = primitive("round", _round, vjp=_zero_vjp, reads=(), public=True, method=True)
