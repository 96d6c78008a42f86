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


def _log_where_positive(xp, a):
    # d(a**b)/db = a**b * log(a) is only real for a > 0; elsewhere the gradient is taken as 0
    return xp.log(xp.where(a > 0, a, 1))


pow = primitive("pow", np.power, "a ** b.",
                vjp=(lambda xp, g, ans, a, b: g * b * a ** (b - 1),
                     lambda xp, g, ans, a, b: g * ans * _log_where_positive(xp, a)),
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
