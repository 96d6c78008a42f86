"""The math functions with PyTorch's names and signatures: logarithms and powers of 2 and 10, hyperbolic and
inverse trigonometric functions, rounding, logit, mm/mv/bmm, einsum, isclose/allclose, meshgrid, histc,
histogram and norm. Values and gradients against PyTorch where it is installed, known values without it."""
import math
import warnings

import numpy as np
import pytest

import microgradnp as mg

rng = np.random.default_rng(7)


def _both(torch, arrays):
    """The same float arrays as microgradnp and PyTorch leaves that require grad."""
    return ([mg.tensor(a.copy(), requires_grad=True) for a in arrays],
            [torch.tensor(a.copy(), requires_grad=True) for a in arrays])


def _assert_matches_torch(torch, f_mg, f_torch, *arrays, rtol=1e-6, atol=1e-6):
    """Values, dtypes and the gradients of a weighted sum agree with PyTorch's."""
    ours, theirs = _both(torch, arrays)
    out, expected = f_mg(*ours), f_torch(*theirs)
    assert out.shape == tuple(expected.shape)
    assert out.dtype == np.dtype(str(expected.dtype).removeprefix("torch."))
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=rtol, atol=atol, equal_nan=True)
    if not expected.requires_grad:
        return
    weights = rng.standard_normal(out.shape)
    (out * mg.tensor(weights.astype(out.dtype))).sum().backward()
    (expected * torch.tensor(weights.astype(out.dtype))).sum().backward()
    for x, y in zip(ours, theirs):
        ours_grad = np.zeros(x.shape) if x.grad is None else x.grad.numpy()
        theirs_grad = np.zeros(x.shape) if y.grad is None else y.grad.numpy()
        np.testing.assert_allclose(ours_grad, theirs_grad, rtol=rtol, atol=atol, equal_nan=True)


# ---- elementwise functions ---------------------------------------------------------------------------

_UNARY = {  # name: inputs where it is defined
    "log2": lambda shape: rng.uniform(0.1, 5, shape), "log10": lambda shape: rng.uniform(0.1, 5, shape),
    "exp2": lambda shape: rng.standard_normal(shape) * 3, "sinh": lambda shape: rng.standard_normal(shape) * 3,
    "cosh": lambda shape: rng.standard_normal(shape) * 3, "asinh": lambda shape: rng.standard_normal(shape) * 3,
    "acosh": lambda shape: rng.uniform(1.05, 5, shape), "atanh": lambda shape: rng.uniform(-0.95, 0.95, shape),
    "asin": lambda shape: rng.uniform(-0.95, 0.95, shape), "acos": lambda shape: rng.uniform(-0.95, 0.95, shape),
    "atan": lambda shape: rng.standard_normal(shape) * 3, "arcsin": lambda shape: rng.uniform(-0.9, 0.9, shape),
    "arccos": lambda shape: rng.uniform(-0.9, 0.9, shape), "arctan": lambda shape: rng.standard_normal(shape),
    "arcsinh": lambda shape: rng.standard_normal(shape), "arccosh": lambda shape: rng.uniform(1.05, 5, shape),
    "arctanh": lambda shape: rng.uniform(-0.9, 0.9, shape),
    "floor": lambda shape: rng.standard_normal(shape) * 5, "ceil": lambda shape: rng.standard_normal(shape) * 5,
    "trunc": lambda shape: rng.standard_normal(shape) * 5, "fix": lambda shape: rng.standard_normal(shape) * 5,
    "round": lambda shape: np.concatenate([rng.standard_normal(shape).ravel() * 5, [0.5, 1.5, 2.5, -0.5]]),
    "frac": lambda shape: rng.standard_normal(shape) * 5, "reciprocal": lambda shape: rng.uniform(0.2, 3, shape),
    "rsqrt": lambda shape: rng.uniform(0.2, 3, shape), "square": lambda shape: rng.standard_normal(shape),
    "logit": lambda shape: rng.uniform(0.02, 0.98, shape),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(_UNARY))
def test_unary_functions_match_torch(name, dtype):
    torch = pytest.importorskip("torch")
    x = _UNARY[name]((3, 4)).astype(dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-7
    _assert_matches_torch(torch, getattr(mg, name), getattr(torch, name), x, rtol=rtol)
    if hasattr(torch.Tensor, name) and name not in ("fix",) and not name.startswith("arc"):
        _assert_matches_torch(torch, lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), x, rtol=rtol)


@pytest.mark.parametrize("name", ["atan2", "arctan2", "hypot"])
def test_binary_functions_broadcast_and_match_torch(name):
    torch = pytest.importorskip("torch")
    a, b = rng.standard_normal((3, 1, 4)), rng.standard_normal((2, 4))
    _assert_matches_torch(torch, getattr(mg, name), getattr(torch, name), a, b)
    two = torch.tensor(2.0, dtype=torch.float64)
    _assert_matches_torch(torch, lambda x: getattr(mg, name)(x, 2.0), lambda x: getattr(torch, name)(x, two), a)
    if name != "arctan2":
        _assert_matches_torch(torch, lambda x, y: getattr(x, name)(y), lambda x, y: getattr(x, name)(y), a, b)


@pytest.mark.parametrize("decimals", [1, 2, -1, -2])
def test_round_with_decimals_matches_torch(decimals):
    torch = pytest.importorskip("torch")
    x = np.concatenate([rng.standard_normal(20) * 300, [0.25, 0.35, 2.5, 15.0, 25.0, -0.125]])
    for dtype in (np.float32, np.float64):
        _assert_matches_torch(torch, lambda t: mg.round(t, decimals=decimals),
                              lambda t: torch.round(t, decimals=decimals), x.astype(dtype))
        _assert_matches_torch(torch, lambda t: t.round(decimals=decimals), lambda t: t.round(decimals=decimals),
                              x.astype(dtype))


def test_logit_with_eps_and_at_the_ends_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.array([0.0, 0.05, 0.2, 0.5, 0.8, 0.95, 1.0])
    _assert_matches_torch(torch, lambda t: mg.logit(t, eps=0.1), lambda t: torch.logit(t, eps=0.1), x)
    _assert_matches_torch(torch, lambda t: t.logit(0.1), lambda t: t.logit(0.1), x)
    with np.errstate(divide="ignore"):  # log(0): -inf, and its gradient inf, as PyTorch's
        _assert_matches_torch(torch, mg.logit, torch.logit, x)


def test_known_values():
    np.testing.assert_allclose(mg.log2(mg.tensor([1.0, 8.0])).numpy(), [0.0, 3.0])
    np.testing.assert_allclose(mg.log10(mg.tensor([1.0, 1000.0])).numpy(), [0.0, 3.0])
    np.testing.assert_allclose(mg.exp2(mg.tensor([3.0, -1.0])).numpy(), [8.0, 0.5])
    np.testing.assert_allclose(mg.atan2(mg.tensor([1.0, 1.0]), mg.tensor([1.0, -1.0])).numpy(),
                               [math.pi / 4, 3 * math.pi / 4])
    np.testing.assert_allclose(mg.hypot(mg.tensor([3.0]), mg.tensor([4.0])).numpy(), [5.0])
    assert mg.round(mg.tensor([0.5, 1.5, 2.5, -0.5])).tolist() == [0.0, 2.0, 2.0, -0.0]  # halves to even
    assert mg.frac(mg.tensor([1.25, -1.25])).tolist() == [0.25, -0.25]
    np.testing.assert_allclose(mg.logit(mg.tensor([0.5, 0.75])).numpy(), [0.0, math.log(3.0)], atol=1e-7)
    assert mg.arcsin is mg.asin and mg.arctan2 is mg.atan2 and mg.fix is mg.trunc


@pytest.mark.parametrize("name", ["floor", "ceil", "trunc", "round"])
def test_rounding_keeps_integers_and_has_gradient_zero(name):
    ints = mg.tensor([1, -2, 3])
    out = getattr(mg, name)(ints)
    assert out.dtype == mg.int64 and out.tolist() == [1, -2, 3]
    x = mg.tensor([1.5, -2.5, 0.25], requires_grad=True)
    y = getattr(x, name)()
    assert y.requires_grad  # in the graph, as PyTorch's, with a gradient of 0
    y.backward(mg.tensor([math.inf, 1.0, -2.0]))
    assert x.grad.tolist() == [0.0, 0.0, 0.0]  # 0 even where the incoming gradient is infinite


def test_round_decimals_on_integers_is_refused():
    with pytest.raises(TypeError, match="round: decimals=1 needs a floating tensor"):
        mg.round(mg.tensor([1, 2]), decimals=1)


# ---- matrix products ---------------------------------------------------------------------------------

def test_mm_mv_bmm_match_torch():
    torch = pytest.importorskip("torch")
    a, b, v = rng.standard_normal((3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(4)
    _assert_matches_torch(torch, mg.mm, torch.mm, a, b)
    _assert_matches_torch(torch, lambda x, y: x.mm(y), lambda x, y: x.mm(y), a, b)
    _assert_matches_torch(torch, mg.mv, torch.mv, a, v)
    _assert_matches_torch(torch, lambda x, y: x.mv(y), lambda x, y: x.mv(y), a, v)
    p, q = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 5))
    _assert_matches_torch(torch, mg.bmm, torch.bmm, p, q)
    _assert_matches_torch(torch, lambda x, y: x.bmm(y), lambda x, y: x.bmm(y), p, q)


@pytest.mark.parametrize("call, message", [
    (lambda: mg.mm(mg.ones(2, 3), mg.ones(4, 5)),
     r"mm: shapes \(2, 3\) and \(4, 5\) cannot be multiplied \(2x3 and 4x5\)"),
    (lambda: mg.mm(mg.ones(3), mg.ones(3, 5)), r"mm: expects two 2-D tensors, got shapes \(3,\) and \(3, 5\)"),
    (lambda: mg.mm(mg.ones(2, 2, 3), mg.ones(3, 5)), r"mm: expects two 2-D tensors"),
    (lambda: mg.mv(mg.ones(2, 3), mg.ones(4)),
     r"mv: size mismatch, matrix of shape \(2, 3\) and vector of shape \(4,\)"),
    (lambda: mg.mv(mg.ones(2, 3), mg.ones(3, 1)), r"mv: expects a 2-D matrix and a 1-D vector"),
    (lambda: mg.bmm(mg.ones(2, 2, 3), mg.ones(3, 3, 5)),
     r"bmm: shapes \(2, 2, 3\) and \(3, 3, 5\) cannot be multiplied"),
    (lambda: mg.bmm(mg.ones(2, 2, 3), mg.ones(1, 3, 5)), r"expected the first two dims of the second to be \[2, 3\]"),
    (lambda: mg.bmm(mg.ones(2, 3), mg.ones(2, 3, 5)), r"bmm: expects two 3-D tensors"),
])
def test_matrix_products_refuse_shapes_that_torch_refuses(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---- einsum ------------------------------------------------------------------------------------------

_EQUATIONS = [
    ("ij,jk->ik", [(3, 4), (4, 5)]), ("ij,jk", [(3, 4), (4, 5)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("ii", [(3, 3)]), ("ii->i", [(3, 3)]), ("iji->ij", [(3, 2, 3)]), ("iij->", [(2, 2, 3)]),
    ("ij->i", [(3, 4)]), ("ij->ji", [(3, 4)]), ("ij->", [(3, 4)]), ("i,j", [(3,), (4,)]), ("i,i", [(5,), (5,)]),
    ("i,i->i", [(5,), (5,)]), ("ij,ij->ij", [(3, 1), (3, 4)]), ("...ij,...jk", [(2, 1, 3, 4), (5, 4, 2)]),
    ("...ij->...ji", [(2, 3, 4)]), ("...ij->...", [(2, 3, 4)]), ("i...,i...", [(2, 3), (2,)]),
    ("bA", [(3, 4)]), ("Ab,bA", [(2, 3), (3, 2)]), (" i j , j k -> i k ", [(3, 4), (4, 2)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]), ("ab,cd,bd->ac", [(2, 3), (4, 5), (3, 5)]), ("->", [()]),
    ("i->i...", [(3,)]), ("ij,j->i", [(0, 3), (3,)]), ("bii->bi", [(2, 3, 3)]), ("i,i,i->", [(4,), (4,), (4,)]),
]


@pytest.mark.parametrize("equation, shapes", _EQUATIONS, ids=[e for e, _ in _EQUATIONS])
def test_einsum_matches_torch_with_gradients(equation, shapes):
    torch = pytest.importorskip("torch")
    arrays = [rng.standard_normal(shape) for shape in shapes]
    _assert_matches_torch(torch, lambda *xs: mg.einsum(equation, *xs), lambda *xs: torch.einsum(equation, *xs),
                          *arrays, rtol=1e-10, atol=1e-10)
    # the operands as one list
    _assert_matches_torch(torch, lambda *xs: mg.einsum(equation, list(xs)),
                          lambda *xs: torch.einsum(equation, list(xs)), *arrays, rtol=1e-10, atol=1e-10)


def test_einsum_without_torch():
    a, b = mg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True), mg.tensor(np.arange(3.0), requires_grad=True)
    out = mg.einsum("ij,j->i", a, b)
    assert out.tolist() == [5.0, 14.0]
    out.sum().backward()
    assert a.grad.tolist() == [[0.0, 1.0, 2.0]] * 2 and b.grad.tolist() == [3.0, 5.0, 7.0]
    square = mg.tensor(np.arange(9.0).reshape(3, 3), requires_grad=True)
    trace = mg.einsum("ii", square)
    assert trace.item() == 12.0
    trace.backward()
    np.testing.assert_array_equal(square.grad.numpy(), np.eye(3))
    # the output owns its memory, even where NumPy's einsum would return a view
    transposed = mg.einsum("ij->ji", a)
    assert not np.may_share_memory(transposed.numpy(), a.numpy())


def test_einsum_second_order():
    a = mg.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    b = mg.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    assert mg.autograd.gradcheck(lambda x, y: mg.einsum("ii,ij->j", x, y), (a, b))

    def grads(x, y):  # the VJPs recorded with create_graph: an einsum per operand, differentiated again
        out = mg.einsum("ij,ik->jk", x, y)
        return mg.autograd.grad((out * out).sum(), (x, y), create_graph=True)

    assert mg.autograd.gradcheck(grads, (a, b))


@pytest.mark.parametrize("call, error, message", [
    (lambda: mg.einsum("ij,jk", mg.ones(2, 3)), ValueError, r"names 2 operand\(s\), but 1 were given"),
    (lambda: mg.einsum("ij", mg.ones(2, 3, 4)), ValueError,
     r"the 2 subscripts of operand 0 \('ij'\) do not match its 3 dim\(s\) \(shape \(2, 3, 4\)\) and no ellipsis"),
    (lambda: mg.einsum("i,i->", mg.ones(3), mg.ones(4)), ValueError,
     r"subscript i of operand 1 \(shape \(4,\)\) has size 4, which does not broadcast with the size 3"),
    (lambda: mg.einsum("ij->ii", mg.ones(3, 3)), ValueError, r"output subscript i appears more than once"),
    (lambda: mg.einsum("ij->k", mg.ones(3, 3)), ValueError, r"output subscript k does not appear"),
    (lambda: mg.einsum("ii", mg.ones(3, 4)), ValueError, r"subscript i is repeated for operand 0 but the sizes don't "
                                                         r"match, 4 != 3"),
    (lambda: mg.einsum("..i", mg.ones(3)), ValueError,
     r"found '.' in operand 0 \('..i'\) that is not part of an ellipsis"),
    (lambda: mg.einsum("1i", mg.ones(3)), ValueError, r"invalid subscript '1'.*subscripts must be in \[a-zA-Z\]"),
    (lambda: mg.einsum("......", mg.ones(3)), ValueError, r"more than one ellipsis"),
    (lambda: mg.einsum("i"), ValueError, r"einsum: must provide at least one operand"),
    (lambda: mg.einsum([0, 1], mg.ones(3)), TypeError, r"the equation must be a string"),
])
def test_einsum_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---- isclose, allclose -------------------------------------------------------------------------------

def test_isclose_and_allclose_match_torch():
    torch = pytest.importorskip("torch")
    a = np.array([1.0, 1e-9, np.inf, -np.inf, np.nan, 1.0, 100.0])
    b = np.array([1.0 + 1e-6, 0.0, np.inf, np.inf, np.nan, 1.1, 100.0009])
    for kwargs in ({}, {"equal_nan": True}, {"rtol": 0.2}, {"atol": 0.0, "rtol": 0.0}, {"atol": 1e-3}):
        for dtype in (np.float32, np.float64):
            x, y = a.astype(dtype), b.astype(dtype)
            ours = mg.isclose(mg.tensor(x), mg.tensor(y), **kwargs)
            theirs = torch.isclose(torch.tensor(x), torch.tensor(y), **kwargs)
            assert ours.dtype == mg.bool and ours.tolist() == theirs.tolist(), kwargs
            assert mg.tensor(x).isclose(mg.tensor(y), **kwargs).tolist() == theirs.tolist()
            for i in range(len(a)):
                assert (mg.allclose(mg.tensor(x[:i + 1]), mg.tensor(y[:i + 1]), **kwargs)
                        is torch.allclose(torch.tensor(x[:i + 1]), torch.tensor(y[:i + 1]), **kwargs))
    ints = mg.isclose(mg.tensor([1, 2, 3]), mg.tensor([1, 2, 4]))
    assert ints.tolist() == torch.isclose(torch.tensor([1, 2, 3]), torch.tensor([1, 2, 4])).tolist()


def test_isclose_without_torch():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    close = mg.isclose(x, mg.tensor([[1.0 + 1e-6], [2.0]]))  # broadcast
    assert close.tolist() == [[True, False], [False, True]] and not close.requires_grad
    assert x.allclose(x * (1 + 1e-6)) is True and mg.allclose(x, x + 1e-3) is False
    with pytest.raises(ValueError, match=r"isclose: shapes \(2,\) and \(3,\) do not broadcast together"):
        mg.isclose(x, mg.ones(3))
    with pytest.raises(ValueError, match=r"allclose: rtol and atol must be >= 0"):
        mg.allclose(x, x, rtol=-1)


# ---- meshgrid ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid_matches_torch(indexing):
    torch = pytest.importorskip("torch")
    xs = [rng.standard_normal(3), rng.standard_normal(4), rng.standard_normal(2)]
    for count in (1, 2, 3):
        def ours(*ts):
            return sum((g * (k + 1) for k, g in enumerate(mg.meshgrid(*ts, indexing=indexing))), start=mg.tensor(0.0,
                       dtype=mg.float64))

        def theirs(*ts):
            return sum((g * (k + 1) for k, g in enumerate(torch.meshgrid(*ts, indexing=indexing))),
                       start=torch.tensor(0.0, dtype=torch.float64))

        _assert_matches_torch(torch, ours, theirs, *xs[:count])
        for grid, expected in zip(mg.meshgrid([mg.tensor(x) for x in xs[:count]], indexing=indexing),
                                  torch.meshgrid([torch.tensor(x) for x in xs[:count]], indexing=indexing)):
            np.testing.assert_array_equal(grid.numpy(), expected.numpy())
    scalar = mg.meshgrid(mg.tensor(1.0), mg.tensor([1.0, 2.0]), indexing=indexing)
    assert [g.shape for g in scalar] == [tuple(g.shape) for g in torch.meshgrid(torch.tensor(1.0),
                                                                                  torch.tensor([1.0, 2.0]),
                                                                                  indexing=indexing)]


def test_meshgrid_without_indexing_warns_and_uses_ij():
    with pytest.warns(UserWarning, match="it will be required to pass the indexing argument"):
        a, b = mg.meshgrid(mg.tensor([1, 2]), mg.tensor([3, 4, 5]))
    assert a.tolist() == [[1, 1, 1], [2, 2, 2]] and b.tolist() == [[3, 4, 5], [3, 4, 5]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mg.meshgrid(mg.tensor([1, 2]), indexing="ij")
    with pytest.raises(ValueError, match=r"meshgrid: expects 0-D or 1-D tensors, got shape \(2, 2\) for tensor 1"):
        mg.meshgrid(mg.ones(2), mg.ones(2, 2), indexing="ij")
    with pytest.raises(ValueError, match=r"indexing must be 'ij' or 'xy', got 'ji'"):
        mg.meshgrid(mg.ones(2), indexing="ji")


# ---- histograms --------------------------------------------------------------------------------------

def _samples():
    # random data, data on whole numbers (many on the edges of bins), constant data, empty data
    yield rng.standard_normal(200) * 10
    yield np.round(rng.standard_normal(100) * 5)
    yield np.full(7, 2.0)
    yield np.zeros(0)
    yield np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, -1.0, 6.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_histc_matches_torch(dtype):
    torch = pytest.importorskip("torch")
    for data in _samples():
        data = data.astype(dtype)
        for args in [(), (10,), (7, -3.0, 4.5), (4, 0, 5), (5, 2, 2), (3, 1, 1.5)]:
            ours = mg.histc(mg.tensor(data), *args)
            theirs = torch.histc(torch.tensor(data), *args)
            assert ours.dtype == dtype and not ours.requires_grad
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=str(args))
        assert mg.tensor(data).histc(bins=4, min=-1, max=1).tolist() == torch.tensor(data).histc(4, -1, 1).tolist()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_histogram_matches_torch(dtype):
    torch = pytest.importorskip("torch")
    for data in _samples():
        data = data.astype(dtype)
        weight = rng.uniform(0, 2, data.shape).astype(dtype)
        for bins in (1, 5, 10):
            for kwargs in ({}, {"range": (-3.0, 4.5)}, {"density": True}, {"weight": weight}):
                ours = mg.histogram(mg.tensor(data), bins, **{k: mg.tensor(v) if k == "weight" else v
                                                             for k, v in kwargs.items()})
                theirs = torch.histogram(torch.tensor(data), bins, **{k: torch.tensor(v) if k == "weight" else v
                                                                      for k, v in kwargs.items()})
                # PyTorch's linspace rounds a few edges differently in the last digit (by the CPU's vector width):
                # compared with a tolerance, and the counts are compared where no element lies on an edge
                np.testing.assert_allclose(ours.bin_edges.numpy(), theirs.bin_edges.numpy(), rtol=1e-6, atol=1e-6)
                on_edges = np.isin(data, theirs.bin_edges.numpy()[1:-1]).any()
                if not on_edges:
                    np.testing.assert_allclose(ours.hist.numpy(), theirs.hist.numpy(), rtol=1e-5, equal_nan=True)
                assert ours.hist.dtype == dtype and ours.bin_edges.dtype == dtype
        edges = np.array([-10.0, -1.0, 0.0, 0.5, 3.0, 20.0], dtype)
        ours = mg.tensor(data).histogram(mg.tensor(edges), density=True)
        theirs = torch.tensor(data).histogram(torch.tensor(edges), density=True)
        np.testing.assert_allclose(ours.hist.numpy(), theirs.hist.numpy(), rtol=1e-6, equal_nan=True)
        np.testing.assert_array_equal(ours.bin_edges.numpy(), edges)


def test_histograms_without_torch():
    x = mg.tensor([0.0, 1.0, 1.0, 2.5, 4.0, 9.0], requires_grad=True)
    counts = mg.histc(x, bins=4, min=0, max=4)
    assert counts.tolist() == [1.0, 2.0, 1.0, 1.0] and not counts.requires_grad  # 9 is outside; 4 in the last bin
    hist, edges = mg.histogram(x, 3, range=(0.0, 3.0))
    assert hist.tolist() == [1.0, 2.0, 1.0] and edges.tolist() == [0.0, 1.0, 2.0, 3.0]
    result = x.histogram(mg.tensor([0.0, 2.0, 10.0]))
    assert result.hist.tolist() == [3.0, 3.0] and result.bin_edges.tolist() == [0.0, 2.0, 10.0]


@pytest.mark.parametrize("call, error, message", [
    (lambda: mg.histc(mg.tensor([1, 2]), 3), TypeError, r"histc: expects a floating tensor, got dtype int64"),
    (lambda: mg.histc(mg.ones(3), 0), ValueError, r"histc: bins must be > 0, got 0"),
    (lambda: mg.histc(mg.ones(3), 3, min=3, max=1), ValueError, r"histc: max must be larger than min"),
    (lambda: mg.histc(mg.tensor([1.0, math.inf]), 3), ValueError, r"histc: range of \[1.0, inf\] is not finite"),
    (lambda: mg.histogram(mg.ones(3), 0), ValueError, r"histogram: bins must be > 0, got 0"),
    (lambda: mg.histogram(mg.ones(3), 2, range=(3.0, 1.0)), ValueError, r"min should not exceed max"),
    (lambda: mg.histogram(mg.ones(3), 2, weight=mg.ones(2)), ValueError, r"weight of shape \(2,\) does not match"),
    (lambda: mg.histogram(mg.tensor([1, 2]), 2), TypeError, r"histogram: expects a floating tensor"),
])
def test_histogram_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---- norm --------------------------------------------------------------------------------------------

_NORMS = [("fro", None), (2, None), (1, None), (3, None), (0.5, None), (-1, None), (math.inf, None), (-math.inf, None),
          (0, None), ("fro", 1), ("fro", (0, 2)), (2, -1), (1, (0, 1)), (3, 0), (math.inf, 2), (0, 1)]


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("p, dim", _NORMS, ids=[f"p={p} dim={d}" for p, d in _NORMS])
def test_norm_matches_torch(p, dim, keepdim):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 4))
    x[0, 1, 2] = 0.0  # an element that is 0: its gradient is 0 for every p > 0
    _assert_matches_torch(torch, lambda t: mg.norm(t, p, dim, keepdim), lambda t: torch.norm(t, p, dim, keepdim), x)
    _assert_matches_torch(torch, lambda t: t.norm(p=p, dim=dim, keepdim=keepdim),
                          lambda t: t.norm(p=p, dim=dim, keepdim=keepdim), x.astype(np.float32), rtol=1e-5)


@pytest.mark.parametrize("p", ["fro", 1, 3, 0.5, math.inf])
def test_norm_of_zeros_has_gradient_zero_as_in_torch(p):
    torch = pytest.importorskip("torch")
    _assert_matches_torch(torch, lambda t: mg.norm(t, p), lambda t: torch.norm(t, p), np.zeros(3))
    _assert_matches_torch(torch, lambda t: mg.norm(t, p, dim=1), lambda t: torch.norm(t, p, dim=1),
                          np.vstack([np.zeros(3), rng.standard_normal(3)]))


def test_norm_without_torch():
    x = mg.tensor([[3.0, -4.0], [0.0, 0.0]], requires_grad=True)
    assert mg.norm(x).item() == 5.0 and x.norm(1).item() == 7.0 and x.norm(math.inf).item() == 4.0
    rows = x.norm(dim=1)
    assert rows.tolist() == [5.0, 0.0]
    rows.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.6, -0.8], [0.0, 0.0]])
    assert x.norm(0).item() == 2.0 and x.norm(dtype=mg.float32).dtype == mg.float32
    with pytest.raises(NotImplementedError, match="p='nuc'"):
        mg.norm(x, "nuc")
    with pytest.raises(ValueError, match="order 'abc' is not supported"):
        mg.norm(x, "abc")
    with pytest.raises(ValueError, match=r"p='fro' takes at most 2 dims"):
        mg.norm(mg.ones(2, 2, 2), dim=(0, 1, 2))
    with pytest.raises(TypeError, match="norm: expects a floating tensor, got dtype int64"):
        mg.norm(mg.tensor([3, 4]))
    with pytest.raises(IndexError, match="norm: dim 5 is out of range"):
        mg.norm(x, 2, 5)
    with pytest.raises(ValueError, match="cannot take the inf norm of an empty tensor"):
        mg.norm(mg.zeros(0, 3), math.inf)


def test_histogram_takes_pytorchs_default_of_100_bins():
    values = mg.tensor(np.linspace(0.0, 1.0, 1000))
    result = mg.histogram(values)
    assert result.hist.shape == (100,) and result.bin_edges.shape == (101,) and float(result.hist.sum()) == 1000
