"""Shape functions follow PyTorch on the cases of issue 17 (a differential fuzzer against PyTorch 2.13).

Each test asserts literal values and shapes, so it runs without PyTorch; the tests named ``..._as_torch``
compare with PyTorch where it is installed and are skipped otherwise.
"""
import re
import warnings

import numpy as np
import pytest

import microgradnp as mg
import microgradnp.nn.functional as F
from microgradnp import functions


def x345():
    return mg.tensor(np.arange(60.0).reshape(3, 4, 5))


def _torch():
    return pytest.importorskip("torch")


def _to_torch(torch, index):
    items = index if isinstance(index, tuple) else (index,)
    return tuple(torch.tensor(i) if isinstance(i, np.ndarray) else i for i in items)


# ---- 8: indexing by PyTorch's rule -------------------------------------------------------------------

# (index, shape of x[index] for x of shape (3, 4, 5), by PyTorch's rule)
MASK5 = np.array([True, False, True, False, True])
INDICES = [
    ((0, slice(None), [1, 2]), (4, 2)),          # an integer apart from the array: PyTorch keeps it in place
    ((slice(None), 0, [1, 2]), (3, 2)),          # integer and array side by side: both agree
    (([0, 1], slice(None), 0), (2, 4)),
    (([0, 1], slice(None), [1, 2]), (2, 4)),     # two arrays apart: their dims go first, in both
    ((0, None, [1, 2]), (1, 2, 5)),
    ((None, 0, slice(None), [1, 2]), (1, 4, 2)),
    ((0, Ellipsis, [1, 2]), (4, 2)),
    ((slice(None), [0, 1], Ellipsis, [1, 2]), (3, 2)),  # an Ellipsis for no dim does not part them in PyTorch
    ((0, slice(None), True), (4, 1, 5)),         # a bool is an index of a new dim
    ((0, slice(None), False), (4, 0, 5)),
    ((0, slice(None), MASK5), (4, 3)),
    ((0, slice(1, 3), [[1], [4]]), (2, 2, 1)),
    ((0, [0, 2], [1, 4]), (2,)),
    ((1, slice(None), 2), (4,)),                 # no arrays: basic indexing, the same in both
    ((slice(None), [1, 2]), (3, 2, 5)),
    ((np.array(0), slice(None), [1, 2]), (4, 2)),  # a 0-d integer tensor is an integer
]


@pytest.mark.parametrize("index, shape", INDICES, ids=[repr(i) for i, _ in INDICES])
def test_getitem_lays_out_an_integer_beside_index_arrays_as_pytorch(index, shape):
    x = x345()
    assert x[index].shape == shape


def test_getitem_integer_apart_from_an_index_array_values_and_gradient():
    x = mg.tensor(np.arange(60.0).reshape(3, 4, 5), requires_grad=True)
    y = x[0, :, [1, 2]]
    assert y.shape == (4, 2)
    assert y.tolist() == [[1.0, 2.0], [6.0, 7.0], [11.0, 12.0], [16.0, 17.0]]
    (y * mg.tensor([[1.0, 10.0]])).sum().backward()
    expected = np.zeros((3, 4, 5))
    expected[0, :, 1], expected[0, :, 2] = 1.0, 10.0
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_index_put_uses_pytorchs_layout():
    a = mg.tensor(np.zeros((3, 4, 5)), requires_grad=True)
    out = mg.index_put(a, (0, slice(None), [1, 2]), mg.tensor(np.arange(8.0).reshape(4, 2)))
    assert out.numpy()[0, :, 1].tolist() == [0.0, 2.0, 4.0, 6.0]
    assert out.numpy()[0, :, 2].tolist() == [1.0, 3.0, 5.0, 7.0]


def test_setitem_while_recording_uses_pytorchs_layout():
    a = mg.tensor(np.zeros((3, 4, 5)), requires_grad=True)
    t = a * 1
    t[0, :, [1, 2]] = mg.tensor(np.arange(8.0).reshape(4, 2))
    assert t.numpy()[0, 1].tolist() == [0.0, 2.0, 3.0, 0.0, 0.0]


def test_setitem_array_uses_pytorchs_layout():
    data = np.zeros((3, 4, 5))
    # as Tensor.__setitem__ calls it: with the index from index_from
    functions.setitem_array(data, functions.index_from((0, slice(None), [1, 2])), np.arange(8.0).reshape(4, 2))
    assert data[0, 1].tolist() == [0.0, 2.0, 3.0, 0.0, 0.0]


def test_setitem_outside_recording_uses_pytorchs_layout():
    t = mg.zeros(3, 4, 5)
    t[0, :, [1, 2]] = mg.tensor(np.arange(8.0).reshape(4, 2))
    assert t.numpy()[0, 1].tolist() == [0.0, 2.0, 3.0, 0.0, 0.0]


def test_getitem_checks_indices_that_select_nothing_in_the_rewritten_layout():
    with pytest.raises(IndexError, match=re.escape("getitem: index 7 is out of bounds for dim 0 with size 3")):
        x345()[7, 1:1, [0]]
    with pytest.raises(IndexError, match=re.escape("getitem: the mask of shape (4,) does not match the shape (5,)")):
        x345()[0, :, np.ones(4, bool)]


def test_getitem_with_an_empty_list_selects_nothing():
    assert x345()[[]].shape == (0, 4, 5)


@pytest.mark.parametrize("index, shape", INDICES, ids=[repr(i) for i, _ in INDICES])
def test_getitem_and_setitem_as_torch(index, shape):
    torch = _torch()
    data = np.random.default_rng(0).standard_normal((3, 4, 5))
    t = torch.tensor(data, requires_grad=True)
    expected = t[_to_torch(torch, index)]
    x = mg.tensor(data, requires_grad=True)
    y = x[index]
    assert tuple(expected.shape) == y.shape == shape
    np.testing.assert_array_equal(y.detach().numpy(), expected.detach().numpy())
    weights = np.random.default_rng(1).standard_normal(shape)
    (expected * torch.tensor(weights)).sum().backward()
    (y * mg.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())
    values = np.random.default_rng(2).standard_normal(shape)
    target = torch.tensor(data)
    target[_to_torch(torch, index)] = torch.tensor(values)
    recorded = mg.tensor(data, requires_grad=True) * 1
    recorded[index] = mg.tensor(values)
    np.testing.assert_array_equal(recorded.detach().numpy(), target.numpy())
    plain = data.copy()
    functions.setitem_array(plain, functions.index_from(index), values)
    np.testing.assert_array_equal(plain, target.numpy())


# ---- 9 (and 13): split and chunk of an empty dim, split sizes of 0 and below -------------------------------

def test_split_and_chunk_of_an_empty_dim_give_empty_pieces():
    e = mg.zeros(2, 0)
    assert [p.shape for p in mg.split(e, 2, 1)] == [(2, 0)]
    assert [p.shape for p in mg.split(e, 0, 1)] == [(2, 0)]
    assert [p.shape for p in mg.split(e, [0, 0], 1)] == [(2, 0), (2, 0)]
    assert [p.shape for p in mg.chunk(e, 3, 1)] == [(2, 0), (2, 0), (2, 0)]
    assert [p.shape for p in mg.chunk(mg.zeros(2, 5), 4, 1)] == [(2, 2), (2, 2), (2, 1)]


def test_split_size_zero_of_a_non_empty_dim_raises():
    with pytest.raises(ValueError, match=re.escape(
            "split: split_size can be 0 only when dimension 1 has length 0, but it has length 5")):
        mg.split(mg.zeros(2, 5), 0, 1)


def test_split_refuses_negative_sizes():
    with pytest.raises(ValueError, match=re.escape("split: sizes must be non-negative, got [-1, 3]")):
        mg.split(mg.zeros(2), [-1, 3])
    with pytest.raises(ValueError, match=re.escape("split: split_size must be non-negative, got -1")):
        mg.split(mg.zeros(2), -1)
    with pytest.raises(ValueError, match=re.escape("split: expects a tensor with at least 1 dim")):
        mg.split(mg.tensor(1.0), 1)


SPLITS = {"split(0)": lambda t: t.split(0, -1), "split(2)": lambda t: t.split(2, -1),
          "split(7)": lambda t: t.split(7, -1), "chunk(3)": lambda t: t.chunk(3, -1),
          "chunk(1)": lambda t: t.chunk(1, -1)}


@pytest.mark.parametrize("shape", [(2, 0), (2, 5), (0,), (6,)])
@pytest.mark.parametrize("call", sorted(SPLITS))
def test_split_and_chunk_as_torch(shape, call):
    torch = _torch()
    try:
        expected = [tuple(p.shape) for p in SPLITS[call](torch.zeros(shape))]
    except RuntimeError:
        with pytest.raises(ValueError):
            SPLITS[call](mg.zeros(*shape))
    else:
        assert [p.shape for p in SPLITS[call](mg.zeros(*shape))] == expected


# ---- 10: Python floats in where and masked_fill ---------------------------------------------------

def test_where_with_python_floats_gives_the_default_dtype():
    mask = mg.tensor([True, False])
    assert mg.where(mask, 1.0, 0.0).dtype == mg.float32
    assert mg.where(mask, 1.0, 0.0).tolist() == [1.0, 0.0]
    assert mg.where(mask, 1, 0.5).dtype == mg.float32
    assert mg.where(mask, mg.tensor([1, 2]), 2.5).dtype == mg.float32
    assert mg.where(mask, 2.5, mg.tensor([True, True])).dtype == mg.float32
    assert mg.where(mask, mg.tensor([1.0, 2.0], dtype=mg.float64), 2.5).dtype == mg.float64
    assert mg.where(mask, mg.tensor([1.0, 2.0], dtype=mg.float16), 2.5).dtype == mg.float16
    assert mg.where(mask, mg.tensor([1, 2], dtype=mg.int32), 7).dtype == mg.int32
    mg.set_default_dtype(mg.float64)
    try:
        assert mg.where(mask, 1.0, 0.0).dtype == mg.float64
    finally:
        mg.set_default_dtype(mg.float32)


def test_masked_fill_keeps_the_input_dtype():
    mask = mg.tensor([True, False])
    out = mg.tensor([1, 2]).masked_fill(mask, 2.7)
    assert out.dtype == mg.int64 and out.tolist() == [2, 2]
    assert mg.tensor([1.0, 2.0]).masked_fill(mask, mg.tensor(5.0, dtype=mg.float64)).dtype == mg.float32
    assert mg.tensor([True, False]).masked_fill(mask, 0.5).tolist() == [True, False]
    assert mg.tensor([1.0, 2.0]).masked_fill(mg.tensor([[True, False]]), 3.0).shape == (1, 2)  # broadcast both ways
    with pytest.raises(ValueError, match=re.escape("masked_fill: value inf cannot be converted to int64")):
        mg.tensor([1, 2]).masked_fill(mask, float("inf"))
    with pytest.raises(ValueError, match=re.escape("masked_fill: value must be a number or a 0-d tensor")):
        mg.tensor([1.0, 2.0]).masked_fill(mask, mg.tensor([5.0]))


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int32", "int64", "bool", "uint8"])
@pytest.mark.parametrize("scalar", [1.5, 2, True])
def test_where_and_masked_fill_dtypes_as_torch(dtype, scalar):
    torch = _torch()
    mask = np.array([True, False])
    data = np.array([1, 0]).astype(dtype)
    tm, mm = torch.tensor(mask), mg.tensor(mask)
    tx, mx = torch.tensor(data), mg.tensor(data)
    for expected, got in [(torch.where(tm, tx, scalar), mg.where(mm, mx, scalar)),
                          (torch.where(tm, scalar, tx), mg.where(mm, scalar, mx)),
                          (tx.masked_fill(tm, scalar), mx.masked_fill(mm, scalar))]:
        assert str(expected.dtype).removeprefix("torch.") == str(got.dtype)
        assert expected.tolist() == got.tolist()
    assert str(torch.where(tm, scalar, 0.5).dtype).removeprefix("torch.") == str(mg.where(mm, scalar, 0.5).dtype)


# ---- 11: gather checks its indices and dim ----------------------------------------------------------

def test_gather_refuses_negative_indices_and_out_of_range_dims():
    x = mg.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    with pytest.raises(IndexError, match=re.escape(
            "gather: index of shape (1, 2) does not fit input of shape (2, 3) along dim 1: index -1 is out of bounds "
            "(expected 0 to 2; negative indices do not count from the end)")):
        mg.gather(x, 1, mg.tensor([[0, -1]]))
    with pytest.raises(IndexError, match=re.escape("gather: dim 2 is out of range for a tensor with 2 dim(s)")):
        mg.gather(x, 2, mg.tensor([[0, 1]]))
    with pytest.raises(IndexError, match=re.escape("gather: dim -3 is out of range")):
        mg.gather(x, -3, mg.tensor([[0, 1]]))
    with pytest.raises(IndexError, match=re.escape("it is larger than the input at dim 0 (3 > 2)")):
        mg.gather(x, 1, mg.tensor([[0], [1], [2]]))
    assert mg.gather(x, -1, mg.tensor([[2, 0]])).tolist() == [[2.0, 0.0]]
    assert mg.gather(mg.tensor(5.0), 0, mg.tensor(0)).tolist() == 5.0
    assert mg.gather(x, 1, mg.zeros(2, 0, dtype=mg.int64)).shape == (2, 0)


def test_gather_errors_as_torch():
    torch = _torch()
    data = np.arange(6.0).reshape(2, 3)
    for dim, index in [(1, [[0, -1]]), (2, [[0, 1]]), (-3, [[0, 1]]), (1, [[0], [1], [2]]), (0, [[2, 0, 0]])]:
        with pytest.raises((RuntimeError, IndexError)):
            torch.gather(torch.tensor(data), dim, torch.tensor(index))
        with pytest.raises(IndexError):
            mg.gather(mg.tensor(data), dim, mg.tensor(index))


# ---- 12: expand ----------------------------------------------------------------------------------

def test_expand_refuses_minus_one_in_a_new_leading_dim():
    with pytest.raises(ValueError, match=re.escape(
            "expand: the size -1 is not allowed for the new leading dim 0 (sizes (-1, 3), tensor of shape (3,))")):
        mg.zeros(3).expand(-1, 3)
    with pytest.raises(ValueError, match=re.escape("expand: the size 2 must match the existing size 3 at dim 0")):
        mg.zeros(3).expand(2)
    with pytest.raises(ValueError, match=re.escape("expand: sizes () are fewer than the 1 dims")):
        mg.zeros(3).expand(())
    with pytest.raises(ValueError, match=re.escape("expand: the size -2 at dim 0 is negative")):
        mg.zeros(1).expand(-2)
    assert mg.zeros(3).expand(2, -1).shape == (2, 3)
    assert mg.zeros(2, 1).expand(-1, 0).shape == (2, 0)
    assert mg.tensor(1.0).expand(3).shape == (3,)


@pytest.mark.parametrize("shape, sizes", [((3,), (-1, 3)), ((3,), (2,)), ((3,), ()), ((3,), (2, -1)), ((1,), (0,)),
                                          ((3,), (0,)), ((2, 3), (4, -1, -1)), ((2, 1), (-1, 0)), ((0, 1), (0, 5)),
                                          ((0, 1), (1, 5)), ((), (3,)), ((), (-1,)), ((2, 1), (2, -3))])
def test_expand_as_torch(shape, sizes):
    torch = _torch()
    try:
        expected = tuple(torch.zeros(shape).expand(sizes).shape)
    except RuntimeError:
        with pytest.raises(ValueError):
            mg.zeros(*shape).expand(sizes)
    else:
        assert mg.zeros(*shape).expand(sizes).shape == expected


# ---- 13: flatten, layer_norm and cross_entropy refuse what PyTorch refuses -------------------------------

def test_flatten_refuses_start_after_end_and_dims_of_a_0d_tensor():
    with pytest.raises(ValueError, match=re.escape("flatten: start_dim 2 comes after end_dim 1")):
        mg.zeros(2, 3, 4).flatten(2, 1)
    with pytest.raises(IndexError, match=re.escape("flatten: dim 1 is out of range")):
        mg.tensor(1.0).flatten(0, 1)
    assert mg.tensor(1.0).flatten(0, -1).shape == (1,)
    assert mg.zeros(2, 0, 3).flatten(0, 1).shape == (0, 3)


def test_layer_norm_refuses_an_empty_normalized_shape():
    with pytest.raises(ValueError, match=re.escape("layer_norm: normalized_shape must hold at least one dim, got ()")):
        F.layer_norm(mg.zeros(2, 3), ())


def test_cross_entropy_refuses_ignore_index_with_probability_targets():
    logits = mg.tensor([[1.0, 2.0, 0.5]])
    probs = mg.tensor([[0.2, 0.7, 0.1]])
    with pytest.raises(ValueError, match=re.escape("cross_entropy: ignore_index=1 cannot apply to class probabil")):
        F.cross_entropy(logits, probs, ignore_index=1)
    # a negative ignore_index (the default -100) selects nothing and is accepted, as in PyTorch
    assert F.cross_entropy(logits, probs, ignore_index=-1).item() == pytest.approx(
        F.cross_entropy(logits, probs).item())


def test_refusals_as_torch():
    torch = _torch()
    import torch.nn.functional as TF
    calls = [(lambda: torch.zeros(2, 3, 4).flatten(2, 1), lambda: mg.zeros(2, 3, 4).flatten(2, 1)),
             (lambda: torch.tensor(1.0).flatten(0, 1), lambda: mg.tensor(1.0).flatten(0, 1)),
             (lambda: torch.zeros(2).split([-1, 3]), lambda: mg.zeros(2).split([-1, 3])),
             (lambda: TF.layer_norm(torch.zeros(2, 3), ()), lambda: F.layer_norm(mg.zeros(2, 3), ())),
             (lambda: TF.cross_entropy(torch.zeros(1, 3), torch.full((1, 3), 1 / 3), ignore_index=1),
              lambda: F.cross_entropy(mg.zeros(1, 3), mg.full((1, 3), 1 / 3), ignore_index=1))]
    for torch_call, mg_call in calls:
        with pytest.raises((RuntimeError, IndexError)):
            torch_call()
        with pytest.raises((ValueError, IndexError)):
            mg_call()


# ---- 16: values with extra leading size-1 dims ---------------------------------------------------------

def test_setitem_array_drops_leading_size_one_dims_of_the_value():
    data = np.zeros((2, 3))
    functions.setitem_array(data, (0, 1), mg.tensor([7.0]))
    assert data.tolist() == [[0.0, 7.0, 0.0], [0.0, 0.0, 0.0]]
    functions.setitem_array(data, data == 0, mg.tensor([[5.0]]))
    assert data.tolist() == [[5.0, 7.0, 5.0], [5.0, 5.0, 5.0]]
    functions.setitem_array(data, 1, np.ones((1, 1, 3)))
    assert data[1].tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match=re.escape(
            "setitem: cannot assign values of shape (2, 1) to a selection of shape (6,)")):
        functions.setitem_array(data, data > -1, np.ones((2, 1)))


def test_setitem_outside_recording_drops_leading_size_one_dims_of_the_value():
    t = mg.zeros(2, 3)
    t[0, 1] = mg.tensor([7.0])
    t[t == 0] = mg.tensor([[5.0]])
    assert t.tolist() == [[5.0, 7.0, 5.0], [5.0, 5.0, 5.0]]


def test_setitem_while_recording_drops_leading_size_one_dims_of_the_value():
    t = mg.zeros(2, 3, requires_grad=True) * 1
    t[0, 1] = mg.tensor([7.0])
    t[mg.tensor([[True, False, True], [False, False, False]])] = mg.tensor([[5.0]])
    assert t.tolist() == [[5.0, 7.0, 5.0], [0.0, 0.0, 0.0]]


# ---- 20: take_along_dim ---------------------------------------------------------------------------------

def test_take_along_dim_has_pytorchs_signature():
    x = mg.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    assert mg.take_along_dim(x, mg.tensor([[0, 2]]), dim=1).tolist() == [[0.0, 2.0], [3.0, 5.0]]  # broadcast
    assert mg.take_along_dim(x, mg.tensor([[2], [0]]), 1).tolist() == [[2.0], [3.0]]
    assert x.take_along_dim(mg.tensor([5, 0])).tolist() == [5.0, 0.0]  # dim=None: the flattened input
    assert mg.take_along_dim(x, mg.argmax(x, dim=1, keepdim=True), dim=1).tolist() == [[2.0], [5.0]]
    with pytest.raises(ValueError, match=re.escape("take_along_dim: input and indices must have the same number")):
        mg.take_along_dim(x, mg.tensor([1]), 0)
    with pytest.raises(IndexError, match=re.escape("index -1 is out of bounds")):
        mg.take_along_dim(x, mg.tensor([[0, -1]]), 1)


def test_take_along_dim_as_torch():
    torch = _torch()
    data = np.random.default_rng(0).standard_normal((2, 3, 4))
    for indices, dim in [(np.array([[[0, 3, 3, 1]]]), 2), (np.array([[[1]], [[0]]]), 0),
                         (np.array([[[2], [0], [1]]]), 1), (np.array([23, 0, 5]), None)]:
        t = torch.tensor(data, requires_grad=True)
        x = mg.tensor(data, requires_grad=True)
        expected = torch.take_along_dim(t, torch.tensor(indices), dim)
        got = mg.take_along_dim(x, mg.tensor(indices), dim)
        np.testing.assert_array_equal(got.detach().numpy(), expected.detach().numpy())
        expected.sum().backward()
        got.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


# ---- 21: pad ---------------------------------------------------------------------------------------------

def test_pad_of_a_0d_tensor_and_negative_pads():
    assert mg.pad(mg.tensor(2.0), ()).tolist() == 2.0
    assert mg.pad(mg.tensor([1.0, 2.0]), (0, 0)).tolist() == [1.0, 2.0]
    assert mg.pad(mg.tensor([0.0, 1.0, 2.0]), (-1, 1)).tolist() == [1.0, 2.0, 0.0]  # negative widths crop
    assert mg.pad(mg.ones(2, 3), (-1, -1, 1, 0)).tolist() == [[0.0], [1.0], [1.0]]
    assert mg.pad(mg.zeros(3), (-3, 0)).shape == (0,)
    with pytest.raises(ValueError, match=re.escape("pad: the negative padding (-2, -2) of dim 0 crops more than")):
        mg.pad(mg.zeros(3), (-2, -2))
    with pytest.raises(ValueError, match=re.escape("pad: expected pairs for at most 0 dims, got (1, 1)")):
        mg.pad(mg.tensor(2.0), (1, 1))


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (0, 3)])
@pytest.mark.parametrize("widths", [(), (0, 0), (1, 1), (-1, 1), (1, -2), (-3, 0), (-2, -2), (2, 0, -1, 1), (1,)])
def test_pad_as_torch(shape, widths):
    torch = _torch()
    data = np.random.default_rng(0).standard_normal(shape)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = torch.nn.functional.pad(torch.tensor(data), widths, value=1.5).numpy()
    except RuntimeError:
        with pytest.raises(ValueError):
            mg.pad(mg.tensor(data), widths, value=1.5)
    else:
        np.testing.assert_array_equal(mg.pad(mg.tensor(data), widths, value=1.5).numpy(), expected)
