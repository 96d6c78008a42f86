"""Tensors that share memory share what autograd knows about writes (issue 17, cases 1, 2, 6 and 19).

A view (reshape, transpose, basic indexing, expand...) and ``detach()`` share their input's array, as in
PyTorch; a write through any of them changes what all of them hold, so it must move the version of all
of them, and a backward pass that needs the old values must raise instead of computing a wrong gradient.
"""
import numpy as np
import pytest

import microgradnp as mg

MODIFIED = "modified by an in-?place operation"


def leaf(values):
    return mg.tensor(np.array(values, dtype=np.float64), requires_grad=True)


# ---- case 1: a no_grad write through __setitem__ into a saved output --------------------------------

@pytest.mark.parametrize("op", ["sigmoid", "exp", "relu", "tanh", "sqrt"])
def test_setitem_under_no_grad_into_an_output_its_op_saved_raises_in_backward(op):
    a = leaf([0.5, 0.3])
    h = getattr(a, op)()
    with mg.no_grad():
        h[1] = 0.9
    with pytest.raises(RuntimeError, match=MODIFIED):
        h.sum().backward()


def test_setitem_into_an_output_no_gradient_reads_is_allowed():
    a = leaf([0.5, -0.3])
    h = a * 2.0  # mul's gradient reads the factors, not the output
    with mg.no_grad():
        h[1] = 0.9
    h.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 2.0])


# ---- case 2: aliases share the version counter ------------------------------------------------------

def test_a_write_through_detach_is_seen_by_the_op_that_saved_the_original():
    a = leaf([0.5, -0.3])
    h = a * 2
    s = h.sin()  # saves h
    d = h.detach()
    d += 1  # d shares h's memory: h now holds h + 1
    np.testing.assert_allclose(h.numpy(), [2.0, 0.4])
    with pytest.raises(RuntimeError, match=MODIFIED):
        s.sum().backward()


@pytest.mark.parametrize("make_view", [lambda h: h.reshape(2, 1), lambda h: h.view(1, 2), lambda h: h[0:1],
                                       lambda h: h.unsqueeze(0), lambda h: h.T, lambda h: h.expand(3, 2)[0]])
def test_a_write_through_a_view_under_no_grad_reaches_the_base_and_is_detected(make_view):
    a = leaf([0.5, -0.3])
    h = a * 2
    s = h.sin()
    v = make_view(h)
    with mg.no_grad():
        if v.numpy().flags.writeable:
            v += 1
        else:  # an expanded view is read-only, as in PyTorch: write into the base instead
            h += 1
    assert h.numpy()[0] == pytest.approx(2.0)
    with pytest.raises(RuntimeError, match=MODIFIED):
        s.sum().backward()


def test_a_write_into_the_base_is_detected_through_a_view_an_op_saved():
    a = leaf([0.5, -0.3])
    v = (a * 2).reshape(2, 1)
    base = v.reshape(2)  # another view of the same memory
    s = v.sin()  # saves v
    with mg.no_grad():
        base.mul_(3.0)
    with pytest.raises(RuntimeError, match=MODIFIED):
        s.sum().backward()


def test_without_writes_gradients_through_views_are_unchanged():
    a = leaf([0.5, -0.3])
    h = a * 2
    (h.reshape(2, 1).sin().sum() + h.detach().sum() + h[0] * 3).backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 * np.cos(2 * a.numpy()) + [6.0, 0.0])


def test_view_refuses_a_layout_that_needs_a_copy_and_reshape_copies():
    x = mg.tensor(np.arange(6.0).reshape(2, 3))
    with pytest.raises(RuntimeError, match=r"view: .*cannot be viewed as shape .*use .reshape"):
        x.T.view(-1)
    flat = x.T.reshape(-1)
    np.testing.assert_array_equal(flat.numpy(), [0.0, 3.0, 1.0, 4.0, 2.0, 5.0])
    flat.numpy()[0] = 99.0  # a copy: x is untouched
    assert x.numpy()[0, 0] == 0.0
    view = x.view(-1)
    view.numpy()[0] = 7.0  # a view: x sees it
    assert x.numpy()[0, 0] == 7.0


def test_an_in_place_op_that_records_on_a_tensor_with_a_live_view_is_refused():
    a = leaf([0.5, -0.3])
    h = a * 2
    v = h.reshape(2, 1)
    with pytest.raises(RuntimeError, match="shares its memory with another tensor"):
        h += a
    with pytest.raises(RuntimeError, match="shares its memory with another tensor"):
        v[0] = a[0]
    del v  # with the view gone, the write records as usual
    h += a
    h.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [3.0, 3.0])


def test_temporary_views_do_not_count_as_aliases():
    a = leaf([0.5, -0.3])
    y = (a * 2).reshape(2, 1)  # the product is gone: nothing else holds the memory
    y += 1
    y.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 2.0])


def test_optimizer_updates_move_the_version_of_a_parameters_detached_copies():
    w = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    saved = w.detach()
    x = leaf([3.0, 4.0])
    out = (x * saved).sum()  # keeps saved's values for x's gradient
    with mg.no_grad():
        w -= 0.5  # the parameter's update moves its detach() too
    with pytest.raises(RuntimeError, match=MODIFIED):
        out.backward()


# ---- case 6: every op returns a new Tensor ------------------------------------------------------------

@pytest.mark.parametrize("noop", [lambda y: y.reshape(2), lambda y: y.view(2), lambda y: y.squeeze(),
                                  lambda y: y.expand(2), lambda y: y.broadcast_to((2,)),
                                  lambda y: y.view_as(y), lambda y: y.expand_as(y)])
def test_a_no_op_view_is_a_new_tensor_whose_hooks_are_its_own(noop):
    a = leaf([1.0, 2.0])
    y = a * 2
    y2 = noop(y)
    assert y2 is not y and y2.grad_fn is not y.grad_fn
    y2.register_hook(lambda g: g * 100)
    ((y * 3).sum() + (y2 * 5).sum()).backward()
    np.testing.assert_array_equal(a.grad.numpy(), [1006.0, 1006.0])  # 2 * (3 + 5 * 100)


def test_retain_grad_on_a_no_op_view_keeps_its_own_gradient():
    a = leaf([1.0, 2.0])
    y = a * 2
    y2 = y.reshape(2)
    y2.retain_grad()
    ((y * 3).sum() + (y2 * 5).sum()).backward()
    np.testing.assert_array_equal(y2.grad.numpy(), [5.0, 5.0])
    with pytest.warns(UserWarning, match="not a leaf Tensor"):
        assert y.grad is None


def test_flatten_with_nothing_to_merge_returns_its_input_as_pytorchs_does():
    y = leaf([1.0, 2.0]) * 2
    assert mg.flatten(y) is y and y.flatten(0, 0) is y
    assert mg.flatten(y.reshape(2, 1)) is not y


# ---- case 19: where reads only its condition ------------------------------------------------------------

def test_where_lets_its_branches_change_in_place_after_it_ran():
    a = leaf([1.0, -2.0])
    w = leaf([5.0, 6.0])
    h = a * 1
    u = mg.where(h > 0, h, w)
    with mg.no_grad():
        h.zero_()
    u.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, 0.0])
    np.testing.assert_array_equal(w.grad.numpy(), [0.0, 1.0])


def test_where_still_checks_its_condition():
    a = leaf([1.0, -2.0])
    condition = mg.tensor(np.array([True, False]))
    u = mg.where(condition, a, 0.0)
    with mg.no_grad():
        condition[0] = False
    with pytest.raises(RuntimeError, match=MODIFIED):
        u.sum().backward()


# ---- the same answers as PyTorch ----------------------------------------------------------------------

def test_torch_agrees_on_detach_and_view_writes_and_no_op_view_hooks():
    torch = pytest.importorskip("torch")
    a = torch.tensor([0.5, -0.3], dtype=torch.float64, requires_grad=True)
    h = a * 2
    s = h.sin()
    d = h.detach()
    d += 1
    with pytest.raises(RuntimeError, match=MODIFIED):
        s.sum().backward()
    a = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    y = a * 2
    y2 = y.reshape(2)
    y2.register_hook(lambda g: g * 100)
    ((y * 3).sum() + (y2 * 5).sum()).backward()
    assert a.grad.tolist() == [1006.0, 1006.0]
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        torch.arange(6.0).reshape(2, 3).T.view(-1)
