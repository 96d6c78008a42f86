"""Broadcasting binary arithmetic. The engine reduces each gradient back to its input's shape."""
import numpy as np

from ..autograd.graph import primitive


@primitive("add", reads_inputs=False)
def add(a, b):
    """a + b."""
    return np.add(a, b)


add.defvjp(lambda F, g, ans, a, b: g,
           lambda F, g, ans, a, b: g)


@primitive("sub", reads_inputs=False)
def sub(a, b):
    """a - b."""
    return np.subtract(a, b)


sub.defvjp(lambda F, g, ans, a, b: g,
           lambda F, g, ans, a, b: -g)


@primitive("mul")
def mul(a, b):
    """a * b."""
    return np.multiply(a, b)


mul.defvjp(lambda F, g, ans, a, b: g * b,
           lambda F, g, ans, a, b: g * a)


@primitive("div", saves_out=True)
def div(a, b):
    """a / b (true division)."""
    return np.true_divide(a, b)


div.defvjp(lambda F, g, ans, a, b: g / b,
           lambda F, g, ans, a, b: -g * ans / b)


@primitive("pow", saves_out=True)
def pow(a, b):  # noqa: A001 - the op's name
    """a ** b."""
    return np.power(a, b)


def _log_where_positive(F, a):
    # d(a**b)/db = a**b * log(a) is only real for a > 0; elsewhere the gradient is taken as 0
    return F.log(F.where(a > 0, a, 1))


pow.defvjp(lambda F, g, ans, a, b: g * b * a ** (b - 1),
           lambda F, g, ans, a, b: g * ans * _log_where_positive(F, a))


@primitive("neg", reads_inputs=False)
def neg(a):
    """-a."""
    return np.negative(a)


neg.defvjp(lambda F, g, ans, a: -g)


def _tie_share(F, a, b):
    # where a == b the gradient is split evenly, so the two shares sum to the upstream gradient
    return (a > b) + (a == b) * 0.5


@primitive("maximum")
def maximum(a, b):
    """Elementwise maximum; ties split the gradient half and half."""
    return np.maximum(a, b)


maximum.defvjp(lambda F, g, ans, a, b: g * _tie_share(F, a, b),
               lambda F, g, ans, a, b: g * _tie_share(F, b, a))


@primitive("minimum")
def minimum(a, b):
    """Elementwise minimum; ties split the gradient half and half."""
    return np.minimum(a, b)


minimum.defvjp(lambda F, g, ans, a, b: g * _tie_share(F, b, a),
               lambda F, g, ans, a, b: g * _tie_share(F, a, b))


@primitive("where")
def where(condition, a, b):
    """``a`` where ``condition`` holds, else ``b``."""
    return np.where(condition, a, b)


where.defvjp(None,
             lambda F, g, ans, c, a, b: F.where(c, g, 0),
             lambda F, g, ans, c, a, b: F.where(c, 0, g))
