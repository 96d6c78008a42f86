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
