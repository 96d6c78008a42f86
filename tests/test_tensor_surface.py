"""The Tensor surface PyTorch code touches: Size, formatting, casts, new_* tensors, layout, comparisons,
floor division and remainders. Each name is checked on its own and, where PyTorch is installed, against it."""
import pickle

import numpy as np
import pytest

import microgradnp as mg

# ---- Size ----------------------------------------------------------------------------------------------


def test_shape_and_size_are_a_size_that_is_a_tuple():
    x = mg.zeros(2, 3)
    for shape in (x.shape, x.size()):
        assert type(shape) is mg.Size and isinstance(shape, tuple)
        assert shape == (2, 3) and (2, 3) == shape and shape != [2, 3]
        assert hash(shape) == hash((2, 3))
        assert repr(shape) == str(shape) == f"{shape}" == "microgradnp.Size([2, 3])"
    assert repr(mg.tensor(1.0).shape) == "microgradnp.Size([])"


def test_size_of_one_dim_is_an_int_and_counts_from_the_end():
    x = mg.zeros(2, 3, 4)
    assert x.size(0) == 2 and x.size(-1) == 4 and x.size(dim=1) == 3
    assert type(x.size(1)) is int and type(x.shape[0]) is int
    with pytest.raises(IndexError, match=r"size\(\): dimension out of range \(expected to be in range of \[-3, 2\], "
                                         r"but got 3\)"):
        x.size(3)
    with pytest.raises(IndexError, match=r"size\(\): dimension specified as 0 but the tensor has no dimensions"):
        mg.tensor(1.0).size(0)


def test_size_slices_concatenations_and_repeats_are_sizes():
    s = mg.zeros(2, 3, 4).shape
    assert type(s[1:]) is mg.Size and s[1:] == (3, 4)
    assert type(s + (5,)) is mg.Size and s + (5,) == (2, 3, 4, 5)
    assert type((1,) + s) is mg.Size and (1,) + s == (1, 2, 3, 4)
    assert type(s * 2) is mg.Size and type(2 * s) is mg.Size and len(s * 2) == 6
    assert s.count(2) == 1 and s.index(4) == 2


def test_size_numel_and_construction():
    assert mg.Size([2, 3, 4]).numel() == 24 and mg.Size().numel() == 1 and mg.Size([3, 0]).numel() == 0
    assert mg.Size((np.int64(2), mg.tensor(3))) == (2, 3)
    with pytest.raises(TypeError, match=r"item 1 is 'float'"):
        mg.Size([2, 3.0])
    s = mg.Size([4, 5])
    again = pickle.loads(pickle.dumps(s))
    assert type(again) is mg.Size and again == s


def test_size_works_where_numpy_takes_a_shape():
    x = mg.ones(2, 3)
    assert np.zeros(x.shape).shape == (2, 3)
    assert mg.zeros(x.shape).shape == (2, 3) and x.reshape(x.shape[::-1]).shape == (3, 2)


def test_size_matches_pytorch():
    torch = pytest.importorskip("torch")
    t, x = torch.zeros(2, 3, 4), mg.zeros(2, 3, 4)
    assert repr(x.shape).replace("microgradnp", "torch") == repr(t.shape)
    for got, want in ((x.shape[1:], t.shape[1:]), (x.shape + (5,), t.shape + (5,)), ((1,) + x.shape, (1,) + t.shape),
                      (x.shape * 2, t.shape * 2)):
        assert got == want and type(want) is torch.Size and type(got) is mg.Size
    assert x.shape.numel() == t.shape.numel() and x.size(-2) == t.size(-2)


# ---- formatting ----------------------------------------------------------------------------------------


def test_a_zero_dim_tensor_formats_as_its_number():
    loss = mg.tensor(1.23456, dtype=mg.float64, requires_grad=True) * 1
    assert f"{loss:.4f}" == "1.2346" and f"{loss}" == "1.23456" and f"{mg.tensor(3):d}" == "3"
    assert f"{mg.tensor(2.5, dtype=mg.float64):>6}" == "   2.5" and f"{mg.tensor(True)}" == "True"


def test_a_tensor_of_several_elements_takes_only_the_empty_spec():
    x = mg.tensor([1.0, 2.0])
    assert f"{x}" == repr(x) == "tensor([1., 2.])"
    for spec in (".4f", "10"):
        with pytest.raises(TypeError, match=r"Tensor.__format__.*shape \(2,\)"):
            format(x, spec)
    with pytest.raises(TypeError):
        format(mg.tensor([5.0]), ".2f")  # one element, but not 0-d: PyTorch refuses it too


def test_format_matches_pytorch():
    torch = pytest.importorskip("torch")
    for value in (1.2345678, -0.5, 3.0):
        for spec in (".4f", ".2e", "", ">10.3f"):
            assert format(mg.tensor(value), spec) == format(torch.tensor(value), spec)
    assert format(mg.tensor(7), "d") == format(torch.tensor(7), "d")
    with pytest.raises(TypeError):
        format(torch.tensor([1.0, 2.0]), ".4f")


# ---- casts ---------------------------------------------------------------------------------------------


def test_cast_methods():
    x = mg.tensor([1.5, -2.5])
    assert x.float() is x
    assert x.half().dtype == mg.float16 and x.double().dtype == mg.float64 and x.long().dtype == mg.int64
    assert x.int().dtype == mg.int32 and x.bool().dtype == mg.bool
    assert x.type_as(mg.tensor([1])).dtype == mg.int64 and x.type(mg.float64).dtype == mg.float64


def test_type_names_and_casts_by_name():
    x = mg.zeros(2)
    assert x.type() == "microgradnp.FloatTensor" and x.long().type() == "microgradnp.LongTensor"
    assert x.type("torch.DoubleTensor").dtype == mg.float64
    assert x.type("microgradnp.ByteTensor").dtype == mg.uint8
    with pytest.raises(ValueError, match="unknown tensor type"):
        x.type("torch.ComplexTensor")


def test_type_names_match_pytorch():
    torch = pytest.importorskip("torch")
    for name in ("float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"):
        assert mg.zeros(1, dtype=getattr(mg, name)).type().split(".")[1] == \
            torch.zeros(1, dtype=getattr(torch, name)).type().split(".")[1]


def test_casts_keep_gradients_between_floats():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (x.double() * 3).sum().backward()
    assert x.grad.dtype == mg.float32 and x.grad.tolist() == [3.0, 3.0]
    assert not x.long().requires_grad


# ---- new tensors -----------------------------------------------------------------------------------------


def test_new_tensors_take_this_dtype_and_any_size_form():
    x = mg.zeros(2, dtype=mg.float64)
    for made in (x.new_zeros(2, 3), x.new_zeros((2, 3)), x.new_zeros([2, 3]), x.new_zeros(mg.Size([2, 3])),
                 x.new_ones(2, 3), x.new_empty(2, 3), x.new_full((2, 3), 7)):
        assert made.shape == (2, 3) and made.dtype == mg.float64 and not made.requires_grad
    assert x.new_zeros(()).shape == () and x.new_zeros(0).shape == (0,)
    assert x.new_ones(2).tolist() == [1.0, 1.0] and x.new_full((2,), 7).tolist() == [7.0, 7.0]
    assert x.new_ones(3, dtype=mg.int64).dtype == mg.int64
    assert mg.tensor([1]).new_full((2,), 2.5).tolist() == [2, 2]


def test_new_tensor_copies_its_data_as_a_leaf():
    x = mg.zeros(1)
    data = np.array([1.0, 2.0])
    made = x.new_tensor(data, requires_grad=True)
    assert made.dtype == mg.float32 and made.is_leaf and made.requires_grad
    data[0] = 5.0
    assert made.tolist() == [1.0, 2.0]
    source = mg.tensor([3.0], requires_grad=True) * 2
    copy = x.new_tensor(source)
    assert not copy.requires_grad and copy.tolist() == [6.0]


def test_new_tensor_errors():
    x = mg.zeros(1)
    with pytest.raises(TypeError, match=r"new_zeros\(\): size must be ints"):
        x.new_zeros(2, 3.0)
    with pytest.raises(RuntimeError, match="only floating point tensors can require gradients"):
        x.new_zeros(2, dtype=mg.int64, requires_grad=True)
    with pytest.raises(RuntimeError, match="CPU only"):
        x.new_ones(2, device="cuda")
    assert x.new_ones(2, device="cpu").shape == (2,)


def test_new_tensors_match_pytorch():
    torch = pytest.importorskip("torch")
    for dtype in ("float64", "int64"):
        t, x = torch.zeros(1, dtype=getattr(torch, dtype)), mg.zeros(1, dtype=getattr(mg, dtype))
        for name, args in (("new_zeros", (2, 3)), ("new_ones", ((3,),)), ("new_full", ((2,), 2.5)),
                           ("new_tensor", ([1.5, -2.0],))):
            got, want = getattr(x, name)(*args), getattr(t, name)(*args)
            np.testing.assert_array_equal(got.numpy(), want.numpy())
            assert str(got.dtype) == str(want.dtype).replace("torch.", "")


def test_nelement():
    assert mg.zeros(2, 3).nelement() == 6 and mg.tensor(1.0).nelement() == 1


# ---- layout ----------------------------------------------------------------------------------------------


def test_contiguous_returns_self_when_contiguous_and_a_copy_in_the_graph_otherwise():
    x = mg.ones(2, 3, requires_grad=True)
    assert x.is_contiguous() and x.contiguous() is x
    for view in (x.t(), x[:, ::2], x[::-1], x[0, ::-2], x.t()[:, :1][::2]):
        assert not view.is_contiguous()
        made = view.contiguous()
        assert made.is_contiguous() and made.numpy().flags.c_contiguous
        np.testing.assert_array_equal(made.numpy(), view.numpy())
        assert made.requires_grad
    weights = mg.tensor(np.arange(6.0).reshape(3, 2))
    x.grad = None
    (x.t().contiguous() * weights).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), weights.numpy().T)


def test_contiguous_without_a_graph_is_a_plain_copy():
    x = mg.tensor(np.arange(6).reshape(2, 3))
    made = x.t().contiguous()
    assert made.is_contiguous() and made.grad_fn is None and made.tolist() == [[0, 3], [1, 4], [2, 5]]
    assert made.view(-1).tolist() == [0, 3, 1, 4, 2, 5]


def test_t_transposes_up_to_two_dims():
    assert mg.tensor(2.0).t().shape == () and mg.zeros(3).t().shape == (3,) and mg.zeros(2, 3).t().shape == (3, 2)
    with pytest.raises(RuntimeError, match=r"t\(\) expects a tensor with <= 2 dimensions, but self is 3D"):
        mg.zeros(2, 3, 4).t()


def test_layout_matches_pytorch():
    torch = pytest.importorskip("torch")
    t, x = torch.arange(12.0).reshape(3, 4), mg.arange(12.0).reshape(3, 4)
    for f in (lambda a: a.t(), lambda a: a[:, 1:3], lambda a: a[::2], lambda a: a.T, lambda a: a):
        assert f(x).is_contiguous() == f(t).is_contiguous()
        np.testing.assert_array_equal(f(x).contiguous().numpy(), f(t).contiguous().numpy())
    assert (t.contiguous() is t) == (x.contiguous() is x)


# ---- comparisons -----------------------------------------------------------------------------------------

_COMPARISONS = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal, "gt": np.greater,
                "ge": np.greater_equal, "not_equal": np.not_equal, "less": np.less, "less_equal": np.less_equal,
                "greater": np.greater, "greater_equal": np.greater_equal}


@pytest.mark.parametrize("name", sorted(_COMPARISONS))
def test_comparison_functions_and_methods(name):
    a = mg.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], requires_grad=True)
    b = mg.tensor([2.0, 2.0, 2.0])
    want = _COMPARISONS[name](a.numpy(), b.numpy())
    for got in (getattr(mg, name)(a, b), getattr(a, name)(b)):
        assert got.dtype == mg.bool and not got.requires_grad and got.grad_fn is None
        np.testing.assert_array_equal(got.numpy(), want)
    np.testing.assert_array_equal(getattr(a, name)(2).numpy(), _COMPARISONS[name](a.numpy(), 2))


def test_comparison_aliases_are_the_same_functions():
    assert mg.greater is mg.gt and mg.less is mg.lt and mg.greater_equal is mg.ge and mg.less_equal is mg.le
    assert mg.not_equal is mg.ne


def test_comparison_of_shapes_that_do_not_broadcast():
    with pytest.raises(ValueError, match=r"lt: the shapes \(3,\) and \(2,\) do not broadcast"):
        mg.lt(mg.zeros(3), mg.zeros(2))


def test_equal():
    a = mg.tensor([1.0, 2.0])
    assert mg.equal(a, mg.tensor([1.0, 2.0])) is True and a.equal(mg.tensor([1.0, 3.0])) is False
    assert mg.equal(a, mg.tensor([[1.0, 2.0]])) is False  # no broadcasting
    assert mg.equal(mg.tensor([1]), mg.tensor([1.0])) is True
    assert mg.equal(mg.tensor([np.nan]), mg.tensor([np.nan])) is False
    with pytest.raises(TypeError, match=r"equal\(\): argument 'other' must be Tensor, not float"):
        mg.equal(a, 1.0)


def test_comparisons_match_pytorch():
    torch = pytest.importorskip("torch")
    a, b = np.array([[1.0, 2.0, np.nan], [3.0, 2.0, 1.0]]), np.array([2.0, 2.0, np.nan])
    for name in _COMPARISONS:
        np.testing.assert_array_equal(getattr(mg, name)(mg.tensor(a), mg.tensor(b)).numpy(),
                                      getattr(torch, name)(torch.tensor(a), torch.tensor(b)).numpy())
        np.testing.assert_array_equal(getattr(mg.tensor(a), name)(2).numpy(), getattr(torch.tensor(a), name)(2).numpy())
    for x, y in (([1.0, 2.0], [1.0, 2.0]), ([1.0], [[1.0]]), ([1], [1.0]), ([np.nan], [np.nan])):
        assert mg.equal(mg.tensor(x), mg.tensor(y)) == torch.equal(torch.tensor(x), torch.tensor(y))
    assert torch.maximum is not None and mg.maximum is not None and mg.minimum is not None


# ---- floor division and remainders ----------------------------------------------------------------------


def test_floor_division_and_remainder_operators():
    a, b = mg.tensor([5.0, -5.0, 7.5, -7.5]), mg.tensor([2.0, 2.0, -2.0, -2.0])
    assert (a // b).tolist() == [2.0, -3.0, -4.0, 3.0] and (a % b).tolist() == [1.0, 1.0, -0.5, -1.5]
    assert (7 // mg.tensor([2, -2])).tolist() == [3, -4] and (7 % mg.tensor([2, -2])).tolist() == [1, -1]
    assert mg.fmod(a, b).tolist() == [1.0, -1.0, 1.5, -1.5] and a.fmod(2).tolist() == [1.0, -1.0, 1.5, -1.5]
    assert mg.remainder(a, 2).tolist() == a.remainder(2).tolist() == [1.0, 1.0, 1.5, 0.5]
    assert mg.floor_divide(a, 2).tolist() == a.floor_divide(2).tolist() == [2.0, -3.0, 3.0, -4.0]
    assert (mg.tensor([5, -5]) // 2).dtype == mg.int64


def test_in_place_floor_division_and_remainder():
    x = mg.tensor([5, -5, 7])
    x //= 2
    assert x.tolist() == [2, -3, 3] and x.dtype == mg.int64
    x %= 2
    assert x.tolist() == [0, 1, 1]
    y = mg.tensor([5.0, -5.0])
    y.fmod_(3)
    assert y.tolist() == [2.0, -2.0]
    y.remainder_(-1.5)
    assert y.tolist() == [-1.0, -0.5]
    y.floor_divide_(0.25)
    assert y.tolist() == [-4.0, -2.0]


def test_integer_division_by_zero_raises():
    for f in (mg.floor_divide, mg.remainder, mg.fmod):
        with pytest.raises(RuntimeError, match="integer division by zero"):
            f(mg.tensor([1, 2]), mg.tensor([0, 1]))


def test_remainder_and_fmod_gradients():
    a = mg.tensor([5.0, -5.0, 7.5], requires_grad=True)
    b = mg.tensor([2.0, 2.0, -2.0], requires_grad=True)
    mg.remainder(a, b).sum().backward()
    assert a.grad.tolist() == [1.0, 1.0, 1.0] and b.grad.tolist() == [-2.0, 3.0, 4.0]
    a.grad = b.grad = None
    mg.fmod(a, b).sum().backward()
    assert a.grad.tolist() == [1.0, 1.0, 1.0] and b.grad.tolist() == [-2.0, 2.0, 3.0]


def test_floor_divide_carries_no_gradient():
    a = mg.tensor([5.0, -5.0], requires_grad=True)
    q = a // 2
    assert not q.requires_grad and q.grad_fn is None
    (a * q).sum().backward()  # the quotient is a constant factor
    assert a.grad.tolist() == [2.0, -3.0]


def test_division_family_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = rng.uniform(-10, 10, (3, 4)).round(2)
    b = rng.choice([-3.5, -1.25, 0.75, 2.0], 4)
    ints_a, ints_b = rng.integers(-20, 20, (3, 4)), np.array([-3, 2, 5, -7])
    pairs = ((a, b), (ints_a, ints_b), (a, 2.5), (ints_a, -3), (ints_a, 2.5))
    for name in ("floor_divide", "remainder", "fmod"):
        for x, y in pairs:
            ty = torch.tensor(y) if isinstance(y, np.ndarray) else y
            my = mg.tensor(y) if isinstance(y, np.ndarray) else y
            want = getattr(torch, name)(torch.tensor(x), ty).numpy()
            got = getattr(mg, name)(mg.tensor(x), my).numpy()
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
            assert got.dtype.kind == want.dtype.kind
    np.testing.assert_array_equal((7.0 // mg.tensor(b)).numpy(), (7.0 // torch.tensor(b)).numpy())
    np.testing.assert_array_equal((7.0 % mg.tensor(b)).numpy(), (7.0 % torch.tensor(b)).numpy())
    np.testing.assert_array_equal((mg.tensor([1.0, -1.0, 0.0]) // 0.0).numpy(),
                                  (torch.tensor([1.0, -1.0, 0.0]) // 0.0).numpy())
    # gradients of remainder and fmod
    for name in ("remainder", "fmod"):
        ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        ma, mb = mg.tensor(a, requires_grad=True), mg.tensor(b, requires_grad=True)
        getattr(torch, name)(ta, tb).sum().backward()
        getattr(mg, name)(ma, mb).sum().backward()
        np.testing.assert_allclose(ma.grad.numpy(), ta.grad.numpy())
        np.testing.assert_allclose(mb.grad.numpy(), tb.grad.numpy())
