"""Broadcasting binary arithmetic. The engine reduces each gradient back to its input's shape."""
import numpy as np

from ..autograd.primitive import primitive

add = primitive("add", np.add, "a + b.",
                vjp=(lambda xp, g, ans, a, b: g,
                     lambda xp, g, ans, a, b: g),
                reads=(), elementwise=True, public=True, method=True, numpy=np.add)

sub = primitive("sub", np.subtract, "a - b.",
                vjp=(lambda xp, g, ans, a, b: g,
                     lambda xp, g, ans, a, b: -g),
                reads=(), elementwise=True, public=True, aliases=("subtract",), method=True, numpy=np.subtract)

# each factor's gradient reads only the other factor: x * 2 need not keep x (nor check its version)
mul = primitive("mul", np.multiply, "a * b.",
                vjp=(lambda xp, g, ans, a, b: g * b,
                     lambda xp, g, ans, a, b: g * a),
                reads={"a": ("b",), "b": ("a",)}, elementwise=True, public=True, aliases=("multiply",),
                method=True, numpy=np.multiply)

div = primitive("div", np.true_divide, "a / b (true division).",
                vjp=(lambda xp, g, ans, a, b: g / b,
                     lambda xp, g, ans, a, b: -g * ans / b),
                reads={"a": ("b",), "b": ("b", "ans")}, elementwise=True, public=True,
                aliases=("divide", "true_divide"), method=True, numpy=(np.true_divide, np.divide))


def _pow_vjp_base(xp, g, ans, a, b):
    # d(a**b)/da = b * a**(b - 1), taken as 0 where b == 0, as PyTorch does: a**b is then constant, but
    # at a = 0 the formula's a**-1 is inf, and 0 * inf NaN
    if type(b) in (int, float):  # a ** 2, the usual call: a Python number
        return g * b * a ** (b - 1) if b != 0 else xp.where(True, 0, g)
    zero = b == 0
    # where b == 0 the exponent is swapped for 1, so that a**-1 is never computed there
    return xp.where(zero, 0, g * b * a ** xp.where(zero, 1, b - 1))


def _pow_vjp_exponent(xp, g, ans, a, b):
    # d(a**b)/db = a**b * log(a) is only real for a > 0; elsewhere the gradient is taken as 0 (both
    # factors are masked: at a = 0 with b < 0, a**b is inf, and inf * log(1) NaN)
    positive = a > 0
    return g * xp.where(positive, ans, 0) * xp.log(xp.where(positive, a, 1))


pow = primitive("pow", np.power, "a ** b.",
                vjp=(_pow_vjp_base, _pow_vjp_exponent),
                reads=("a", "b", "ans"), public=True, method=True, numpy=np.power)

neg = primitive("neg", np.negative, "-a.",
                vjp=lambda xp, g, ans, a: -g,
                reads=(), elementwise=True, public=True, aliases=("negative",), method=True, numpy=np.negative)


def _tie_share(a, b):
    # where a == b the gradient is split evenly, so the two shares sum to the upstream gradient
    return (a > b) + (a == b) * 0.5


maximum = primitive("maximum", np.maximum, "Elementwise maximum; ties split the gradient half and half.",
                    vjp=(lambda xp, g, ans, a, b: g * _tie_share(a, b),
                         lambda xp, g, ans, a, b: g * _tie_share(b, a)),
                    public=True, method=True, numpy=np.maximum)

minimum = primitive("minimum", np.minimum, "Elementwise minimum; ties split the gradient half and half.",
                    vjp=(lambda xp, g, ans, a, b: g * _tie_share(b, a),
                         lambda xp, g, ans, a, b: g * _tie_share(a, b)),
                    public=True, method=True, numpy=np.minimum)

# each branch's gradient reads only the condition: a branch may change in place after the op
where = primitive("where", np.where, "``a`` where ``condition`` holds, else ``b``.",
                  vjp=(None,
                       lambda xp, g, ans, condition, a, b: xp.where(condition, g, 0),
                       lambda xp, g, ans, condition, a, b: xp.where(condition, 0, g)),
                  reads={"condition": (), "a": ("condition",), "b": ("condition",)})


def _integer_divisor_check(name, a, b):
    # NumPy gives 0 for an integer division by zero (with a warning); PyTorch raises, and so do these
    if np.result_type(a, b).kind in "iub" and not np.all(b):
        raise RuntimeError(f"{name}: integer division by zero (ZeroDivisionError): the divisor holds a 0")


def floor_quotient(a, b):
    """floor(a / b) on arrays or numbers, as Python's //; an integer division by zero raises, as in PyTorch.

    Not a primitive: its derivative is zero wherever it exists, and PyTorch records none (see
    ``functions.floor_divide``).
    """
    _integer_divisor_check("floor_divide", a, b)
    with np.errstate(divide="ignore", invalid="ignore"):  # x // 0.0 is inf or NaN, silently as in PyTorch
        return np.floor_divide(a, b)


def _remainder(a, b):
    """a - b * floor(a / b): the sign of the divisor, as Python's %."""
    _integer_divisor_check("remainder", a, b)
    with np.errstate(invalid="ignore"):  # x % 0.0 is NaN, silently as in PyTorch
        return np.remainder(a, b)


def _fmod(a, b):
    """a - b * trunc(a / b): the sign of the dividend, as C's fmod."""
    _integer_divisor_check("fmod", a, b)
    with np.errstate(invalid="ignore"):
        return np.fmod(a, b)


def _constant(x):
    # the quotient in these gradients is flat almost everywhere: it is computed on the values, off the
    # graph, also when a second-order pass records the VJP with tensors
    return np.asarray(x)


# d/da = 1 and d/db = -floor(a / b) (remainder) or -trunc(a / b) (fmod), PyTorch's formulas; both jump
# where a / b crosses a whole number, where the result is discontinuous
remainder = primitive("remainder", _remainder,
                      "Python's modulus a % b: a - b * floor(a / b), with the sign of the divisor.",
                      vjp=(lambda xp, g, ans, a, b: g,
                           lambda xp, g, ans, a, b: -g * np.floor_divide(_constant(a), _constant(b))),
                      reads={"a": (), "b": ("a", "b")}, public=True, method=True,
                      numpy=np.remainder)

fmod = primitive("fmod", _fmod, "C's remainder: a - b * trunc(a / b), with the sign of the dividend.",
                 vjp=(lambda xp, g, ans, a, b: g,
                      lambda xp, g, ans, a, b: -g * np.trunc(_constant(a) / _constant(b))),
                 reads={"a": (), "b": ("a", "b")}, public=True, method=True, numpy=np.fmod)
