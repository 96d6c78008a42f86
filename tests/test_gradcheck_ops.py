"""Every primitive's VJP against float64 central differences, with broadcasting shapes wherever the op
broadcasts, and the composites built from them.

`PRIMITIVE_CASES` must hold a case for every registered primitive: `test_every_primitive_has_a_case`
fails when an op is added without one, and each case asserts that its graph really uses its primitive.
"""
import numpy as np
import pytest

import microgradnp as mg
from microgradnp.autograd import gradcheck
from microgradnp.autograd.graph import PRIMITIVES, Node
from microgradnp.ops import shape as shape_ops

_rng = np.random.default_rng(20240611)


def r(*shape):
    """Standard normal float64 data (becomes a leaf that requires grad)."""
    return _rng.standard_normal(shape)


def pos(*shape):
    """Positive float64 data in [0.5, 2): safe for log, sqrt, division and real powers."""
    return _rng.uniform(0.5, 2.0, shape)


def away(*shape):
    """Normal data pushed at least 0.2 away from 0: no kinks for relu/abs/sign-dependent ops."""
    x = _rng.standard_normal(shape)
    return x + 0.2 * np.sign(x) + (x == 0) * 0.2


def distinct(*shape):
    """A shuffled float64 ramp: no ties, so max/min/maximum are differentiable everywhere."""
    n = int(np.prod(shape))
    return _rng.permutation(np.linspace(-2.0, 2.0, n)).reshape(shape)


def off_whole(divisor, shape):
    """Data whose ratio to ``divisor`` (broadcast) stays 0.2 or more from every whole number, of both signs:
    remainder and fmod are smooth there."""
    quotient = _rng.integers(-3, 3, shape) + _rng.uniform(0.2, 0.8, shape)
    return quotient * divisor


class Const:
    """An input passed as a tensor that does not require grad."""

    def __init__(self, array):
        self.array = np.asarray(array)


class Case:
    """fn applied to inputs: float64 arrays become leaves that require grad, Const stays constant."""

    def __init__(self, fn, *inputs, label, **options):
        self.fn, self.inputs, self.label, self.options = fn, inputs, label, options

    def tensors(self):
        out = []
        for x in self.inputs:
            if isinstance(x, Const):
                out.append(mg.tensor(x.array))
            elif isinstance(x, np.ndarray) and x.dtype == np.float64:
                out.append(mg.tensor(x.copy(), requires_grad=True))
            else:
                out.append(x)
        return tuple(out)

    def __repr__(self):
        return self.label


def op_names(result):
    """Names of every op in the graph behind ``result`` (a tensor or a tuple of them)."""
    outs = result if isinstance(result, (tuple, list)) else (result,)
    stack = [o.grad_fn for o in outs if o.grad_fn is not None]
    names, seen = set(), set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        names.add(node.name)
        stack.extend(e for e in node.edges if type(e) is Node)
    return names


C = Case
PRIMITIVE_CASES = {
    "add": [C(lambda a, b: a + b, r(3, 1, 4), r(2, 4), label="(3,1,4)+(2,4)"),
            C(lambda a: 2.5 + a, r(3), label="scalar+a"),
            C(lambda a, b: a + b, r(2, 3), Const(r(3)), label="a+const")],
    "sub": [C(lambda a, b: a - b, r(3, 1, 4), r(2, 4), label="(3,1,4)-(2,4)"),
            C(lambda a: 1.0 - a, r(2, 2), label="scalar-a")],
    "mul": [C(lambda a, b: a * b, r(3, 1, 4), r(2, 4), label="(3,1,4)*(2,4)"),
            C(lambda a: a * a, r(5), label="a*a same tensor twice"),
            C(lambda a: 3.0 * a, r(2, 3), label="scalar*a")],
    "div": [C(lambda a, b: a / b, r(3, 1, 4), pos(2, 4), label="(3,1,4)/(2,4)"),
            C(lambda a: 2.0 / a, pos(3), label="scalar/a"),
            C(lambda a: a / 4.0, r(3), label="a/scalar")],
    "pow": [C(lambda a, b: a ** b, pos(3, 1, 4), r(2, 4), label="(3,1,4)**(2,4)"),
            C(lambda a: a ** 3, r(2, 3), label="a**3 negative base"),
            C(lambda a: a ** 0.5, pos(4), label="a**0.5"),
            C(lambda b: 2.0 ** b, r(2, 3), label="2**b")],
    "neg": [C(lambda a: -a, r(2, 3), label="-a")],
    "maximum": [C(mg.maximum, distinct(3, 1, 4), distinct(2, 4) + 0.01, label="maximum (3,1,4),(2,4)")],
    "minimum": [C(mg.minimum, distinct(3, 1, 4), distinct(2, 4) + 0.01, label="minimum (3,1,4),(2,4)")],
    "where": [C(lambda a, b: mg.where(np.array([[True, False, False, True], [False, True, True, False]]), a, b),
                r(3, 1, 4), r(4), label="where (2,4) cond, (3,1,4), (4,)"),
              C(lambda a: mg.where(a.numpy() > 0, a, 0.0), away(6), label="where with scalar branch")],
    "remainder": [C(mg.remainder, off_whole(np.array([0.7, -1.3, 1.9, 1.1]), (3, 1, 4)),
                    np.array([0.7, -1.3, 1.9, 1.1]), label="remainder (3,1,4),(4,)"),
                  C(lambda a: a % 1.5, off_whole(1.5, (2, 3)), label="a % scalar"),
                  C(lambda b: 5.0 % b, np.array([1.3, -1.7, 2.2, 0.9]), label="scalar % b")],
    "fmod": [C(mg.fmod, off_whole(np.array([-0.6, 1.4, 2.1]), (2, 3)), np.array([-0.6, 1.4, 2.1]),
               label="fmod (2,3),(3,)"),
             C(lambda a, b: a.fmod(b), off_whole(1.2, (4,)), np.array(1.2), label="fmod 0-d divisor")],
    "exp": [C(mg.exp, r(2, 3), label="exp")],
    "log": [C(mg.log, pos(2, 3), label="log")],
    "log1p": [C(mg.log1p, pos(2, 3) - 0.4, label="log1p")],
    "sqrt": [C(mg.sqrt, pos(2, 3), label="sqrt")],
    "sin": [C(mg.sin, r(2, 3), label="sin")],
    "cos": [C(mg.cos, r(2, 3), label="cos")],
    "tan": [C(mg.tan, r(2, 3) * 0.5, label="tan")],
    "tanh": [C(mg.tanh, r(2, 3), label="tanh")],
    "abs": [C(mg.abs, away(2, 3), label="abs")],
    "sigmoid": [C(mg.sigmoid, 3 * r(2, 3), label="sigmoid")],
    "relu": [C(mg.relu, away(2, 3), label="relu")],
    "clip": [C(lambda a: mg.clamp(a, -0.5, 0.5), distinct(3, 4) + 0.01, label="clamp both"),
             C(lambda a: mg.clamp(a, min=0.1), distinct(7) + 0.03, label="clamp min"),
             C(lambda a: mg.clamp(a, max=-0.1), distinct(7) + 0.03, label="clamp max")],
    "erf": [C(mg.erf, r(2, 3), label="erf")],
    "log2": [C(mg.log2, pos(2, 3), label="log2")],
    "log10": [C(mg.log10, pos(2, 3), label="log10")],
    "exp2": [C(mg.exp2, r(2, 3), label="exp2")],
    "sinh": [C(mg.sinh, r(2, 3), label="sinh")],
    "cosh": [C(mg.cosh, r(2, 3), label="cosh")],
    "asinh": [C(mg.asinh, r(2, 3), label="asinh")],
    "acosh": [C(mg.acosh, pos(2, 3) + 1.0, label="acosh")],
    "atanh": [C(mg.atanh, _rng.uniform(-0.8, 0.8, (2, 3)), label="atanh")],
    "asin": [C(mg.asin, _rng.uniform(-0.8, 0.8, (2, 3)), label="asin")],
    "acos": [C(mg.acos, _rng.uniform(-0.8, 0.8, (2, 3)), label="acos")],
    "atan": [C(mg.atan, r(2, 3), label="atan")],
    "atan2": [C(mg.atan2, r(3, 1, 4), away(2, 4), label="atan2 (3,1,4),(2,4)"),
              C(lambda a: mg.atan2(a, -1.5), r(5), label="atan2 with a number")],
    "hypot": [C(mg.hypot, r(3, 1, 4), away(2, 4), label="hypot (3,1,4),(2,4)")],
    # rounding: inputs away from the steps, where the function is flat and the gradient 0
    "floor": [C(mg.floor, distinct(2, 3) * 3 + 0.05, label="floor")],
    "ceil": [C(mg.ceil, distinct(2, 3) * 3 + 0.05, label="ceil")],
    "trunc": [C(mg.trunc, distinct(2, 3) * 3 + 0.05, label="trunc")],
    "round": [C(mg.round, distinct(2, 3) * 3 + 0.05, label="round"),
              C(lambda a: mg.round(a, decimals=1), distinct(2, 3) + 0.001, label="round decimals=1")],
    "matmul": [C(mg.matmul, r(3, 4), r(4, 5), label="(3,4)@(4,5)"),
               C(mg.matmul, r(4), r(4, 5), label="(4,)@(4,5)"),
               C(mg.matmul, r(3, 4), r(4), label="(3,4)@(4,)"),
               C(mg.matmul, r(4), r(4), label="(4,)@(4,)"),
               C(mg.matmul, r(2, 1, 3, 4), r(5, 4, 2), label="(2,1,3,4)@(5,4,2) batch broadcast"),
               C(mg.matmul, r(2, 3, 4), r(4), label="(2,3,4)@(4,)"),
               C(mg.matmul, r(4), r(2, 4, 3), label="(4,)@(2,4,3)"),
               C(mg.matmul, r(3, 4), r(2, 4, 2), label="(3,4)@(2,4,2)")],
    "linear": [C(mg.linear, r(5, 3), r(4, 3), r(4), label="linear (5,3) (4,3) (4,)"),
               C(mg.linear, r(2, 5, 3), r(4, 3), r(4), label="linear 3-D input"),
               C(lambda x, w: mg.linear(x, w), r(5, 3), r(4, 3), label="linear no bias"),
               C(mg.linear, r(5, 3), r(4, 3), r(1, 4), label="linear bias (1, 4) broadcast"),
               C(mg.linear, r(2, 5, 3), r(4, 3), r(), label="linear scalar bias")],
    "binary_cross_entropy": [
        C(lambda p: mg.binary_cross_entropy(p, mg.tensor([[0.0, 1.0, 1.0], [1.0, 0.0, 0.5]])),
          _rng.uniform(0.1, 0.9, (2, 3)), label="bce mean"),
        C(lambda p, t: mg.binary_cross_entropy(p, t, np.array([0.5, 1.0, 2.0]), "sum"),
          _rng.uniform(0.1, 0.9, (2, 3)), _rng.uniform(0.0, 1.0, (2, 3)), label="bce sum, weight (3,), target grad"),
        C(lambda p: mg.binary_cross_entropy(p, mg.tensor([1.0, 0.0, 1.0, 0.0]), None, "none"),
          _rng.uniform(0.1, 0.9, 4), label="bce none"),
        C(lambda p, t: mg.binary_cross_entropy(p, t, None, "none"), np.asarray(_rng.uniform(0.1, 0.9)),
          np.asarray(_rng.uniform(0.0, 1.0)), label="bce none 0-d")],
    "cross_entropy": [
        C(lambda x: mg.cross_entropy(x, np.array([0, 2, 1, 2, 0])), r(5, 3), label="cross_entropy mean"),
        C(lambda x: mg.cross_entropy(x, np.array([1, 0]), "sum"), r(2, 4), label="cross_entropy sum"),
        C(lambda x: mg.cross_entropy(x, np.array([1, 0, 3]), "none"), r(3, 4), label="cross_entropy none")],
    "sum": [C(mg.sum, r(2, 3, 4), label="sum all"),
            C(lambda a: mg.sum(a, 1), r(2, 3, 4), label="sum dim 1"),
            C(lambda a: mg.sum(a, (0, 2), keepdim=True), r(2, 3, 4), label="sum (0,2) keepdim"),
            C(lambda a: a.sum(axis=-1), r(2, 3, 4), label="sum axis -1")],
    "amax": [C(mg.amax, distinct(3, 4), label="amax all"),
             C(lambda a: mg.amax(a, 1), distinct(3, 4), label="amax dim 1"),
             C(lambda a: mg.amax(a, (0, 2), keepdim=True), distinct(2, 3, 4), label="amax (0,2) keepdim"),
             C(lambda a: mg.max(a), distinct(3, 4), label="max()")],
    "amin": [C(mg.amin, distinct(3, 4), label="amin all"),
             C(lambda a: mg.amin(a, -1, keepdim=True), distinct(3, 4), label="amin dim -1 keepdim"),
             C(lambda a: mg.min(a), distinct(3, 4), label="min()")],
    "reshape": [C(lambda a: a.reshape(4, 6), r(2, 3, 4), label="reshape"),
                C(lambda a: a.view(-1), r(2, 3), label="view(-1)")],
    "transpose": [C(lambda a: a.T, r(2, 3), label=".T"),
                  C(lambda a: a.permute(2, 0, 1), r(2, 3, 4), label="permute"),
                  C(lambda a: a.transpose(0, 2), r(2, 3, 4), label="transpose(0,2)")],
    "broadcast_to": [C(lambda a: mg.broadcast_to(a, (2, 3, 4)), r(3, 1), label="broadcast (3,1)->(2,3,4)"),
                     C(lambda a: a.expand(3, -1, 4), r(2, 1), label="expand")],
    "sum_to": [C(lambda a: mg.sum_to(a, (3, 1)), r(2, 3, 4), label="sum_to (2,3,4)->(3,1)")],
    "getitem": [C(lambda a: a[1], r(3, 4), label="a[1]"),
                C(lambda a: a[:, 1:3], r(3, 4), label="a[:,1:3]"),
                C(lambda a: a[::-1, None, ..., ::2], r(3, 4), label="a[::-1,None,...,::2]"),
                C(lambda a: a[[0, 2, 0, 0]], r(3, 4), label="repeated rows"),
                C(lambda a: a[np.array([[1, 1], [0, 2]]), np.array([3, 3])], r(3, 4),
                  label="advanced repeated pairs"),
                C(lambda a: a[a.numpy() > 0], r(3, 4), label="boolean mask"),
                C(lambda a: a[:, [3, 0, 3]], r(3, 4), label="slice + advanced"),
                C(lambda a: a[mg.tensor(np.array([2, 2, 1]))], r(3, 4), label="tensor index")],
    "scatter_add": [C(lambda v: shape_ops.scatter_add(v, index=np.array([0, 2, 0]), shape=(4,)), r(3),
                      label="scatter_add repeated"),
                    C(lambda v: shape_ops.scatter_add(v, index=(slice(1, 3),), shape=(4, 2)), r(2, 2),
                      label="scatter_add slice")],
    "concatenate": [C(lambda a, b, c: mg.cat([a, b, c], 1), r(2, 1), r(2, 3), r(2, 2), label="cat dim 1"),
                    C(lambda a, b: mg.cat([a, b], dim=-1), r(2, 3), Const(r(2, 2)), label="cat with const")],
    "pad": [C(lambda a: mg.pad(a, (1, 2)), r(2, 3), label="pad last dim"),
            C(lambda a: mg.pad(a, ((1, 0), (0, 2)), value=3.0), r(2, 3), label="pad numpy widths")],
    "astype": [C(lambda a: a.float().double() * 2, pos(3), label="float64->float32->float64", eps=1e-3,
                 atol=1e-4, rtol=1e-3)],
    "einsum": [C(lambda a, b: mg.einsum("ij,jk->ik", a, b), r(3, 4), r(4, 5), label="einsum ij,jk->ik"),
               C(lambda a, b: mg.einsum("bij,bjk", a, b), r(2, 3, 4), r(2, 4, 2), label="einsum implicit batch"),
               C(lambda a, b, c: mg.einsum("ij,jk,kl->il", a, b, c), r(2, 3), r(3, 4), r(4, 2), label="einsum chain"),
               C(lambda a: mg.einsum("ij->i", a), r(3, 4), label="einsum a label summed away"),
               C(lambda a: mg.einsum("ii", a), r(3, 3), label="einsum trace"),
               C(lambda a: mg.einsum("iji->ij", a), r(3, 2, 3), label="einsum diagonal"),
               C(lambda a, b: mg.einsum("...ij,...jk", a, b), r(2, 1, 3, 4), r(5, 4, 2),
                 label="einsum ellipsis broadcast"),
               C(lambda a, b: mg.einsum("ij,ij->ij", a, b), r(3, 1), r(3, 4), label="einsum size-1 broadcast"),
               C(lambda a, b: mg.einsum("i,j", a, b), r(3), Const(r(4)), label="einsum outer, a constant"),
               C(lambda a: mg.einsum("ij->ji", a), r(2, 3), label="einsum transpose")],
    "cumsum": [C(lambda a: mg.cumsum(a, 1), r(3, 4), label="cumsum dim 1"),
               C(lambda a: a.cumsum(-1), r(5), label="cumsum 1-D")],
    "cumprod": [C(lambda a: mg.cumprod(a, 1), r(3, 4), label="cumprod dim 1"),
                C(lambda a: a.cumprod(1), np.array([[0.5, 0.0, 1.5, -0.7, 0.0, 2.0], [1.2, -0.5, 0.0, 0.8, 1.1, 0.9]]),
                  label="cumprod with zeros (two in a row)"),
                C(lambda a: mg.cumprod(a, 0), np.array([[0.0, 1.3, 0.6], [0.7, -1.1, 0.0], [1.4, 0.0, 0.0]]),
                  label="cumprod dim 0, zeros first and last")],
    "diagonal": [C(lambda a: a.diagonal(), r(3, 4), label="diagonal"),
                 C(lambda a: mg.diagonal(a, 1, 0, 2), r(3, 2, 4), label="diagonal offset 1, dims 0 and 2"),
                 C(lambda a: mg.diagonal(a, -1, -1, 0), r(4, 3), label="diagonal offset -1, dims swapped")],
    "unfold": [C(lambda a: mg.convolution.unfold(a, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)), r(2, 3, 5, 6),
                 label="unfold (2,3) dilated, padded, strided"),
               C(lambda a: mg.nn.functional.unfold(a, 2), r(2, 4, 3), label="unfold unbatched")],
    "fold": [C(lambda c: mg.convolution.fold(c, (4, 5), (2, 3), padding=(1, 0), stride=(2, 1)), r(2, 12, 9),
               label="fold (2,3) padded, strided"),
             C(lambda c: mg.convolution.fold(c, (3, 3), 2), r(8, 4), label="fold unbatched, overlapping")],
    "window_max": [C(lambda a: mg.max_pool2d(a, 2), distinct(2, 3, 4, 6), label="max_pool2d tiles"),
                   C(lambda a: mg.max_pool2d(a, 3, stride=2, padding=1, dilation=1, ceil_mode=True),
                     distinct(1, 2, 6, 5), label="max_pool2d overlapping windows, padded, ceil_mode"),
                   C(lambda a: mg.max_pool1d(a, 2, dilation=2), distinct(2, 2, 7), label="max_pool1d dilated")],
}


def _cases(table):
    return [pytest.param(name, case, id=f"{name}: {case.label}") for name, cases in table.items() for case in cases]


def test_every_primitive_has_a_case():
    missing = primitives_without_case(PRIMITIVES, PRIMITIVE_CASES)
    assert not missing, f"primitives without a gradcheck case in PRIMITIVE_CASES: {missing}"


@pytest.mark.parametrize("name, case", _cases(PRIMITIVE_CASES))
def test_primitive_gradcheck(name, case):
    inputs = case.tensors()
    assert name in op_names(case.fn(*inputs)), f"the case for {name!r} does not use the {name!r} primitive"
    assert gradcheck(case.fn, inputs, **case.options)


COMPOSITE_CASES = {
    "mean": [C(mg.mean, r(2, 3), label="mean all"),
             C(lambda a: a.mean(dim=(0, 2), keepdim=True), r(2, 3, 4), label="mean dims")],
    "var": [C(mg.var, r(2, 3), label="var unbiased"),
            C(lambda a: mg.var(a, 1, unbiased=False), r(2, 5), label="var biased dim")],
    "std": [C(lambda a: mg.std(a, 0), r(4, 3), label="std dim 0"),
            C(lambda a: mg.std(a, 1), np.vstack([np.full(3, 0.5), r(3)]), label="std of a constant row: 0")],
    "softmax": [C(lambda a: mg.softmax(a, -1), r(3, 4), label="softmax"),
                C(lambda a, w: mg.softmax(a, 0) * w, 10 * r(3, 4), Const(r(3, 4)), label="softmax dim 0 weighted")],
    "log_softmax": [C(lambda a: mg.log_softmax(a, 1), r(3, 4), label="log_softmax")],
    "logsumexp": [C(lambda a: mg.logsumexp(a, 1), r(3, 4), label="logsumexp"),
                  C(lambda a: mg.logsumexp(a, (0, 1), keepdim=True), r(3, 4), label="logsumexp keepdim"),
                  C(lambda a: mg.logsumexp(a, 0) * mg.softmax(a, -1), r(), label="logsumexp, softmax 0-d")],
    "max(dim)": [C(lambda a: mg.max(a, 0).values, distinct(3, 4), label="max(dim).values"),
                 C(lambda a: a.max(-1, keepdim=True)[0], distinct(2, 3, 4), label="max(dim -1, keepdim)")],
    "min(dim)": [C(lambda a: mg.min(a, 1).values, distinct(3, 4), label="min(dim).values")],
    "stack": [C(lambda a, b: mg.stack([a, b], 1), r(2, 3), r(2, 3), label="stack dim 1")],
    "split": [C(lambda a: mg.split(a, [1, 3], 1), r(2, 4), label="split sizes"),
              C(lambda a: mg.split(a, 2, 0)[1] * 3, r(5, 2), label="split int")],
    "chunk": [C(lambda a: mg.chunk(a, 3, -1), r(2, 7), label="chunk")],
    "gather": [C(lambda a: mg.gather(a, 1, np.array([[0, 0, 2], [1, 2, 1]])), r(2, 3), label="gather repeated")],
    "masked_fill": [C(lambda a: mg.masked_fill(a, np.array([True, False, True]), -1.0), r(2, 3),
                      label="masked_fill broadcast mask")],
    "dot": [C(mg.dot, r(4), r(4), label="dot")],
    "outer": [C(mg.outer, r(3), r(4), label="outer")],
    "clamp": [C(lambda a: a.clamp(-1, 1) * a, distinct(6) + 0.01, label="clamp times input"),
              C(lambda a, lo: a.clamp(min=lo), distinct(3, 4), distinct(4) + 0.01, label="clamp tensor min (4,)"),
              C(lambda a, lo, hi: mg.clamp(a, lo, hi), distinct(2, 6), distinct(6) * 0.5 - 1.005,
                distinct(2, 1) + 1.003, label="clamp tensor min and max, broadcast"),
              C(lambda a, hi: a.clip(max=hi), distinct(5), distinct(2, 5) + 0.01,
                label="clip tensor max broadcasts a")],
    "where": [C(lambda a, b: mg.where(a > b, a * b, a - b), distinct(3, 4), distinct(4) + 0.01,
                label="where on a comparison")],
    "flatten": [C(lambda a: mg.flatten(a, 1), r(2, 3, 4), label="flatten(1)")],
    "squeeze/unsqueeze": [C(lambda a: a.unsqueeze(1).squeeze(), r(3, 1), label="unsqueeze then squeeze")],
    "square/rsqrt": [C(lambda a: mg.square(a) + mg.rsqrt(a), pos(4), label="square + rsqrt")],
    "index_put": [C(lambda a, v: mg.index_put(a, (slice(None), 1), v), r(3, 4), r(3), label="index_put column")],
    "setitem": [C(lambda a, v: _setitem(a, [0, 2], v), r(3, 4), r(4), label="t[[0,2]] = v")],
    "clone": [C(lambda a: a.clone() * a, r(3), label="clone")],
    "sigmoid via exp": [C(lambda a: 1 / (1 + mg.exp(-a)), r(5), label="1/(1+exp(-a))")],
    "layer norm by hand": [C(lambda a: (a - a.mean(-1, keepdim=True)) / mg.sqrt(a.var(-1, keepdim=True, unbiased=False)
                                                                                 + 1e-5), r(3, 4), label="layernorm")],
    "numpy ufuncs on tensors": [C(lambda a, b: np.maximum(np.exp(a), b) * np.tanh(a), r(4), r(4) + 1,
                                  label="np.maximum(np.exp(a), b)*np.tanh(a)")],
    # PyTorch's indexing rule: an integer apart from the index arrays leaves their dims in place
    "getitem (PyTorch's layout)": [
        C(lambda a: a[0, :, [1, 2, 1]], r(2, 3, 4), label="a[0, :, [1, 2, 1]]"),
        C(lambda a: a[:, 1, None, np.array([[True, False, True, True]])], r(2, 3, 1, 4), label="a[:, 1, None, mask]")],
    "index_put (PyTorch's layout)": [C(lambda a, v: mg.index_put(a, (1, slice(None), [0, 2]), v), r(2, 3, 4), r(3, 2),
                                       label="index_put a[1, :, [0, 2]]")],
    "take_along_dim": [C(lambda a: mg.take_along_dim(a, np.array([[0, 2, 2]]), 1), r(2, 3),
                         label="take_along_dim broadcast, repeated"),
                       C(lambda a: mg.take_along_dim(a, np.array([5, 0, 5])), r(2, 3),
                         label="take_along_dim flattened")],
    "pad": [C(lambda a: mg.pad(a, (-1, 2, 1, -1)), r(3, 4), label="pad crops and pads")],
    "expand": [C(lambda a: a.expand(2, -1, 3), r(3, 1), label="expand(2, -1, 3)")],
    "frac": [C(mg.frac, distinct(2, 3) * 3 + 0.05, label="frac")],
    "reciprocal": [C(lambda a: a.reciprocal(), pos(2, 3), label="reciprocal")],
    "logit": [C(mg.logit, _rng.uniform(0.1, 0.9, (2, 3)), label="logit"),
              C(lambda a: mg.logit(a, eps=0.2), np.array([0.05, 0.3, 0.5, 0.7, 0.95]), label="logit eps")],
    "mm/mv/bmm": [C(mg.mm, r(3, 4), r(4, 2), label="mm"), C(mg.mv, r(3, 4), r(4), label="mv"),
                  C(mg.bmm, r(2, 3, 4), r(2, 4, 5), label="bmm")],
    "meshgrid": [C(lambda a, b: mg.meshgrid(a, b, indexing="ij"), r(3), r(4), label="meshgrid ij"),
                 C(lambda a, b, c: mg.meshgrid(a, b, c, indexing="xy"), r(3), r(2), r(2), label="meshgrid xy")],
    "norm": [C(mg.norm, r(2, 3), label="norm fro"),
             C(lambda a: a.norm(1, dim=1), away(2, 3), label="norm p=1 dim 1"),
             C(lambda a: a.norm(3, dim=(0, 2), keepdim=True), away(2, 3, 2), label="norm p=3 dims keepdim"),
             C(lambda a: a.norm(0.5, dim=-1), away(2, 3), label="norm p=0.5"),
             C(lambda a: a.norm(float("inf"), dim=0), distinct(3, 4), label="norm p=inf"),
             C(lambda a: a.norm(-float("inf")), distinct(3, 4) + 0.01, label="norm p=-inf"),
             C(lambda a: mg.norm(a, 2, dim=1), np.vstack([np.zeros(3), r(3)]), label="norm of a zero row: gradient 0")],
    "masked_fill tensor value": [C(lambda a, v: mg.masked_fill(a, np.array([True, False, True]), v), r(2, 3), r(),
                                   label="masked_fill 0-d value")],
    "tril/triu": [C(lambda a: mg.tril(a) + mg.triu(a, 1) * 2, r(2, 3, 4), label="tril + 2 triu(1), batched"),
                  C(lambda a: a.tril(-1), r(4, 3), label="tril(-1)")],
    "sort": [C(lambda a: mg.sort(a, 1).values, distinct(3, 4), label="sort values"),
             C(lambda a: a.sort(0, descending=True)[0], distinct(3, 2), label="sort descending dim 0")],
    "topk": [C(lambda a: mg.topk(a, 2).values, distinct(3, 4), label="topk 2"),
             C(lambda a: a.topk(2, dim=0, largest=False)[0], distinct(3, 4), label="topk smallest dim 0")],
    "repeat/tile": [C(lambda a: a.repeat(2, 1, 3), r(2, 3), label="repeat adds a dim"),
                    C(lambda a: mg.tile(a, (2,)), r(2, 3), label="tile last dim")],
    "repeat_interleave": [C(lambda a: a.repeat_interleave(2, 1), r(2, 3), label="repeat_interleave int"),
                          C(lambda a: mg.repeat_interleave(a, mg.tensor([1, 0, 3]), 0), r(3, 2),
                            label="repeat_interleave counts"),
                          C(lambda a: mg.repeat_interleave(a, 2), r(2, 2), label="repeat_interleave flattened")],
    "flip": [C(lambda a: mg.flip(a, (0, 2)), r(2, 3, 4), label="flip dims 0 and 2"),
             C(lambda a: mg.fliplr(a) * mg.flipud(a), r(3, 3), label="fliplr * flipud")],
    "roll": [C(lambda a: mg.roll(a, (1, -2), (0, 1)), r(3, 4), label="roll two dims"),
             C(lambda a: a.roll(5), r(2, 3), label="roll flattened")],
    "scatter": [C(lambda a, s: mg.scatter(a, 1, mg.tensor([[2, 0], [1, 1]]), s), r(2, 4), r(2, 3),
                  label="scatter src larger than index"),
                C(lambda a: a.scatter(0, mg.tensor([[1, 0, 1]]), -1.5), r(2, 3), label="scatter value"),
                C(lambda a, s: mg.scatter(a, 0, mg.tensor([[1, 0, 1]]), s, reduce="add"), r(2, 3), r(1, 3),
                  label="scatter reduce add")],
    "scatter_add": [C(lambda a, s: mg.scatter_add(a, 1, mg.tensor([[0, 0, 3], [2, 2, 2]]), s), r(2, 4), r(2, 3),
                      label="scatter_add repeated")],
    "index_select": [C(lambda a: mg.index_select(a, 1, mg.tensor([2, 0, 2])), r(2, 3), label="index_select repeated")],
    "masked_select": [C(lambda a: mg.masked_select(a, mg.tensor([True, False, True])), r(2, 3),
                        label="masked_select broadcast mask")],
    "unbind/narrow": [C(lambda a: mg.unbind(a, 1)[2] * a.narrow(1, -3, 2)[:, 1], r(2, 4), label="unbind * narrow")],
    "diag/trace": [C(lambda a: mg.diag(a, -1), r(3), label="diag of a vector, offset -1"),
                   C(lambda a: mg.diag(a, 1) + mg.trace(a), r(3, 4), label="diag(1) of a matrix + trace")],
    "conv1d": [C(lambda x, w, b: mg.conv1d(x, w, b, stride=2, padding=1, dilation=2), r(2, 3, 9), r(4, 3, 3), r(4),
                 label="conv1d strided, padded, dilated"),
               C(lambda x, w: mg.conv1d(x, w, padding="same", groups=2), r(4, 7), r(6, 2, 4),
                 label="conv1d same, groups, unbatched")],
    "conv2d": [C(lambda x, w, b: mg.conv2d(x, w, b), r(2, 3, 5, 6), r(4, 3, 3, 2), r(4), label="conv2d"),
               C(lambda x, w: mg.conv2d(x, w, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=3),
                 r(1, 6, 6, 7), r(3, 2, 2, 3), label="conv2d strided, padded, dilated, groups")],
    "conv_transpose2d": [C(lambda x, w, b: mg.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
                           r(2, 4, 3, 3), r(4, 3, 3, 2), r(3), label="conv_transpose2d strided, output_padding"),
                         C(lambda x, w: mg.conv_transpose1d(x, w, groups=2, dilation=2), r(2, 4, 5), r(4, 1, 3),
                           label="conv_transpose1d groups, dilated")],
    "avg_pool": [C(lambda a: mg.nn.functional.avg_pool2d(a, 3, stride=2, padding=1, ceil_mode=True,
                                                         count_include_pad=False), r(2, 2, 6, 5),
                   label="avg_pool2d padded, ceil_mode, padding not counted"),
                 C(lambda a: mg.avg_pool1d(a, 2), r(2, 3, 5), label="avg_pool1d")],
    "adaptive_avg_pool": [C(lambda a: mg.nn.functional.adaptive_avg_pool2d(a, (3, 2)), r(2, 2, 7, 5),
                            label="adaptive_avg_pool2d uneven windows")],
    "interpolate": [C(lambda a: mg.nn.functional.interpolate(a, scale_factor=(1.5, 2), mode="bilinear"),
                      r(1, 2, 3, 4), label="interpolate bilinear"),
                    C(lambda a: mg.nn.functional.interpolate(a, size=5), r(2, 2, 3), label="interpolate nearest")],
    "pad modes": [C(lambda a: mg.pad(a, (2, 1, 1, 2), mode="reflect") * mg.pad(a, (2, 1, 1, 2), mode="circular"),
                    r(2, 3, 4), label="reflect * circular"),
                  C(lambda a: mg.pad(a, (3, 1), mode="replicate"), r(2, 3), label="replicate")],
}


def _setitem(a, index, v):
    out = a * 1
    out[index] = v
    return out


@pytest.mark.parametrize("name, case", _cases(COMPOSITE_CASES))
def test_composite_gradcheck(name, case):
    assert gradcheck(case.fn, case.tensors(), **case.options)


def _weighted_grads(fn):
    """x -> d(sum(w * fn(x)))/dx with create_graph, for fixed random weights w: a second-order check."""
    weights = {}

    def grads(*inputs):
        out = fn(*inputs)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        total = 0
        for k, o in enumerate(outs):
            if k not in weights:
                weights[k] = mg.tensor(np.random.default_rng(k).standard_normal(o.shape))
            total = total + (o * weights[k]).sum()
        wrt = [x for x in inputs if isinstance(x, mg.Tensor) and x.requires_grad]
        return mg.autograd.grad(total, wrt, create_graph=True, allow_unused=True)

    return grads


@pytest.mark.parametrize("name, case", _cases(PRIMITIVE_CASES))
def test_primitive_second_order_gradcheck(name, case):
    """The VJPs themselves are differentiable (create_graph=True records them with Tensor ops)."""
    inputs = case.tensors()
    grads = _weighted_grads(case.fn)
    assert gradcheck(lambda *xs: tuple(g for g in grads(*xs) if g is not None), inputs, **case.options)


def primitives_without_case(registry, cases):
    """Names in the primitive registry that have no gradcheck case."""
    return sorted(set(registry) - set(cases))


def test_a_new_primitive_without_a_case_is_caught():
    registry = dict(PRIMITIVES, cube="a primitive added without a gradcheck case")
    assert primitives_without_case(registry, PRIMITIVE_CASES) == ["cube"]
