"""Broadcasting binary arithmetic. The engine reduces each gradient back to its input's shape."""
import numpy as np

from ..autograd.graph import defprimitive

add = defprimitive("add", np.add, "a + b.", reads_inputs=False, elementwise=True)
add.defvjp(lambda F, g, ans, a, b: g,
           lambda F, g, ans, a, b: g)


sub = defprimitive("sub", np.subtract, "a - b.", reads_inputs=False, elementwise=True)
sub.defvjp(lambda F, g, ans, a, b: g,
           lambda F, g, ans, a, b: -g)


# each factor's gradient reads only the other factor: x * 2 need not keep x (nor check its version)
mul = defprimitive("mul", np.multiply, "a * b.", reads_inputs=((1,), (0,)), elementwise=True)
mul.defvjp(lambda F, g, ans, a, b: g * b,
           lambda F, g, ans, a, b: g * a)


div = defprimitive("div", np.true_divide, "a / b (true division).", saves_out=True, reads_inputs=((1,), (1,)),
                  elementwise=True)
div.defvjp(lambda F, g, ans, a, b: g / b,
           lambda F, g, ans, a, b: -g * ans / b)


pow = defprimitive("pow", np.power, "a ** b.", saves_out=True)


def _log_where_positive(F, a):
    # d(a**b)/db = a**b * log(a) is only real for a > 0; elsewhere the gradient is taken as 0
    return F.log(F.where(a > 0, a, 1))


pow.defvjp(lambda F, g, ans, a, b: g * b * a ** (b - 1),
           lambda F, g, ans, a, b: g * ans * _log_where_positive(F, a))


neg = defprimitive("neg", np.negative, "-a.", reads_inputs=False, elementwise=True)
neg.defvjp(lambda F, g, ans, a: -g)


def _tie_share(F, a, b):
    # where a == b the gradient is split evenly, so the two shares sum to the upstream gradient
    return (a > b) + (a == b) * 0.5


maximum = defprimitive("maximum", np.maximum, "Elementwise maximum; ties split the gradient half and half.")
maximum.defvjp(lambda F, g, ans, a, b: g * _tie_share(F, a, b),
               lambda F, g, ans, a, b: g * _tie_share(F, b, a))


minimum = defprimitive("minimum", np.minimum, "Elementwise minimum; ties split the gradient half and half.")
minimum.defvjp(lambda F, g, ans, a, b: g * _tie_share(F, b, a),
               lambda F, g, ans, a, b: g * _tie_share(F, a, b))


where = defprimitive("where", np.where, "``a`` where ``condition`` holds, else ``b``.")
where.defvjp(None,
             lambda F, g, ans, c, a, b: F.where(c, g, 0),
             lambda F, g, ans, c, a, b: F.where(c, 0, g))
