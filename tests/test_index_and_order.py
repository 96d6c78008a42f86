"""Triangles, scans, sorting, repeating, flipping, scattering, selecting and diagonals: PyTorch's functions
with PyTorch's values, dtypes, gradients, views and errors.

The comparisons run each call through microgradnp and through PyTorch (skipped without it); the tests
after them need only NumPy.
"""
import numpy as np
import pytest

import microgradnp as mg

_rng = np.random.default_rng(7)


def _distinct(*shape):
    return _rng.permutation(np.linspace(-2.0, 2.0, int(np.prod(shape)))).reshape(shape)


def _ints(*shape):
    return _rng.integers(-3, 4, shape)


M = _distinct(3, 4)
B = _distinct(2, 3, 4)
V = _distinct(5)
TIES = np.array([[1.0, 0.5, 1.0, -2.0, 0.5], [3.0, 3.0, 3.0, 1.0, np.nan]])
ZEROS = np.array([[0.5, 0.0, 1.5, -0.7, 0.0, 2.0], [1.2, -0.5, 0.0, 0.8, 1.1, 0.9], [0.0, 2.0, 0.5, 1.5, -1.0, 0.3]])

# (label, call on a library and its tensors, the arrays): the call runs with lib = microgradnp and lib = torch
CASES = [
    ("tril", lambda lib, x: lib.tril(x), [M]),
    ("tril(-1) batched", lambda lib, x: x.tril(-1), [B]),
    ("triu(2)", lambda lib, x: lib.triu(x, diagonal=2), [M]),
    ("triu ints", lambda lib, x: x.triu(), [_ints(3, 3)]),
    ("cumsum", lambda lib, x: lib.cumsum(x, 1), [M]),
    ("cumsum dim -1 of 3-D", lambda lib, x: x.cumsum(dim=-1), [B]),
    ("cumsum ints -> int64", lambda lib, x: lib.cumsum(x, 0), [_ints(4).astype(np.int32)]),
    ("cumsum bools -> int64", lambda lib, x: lib.cumsum(x, 0), [np.array([True, False, True])]),
    ("cumsum dtype", lambda lib, x: lib.cumsum(x, 0, dtype=lib.float32), [V]),
    ("cumsum 0-d", lambda lib, x: lib.cumsum(x, 0), [np.array(1.5)]),
    ("cumprod", lambda lib, x: lib.cumprod(x, 1), [M]),
    ("cumprod with zeros", lambda lib, x: x.cumprod(1), [ZEROS]),
    ("cumprod with zeros dim 0", lambda lib, x: lib.cumprod(x, 0), [ZEROS]),
    ("cumprod ints", lambda lib, x: lib.cumprod(x, -1), [_ints(2, 4)]),
    ("sort", lambda lib, x: lib.sort(x), [M]),
    ("sort dim 0 descending", lambda lib, x: x.sort(0, descending=True), [M]),
    ("sort stable ties and NaN", lambda lib, x: lib.sort(x, stable=True), [TIES]),
    ("sort stable descending ties and NaN", lambda lib, x: lib.sort(x, dim=1, descending=True, stable=True),
     [TIES]),
    ("sort 0-d", lambda lib, x: lib.sort(x), [np.array(2.0)]),
    ("argsort", lambda lib, x: lib.argsort(x, dim=0), [M]),
    ("argsort stable descending", lambda lib, x: x.argsort(descending=True, stable=True), [TIES]),
    ("topk", lambda lib, x: lib.topk(x, 2), [M]),
    ("topk smallest dim 0", lambda lib, x: x.topk(2, dim=0, largest=False), [M]),
    ("topk 0", lambda lib, x: lib.topk(x, 0), [M]),
    ("repeat", lambda lib, x: x.repeat(2, 3), [M]),
    ("repeat new dims", lambda lib, x: x.repeat(2, 1, 1, 2), [M]),
    ("repeat ones", lambda lib, x: x.repeat(1, 1), [M]),
    ("repeat tuple with zero", lambda lib, x: x.repeat((0, 2)), [M]),
    ("tile", lambda lib, x: lib.tile(x, (2,)), [M]),
    ("tile more dims", lambda lib, x: x.tile((2, 1, 2)), [M]),
    ("tile method varargs", lambda lib, x: x.tile(2, 2), [M]),
    ("tile int", lambda lib, x: lib.tile(x, (3,)), [V]),
    ("repeat_interleave int", lambda lib, x: lib.repeat_interleave(x, 2), [M]),
    ("repeat_interleave dim", lambda lib, x: x.repeat_interleave(3, dim=1), [M]),
    ("repeat_interleave counts", lambda lib, x: lib.repeat_interleave(x, lib.tensor([2, 0, 1]), dim=0), [M]),
    ("repeat_interleave output_size", lambda lib, x: lib.repeat_interleave(x, lib.tensor([1, 2, 1]), 0,
                                                                           output_size=4), [M]),
    ("repeat_interleave counts alone", lambda lib, x: lib.repeat_interleave(x), [np.array([1, 3, 0, 2])]),
    ("flip", lambda lib, x: lib.flip(x, (0, 2)), [B]),
    ("flip method varargs", lambda lib, x: x.flip(0, 1), [M]),
    ("flip dims keyword", lambda lib, x: lib.flip(x, dims=[-1]), [M]),
    ("fliplr", lambda lib, x: lib.fliplr(x), [B]),
    ("flipud", lambda lib, x: x.flipud(), [V]),
    ("roll", lambda lib, x: lib.roll(x, 1, 1), [M]),
    ("roll negative", lambda lib, x: x.roll(-5, 0), [M]),
    ("roll two dims", lambda lib, x: lib.roll(x, (1, 2), (0, -1)), [B]),
    ("roll flattened", lambda lib, x: lib.roll(x, 3), [M]),
    ("scatter src", lambda lib, x, s: lib.scatter(x, 1, lib.tensor([[2, 0], [1, 3], [0, 2]]), s), [M, _distinct(3, 2)]),
    # (PyTorch's backward fails for a src larger than the index, and has none with reduce: values only)
    ("scatter src larger", lambda lib, x, s: lib.scatter(x, 1, lib.tensor([[2, 0], [1, 3], [0, 2]]), s),
     [M, _distinct(3, 3)]),
    ("scatter value", lambda lib, x: x.scatter(0, lib.tensor([[2, 0, 1, 1]]), 9.5), [M]),
    ("scatter value keyword", lambda lib, x: lib.scatter(x, 1, lib.tensor([[1], [0], [3]]), value=-1.0), [M]),
    ("scatter reduce add", lambda lib, x, s: lib.scatter(x, 0, lib.tensor([[1, 1, 0, 2], [1, 0, 0, 2]]), s,
                                                         reduce="add"), [M, _distinct(2, 4)]),
    ("scatter_add", lambda lib, x, s: lib.scatter_add(x, 1, lib.tensor([[0, 0, 3], [2, 2, 2], [1, 3, 1]]), s),
     [M, _distinct(3, 3)]),
    ("scatter_add method 3-D", lambda lib, x, s: x.scatter_add(2, lib.tensor([[[3, 3], [0, 1], [2, 2]]] * 2), s),
     [B, _distinct(2, 3, 2)]),
    ("index_select", lambda lib, x: lib.index_select(x, 1, lib.tensor([3, 0, 3])), [M]),
    ("index_select method dim 0", lambda lib, x: x.index_select(0, lib.tensor([2, 2])), [M]),
    ("index_select 0-d index", lambda lib, x: lib.index_select(x, 0, lib.tensor(1)), [M]),
    ("masked_select", lambda lib, x: lib.masked_select(x, x > 0), [M]),
    ("masked_select broadcast", lambda lib, x: x.masked_select(lib.tensor([True, False, False, True])), [B]),
    ("nonzero", lambda lib, x: lib.nonzero(x), [_ints(3, 4)]),
    ("nonzero as_tuple", lambda lib, x: x.nonzero(as_tuple=True), [_ints(3, 4)]),
    ("nonzero 0-d", lambda lib, x: lib.nonzero(x), [np.array(2.0)]),
    ("nonzero 0-d as_tuple", lambda lib, x: lib.nonzero(x, as_tuple=True), [np.array(2.0)]),
    ("argwhere", lambda lib, x: lib.argwhere(x), [_ints(2, 3, 2)]),
    ("unbind", lambda lib, x: lib.unbind(x, 1), [M]),
    ("unbind method", lambda lib, x: x.unbind(), [B]),
    ("narrow", lambda lib, x: lib.narrow(x, 1, 1, 2), [M]),
    ("narrow negative start", lambda lib, x: x.narrow(-1, -3, 3), [B]),
    ("diag of a vector", lambda lib, x: lib.diag(x), [V]),
    ("diag of a vector offset", lambda lib, x: x.diag(-2), [V]),
    ("diag of a matrix", lambda lib, x: lib.diag(x, 1), [M]),
    ("diag of a matrix below", lambda lib, x: lib.diag(x, diagonal=-2), [M]),
    ("diagonal", lambda lib, x: lib.diagonal(x), [M]),
    ("diagonal offset dims", lambda lib, x: x.diagonal(1, 0, 2), [B]),
    ("diagonal keywords", lambda lib, x: lib.diagonal(x, offset=-1, dim1=-1, dim2=-2), [B]),
    ("diagonal past the edge", lambda lib, x: lib.diagonal(x, 5), [M]),
    ("trace", lambda lib, x: lib.trace(x), [M]),
    ("trace ints", lambda lib, x: x.trace(), [_ints(3, 3).astype(np.int32)]),
]


VALUES_ONLY = {"scatter src larger", "scatter reduce add"}


def _run(lib, fn, arrays):
    tensors = [lib.tensor(a.copy(), requires_grad=a.dtype.kind == "f") for a in arrays]
    return tensors, fn(lib, *tensors)


def _outputs(result):
    return list(result) if isinstance(result, tuple) else [result]


def _dtype_name(t):
    return str(t.dtype).rsplit(".", 1)[-1]


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
@pytest.mark.parametrize("label, fn, arrays", CASES, ids=[c[0] for c in CASES])
def test_values_dtypes_and_gradients_match_pytorch(label, fn, arrays):
    torch = pytest.importorskip("torch")
    ours, our_result = _run(mg, fn, arrays)
    theirs, their_result = _run(torch, fn, arrays)
    assert isinstance(our_result, tuple) == isinstance(their_result, tuple)
    our_outs, their_outs = _outputs(our_result), _outputs(their_result)
    assert len(our_outs) == len(their_outs)
    for a, b in zip(our_outs, their_outs):
        assert a.shape == tuple(b.shape), label
        assert _dtype_name(a) == _dtype_name(b), label
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-6, equal_nan=True)
    if isinstance(their_result, tuple) and hasattr(their_result, "values"):  # torch.return_types
        assert our_result.values is our_result[0] and our_result.indices is our_result[1]
    # the gradient of a weighted sum of the floating outputs (weighted 0 where an output is NaN)
    weights = [np.where(np.isnan(b.detach().numpy()), 0.0, np.random.default_rng(k).standard_normal(b.shape))
               if b.is_floating_point() else None for k, b in enumerate(their_outs)]
    floating = [k for k, b in enumerate(their_outs) if b.requires_grad]
    if not floating or label in VALUES_ONLY:
        return
    our_total = sum((our_outs[k] * mg.tensor(weights[k])).sum() for k in floating)
    their_total = sum((their_outs[k] * torch.tensor(weights[k])).sum() for k in floating)
    our_total.backward()
    their_total.backward()
    for a, b in zip(ours, theirs):
        if b.requires_grad:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-6, atol=1e-12, err_msg=label)


# ---- without PyTorch -----------------------------------------------------------------------------------

def _leaf(values):
    return mg.tensor(np.array(values, dtype=np.float64), requires_grad=True)


def test_cumprod_gradient_is_exact_at_zeros():
    x = _leaf([2.0, 0.0, 3.0])  # out = [2, 0, 0]
    mg.cumprod(x, 0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0 + 2.0 * 3.0, 0.0])
    y = _leaf([0.0, 0.0, 4.0])  # two zeros: only the first element's own output moves
    mg.cumprod(y, 0).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [1.0, 0.0, 0.0])


def test_cumprod_second_derivative_at_a_zero():
    x = _leaf([2.0, 0.0, 3.0])
    (g,) = mg.autograd.grad(mg.cumprod(x, 0).sum(), [x], create_graph=True)
    (h,) = mg.autograd.grad(g[1], [x])
    # d/dx (x0 + x0 x1 + x0 x1 x2)/dx1 = x0 + x0 x2: its gradient is (1 + x2, 0, x0)
    np.testing.assert_array_equal(h.numpy(), [4.0, 0.0, 2.0])


def test_sort_and_topk_return_values_and_indices_whose_gradient_goes_through_values():
    x = _leaf([[3.0, 1.0, 2.0]])
    result = x.sort(descending=True)
    values, indices = result
    assert result.values is values and result.indices is indices
    assert indices.dtype == mg.int64 and not indices.requires_grad
    np.testing.assert_array_equal(indices.numpy(), [[0, 2, 1]])
    (values * mg.tensor([[1.0, 10.0, 100.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 100.0, 10.0]])
    top = mg.topk(mg.tensor([1.0, 5.0, 3.0]), 2)
    assert top.values.tolist() == [5.0, 3.0] and top.indices.tolist() == [1, 2]


def test_scatter_gradient_is_zero_where_the_input_is_overwritten():
    x, src = _leaf([[1.0, 2.0, 3.0]]), _leaf([[10.0, 20.0]])
    out = mg.scatter(x, 1, mg.tensor([[2, 0]]), src)
    assert out.tolist() == [[20.0, 2.0, 10.0]]
    (out * mg.tensor([[1.0, 2.0, 3.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 2.0, 0.0]])
    np.testing.assert_array_equal(src.grad.numpy(), [[3.0, 1.0]])


def test_scatter_add_and_index_select_sum_gradients_into_repeated_positions():
    x, src = _leaf([0.0, 0.0]), _leaf([1.0, 2.0, 3.0])
    out = mg.scatter_add(x, 0, mg.tensor([1, 1, 0]), src)
    assert out.tolist() == [3.0, 3.0]
    (out * mg.tensor([5.0, 7.0])).sum().backward()
    np.testing.assert_array_equal(src.grad.numpy(), [7.0, 7.0, 5.0])
    y = _leaf([1.0, 2.0])
    mg.index_select(y, 0, mg.tensor([1, 1, 0, 1])).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [1.0, 3.0])


def test_scatter_in_place_follows_the_in_place_rules():
    with pytest.raises(RuntimeError, match="scatter_: a leaf tensor that requires grad"):
        _leaf([1.0, 2.0]).scatter_(0, mg.tensor([0]), 5.0)
    x = _leaf([1.0, 2.0, 3.0])
    h = x * 2
    assert h.scatter_(0, mg.tensor([1]), mg.tensor([9.0], dtype=mg.float64)) is h
    assert h.tolist() == [2.0, 9.0, 6.0]
    h.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.0, 2.0])
    # src's gradient arrives also where the tensor written into needs none
    target, src = mg.zeros(3, dtype=mg.float64), _leaf([4.0, 5.0])
    target.scatter_add_(0, mg.tensor([2, 2]), src)
    assert target.requires_grad and target.tolist() == [0.0, 0.0, 9.0]
    (target * mg.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(src.grad.numpy(), [3.0, 3.0])


def test_scatter_in_place_under_no_grad_moves_the_version_of_what_was_saved():
    x = _leaf([0.5, 0.3])
    h = x * 1
    s = h.exp()  # saves its output
    with mg.no_grad():
        s.scatter_(0, mg.tensor([0]), 1.0)
    assert s.tolist()[0] == 1.0
    with pytest.raises(RuntimeError, match="modified by an in-?place operation"):
        s.sum().backward()


def test_scatter_in_place_refuses_a_tensor_with_a_live_view():
    x = _leaf([1.0, 2.0, 3.0])
    h = x * 1
    view = h[1:]  # noqa: F841 (kept alive)
    with pytest.raises(RuntimeError, match="scatter_: this tensor shares its memory"):
        h.scatter_(0, mg.tensor([0]), mg.tensor([7.0], dtype=mg.float64))


def test_diagonal_is_a_view_that_writes_go_through():
    m = mg.zeros(3, 3)
    m.diagonal().fill_(1.0)
    np.testing.assert_array_equal(m.numpy(), np.eye(3))
    m.diagonal(1)[0] = 5.0
    assert m.numpy()[0, 1] == 5.0
    x = _leaf([[1.0, 2.0], [3.0, 4.0]])
    h = x * 1
    s = h.exp()  # saves its output, h is only read for shapes
    with mg.no_grad():
        s.diagonal().zero_()
    with pytest.raises(RuntimeError, match="modified by an in-?place operation"):
        s.sum().backward()


def test_unbind_and_narrow_are_views_and_flip_roll_repeat_diag_are_copies():
    x = mg.arange(6.0).reshape(2, 3)
    x.unbind(0)[1][0] = -1.0
    x.narrow(1, 2, 1)[0, 0] = -2.0
    assert x.tolist() == [[0.0, 1.0, -2.0], [-1.0, 4.0, 5.0]]
    before = x.numpy().copy()
    for copy in (x.flip(0), x.roll(1), x.repeat(1, 1), x.tile((1,)), mg.diag(x), x.repeat_interleave(1, 0),
                 x.index_select(0, mg.tensor([0])), mg.fliplr(x)):
        copy[...] = 100.0
    np.testing.assert_array_equal(x.numpy(), before)


def test_integer_results_carry_no_gradient():
    x = _leaf([[0.0, 1.5], [2.0, 0.0]])
    for result in (x.argsort(), x.sort()[1], x.topk(1)[1], mg.nonzero(x), mg.argwhere(x)):
        assert result.dtype == mg.int64 and not result.requires_grad and result.grad_fn is None
    assert mg.nonzero(x).tolist() == [[0, 1], [1, 0]]
    rows, cols = x.nonzero(as_tuple=True)
    assert rows.tolist() == [0, 1] and cols.tolist() == [1, 0]


@pytest.mark.parametrize("call, error, match", [
    (lambda: mg.tril(mg.ones(3)), ValueError, r"tril: .*at least 2 dims.*\(3,\)"),
    (lambda: mg.cumsum(mg.ones(2, 3), 2), IndexError, "cumsum: dim 2 is out of range"),
    (lambda: mg.topk(mg.ones(2, 3), 4), RuntimeError, r"topk: k=4 .* size 3 .*\(2, 3\)"),
    (lambda: mg.ones(2, 3).repeat(2), ValueError, r"repeat: 1 repeat count.*\(2, 3\)"),
    (lambda: mg.ones(2, 3).repeat(2, -1), ValueError, "repeat: repeat counts must be non-negative"),
    (lambda: mg.repeat_interleave(mg.ones(3), mg.tensor([1, 2]), 0), ValueError,
     r"repeat_interleave: repeats of shape \(2,\).*size 3"),
    (lambda: mg.repeat_interleave(mg.ones(3), 2, output_size=5), ValueError, "output_size=5 .* 6"),
    (lambda: mg.flip(mg.ones(2, 3), (0, 0)), ValueError, "flip: dim 0 appears more than once"),
    (lambda: mg.fliplr(mg.ones(3)), ValueError, r"fliplr: .*\(3,\)"),
    (lambda: mg.roll(mg.ones(2, 3), (1, 2), 0), ValueError, r"roll: shifts \(1, 2\) and dims \(0,\)"),
    (lambda: mg.roll(mg.ones(2, 3), (1, 2)), ValueError, "roll: 2 shifts"),
    (lambda: mg.scatter(mg.ones(2, 3), 1, mg.tensor([[3]]), 1.0), IndexError,
     r"scatter: index 3 is out of bounds for dim 1 of input of shape \(2, 3\)"),
    (lambda: mg.scatter(mg.ones(2, 3), 1, mg.tensor([[-1]]), 1.0), IndexError, "scatter: index -1 is out of bounds"),
    (lambda: mg.scatter(mg.ones(2, 3), 1, mg.tensor([0, 1]), 1.0), ValueError,
     r"scatter: index has 1 dims but input has 2 \(shapes \(2,\) and \(2, 3\)\)"),
    (lambda: mg.scatter(mg.ones(2, 3), 1, mg.tensor([[0], [1], [0]]), 1.0), ValueError,
     r"scatter: index of shape \(3, 1\) is larger than input of shape \(2, 3\) at dim 0"),
    (lambda: mg.scatter(mg.ones(2, 3), 1, mg.tensor([[0, 1]]), mg.ones(1, 1)), ValueError,
     r"scatter: index of shape \(1, 2\) is larger than src of shape \(1, 1\)"),
    (lambda: mg.scatter(mg.ones(2, 3), 1, mg.tensor([[0]]), mg.ones(1, 1, dtype=mg.float64)), TypeError,
     "scatter: src has dtype float64 but input has float32"),
    (lambda: mg.scatter(mg.ones(2, 3), 1, mg.tensor([[0.0]]), 1.0), TypeError, "scatter: index must be an integer"),
    (lambda: mg.scatter(mg.ones(2, 3), 1, mg.tensor([[0]]), 1.0, reduce="multiply"), NotImplementedError,
     "scatter: reduce='multiply'"),
    (lambda: mg.scatter_add(mg.ones(2, 3), 1, mg.tensor([[0]]), 1.0), TypeError, "scatter_add: src must be a tensor"),
    (lambda: mg.index_select(mg.ones(2, 3), 1, mg.tensor([-1])), IndexError,
     r"index_select: index -1 is out of range for dim 1 of size 3"),
    (lambda: mg.index_select(mg.ones(2, 3), 1, mg.tensor([[0]])), ValueError, r"index_select: .*\(1, 1\)"),
    (lambda: mg.masked_select(mg.ones(2, 3), mg.tensor([1, 0, 1])), TypeError, "masked_select: mask must be a bool"),
    (lambda: mg.masked_select(mg.ones(2, 3), mg.tensor([True, False])), ValueError,
     r"masked_select: mask of shape \(2,\) and input of shape \(2, 3\)"),
    (lambda: mg.unbind(mg.tensor(1.0)), ValueError, "unbind: .*0-d"),
    (lambda: mg.narrow(mg.ones(2, 3), 1, 2, 2), ValueError, r"narrow: start \(2\) \+ length \(2\) exceeds dim 1"),
    (lambda: mg.narrow(mg.ones(2, 3), 1, -4, 1), IndexError, "narrow: start -4 is out of range"),
    (lambda: mg.diag(mg.ones(2, 2, 2)), ValueError, r"diag: expects a 1-D or 2-D tensor, got shape \(2, 2, 2\)"),
    (lambda: mg.diagonal(mg.ones(2, 2), 0, 1, -1), ValueError, "diagonal: dim1 and dim2 name the same dim 1"),
    (lambda: mg.trace(mg.ones(2, 2, 2)), ValueError, r"trace: expects a 2-D tensor, got shape \(2, 2, 2\)"),
])
def test_bad_arguments_raise_naming_the_function_and_the_shapes(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_pytorch_raises_where_these_do():
    torch = pytest.importorskip("torch")
    for call in (lambda lib: lib.tril(lib.ones(3)), lambda lib: lib.topk(lib.ones(2, 3), 4),
                 lambda lib: lib.flip(lib.ones(2, 3), (0, 0)),
                 lambda lib: lib.scatter(lib.ones(2, 3), 1, lib.tensor([[3]]), 1.0),
                 lambda lib: lib.index_select(lib.ones(2, 3), 1, lib.tensor([-1])),
                 lambda lib: lib.narrow(lib.ones(2, 3), 1, 2, 2), lambda lib: lib.trace(lib.ones(2, 2, 2)),
                 lambda lib: lib.diagonal(lib.ones(2, 2), 0, 1, -1)):
        for lib in (mg, torch):
            with pytest.raises((RuntimeError, ValueError, IndexError, TypeError)):
                call(lib)
