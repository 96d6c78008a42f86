"""nn.RNN, nn.LSTM, nn.GRU and their cells: shapes in every mode, PyTorch's parameter names, values against
a plain NumPy loop, gradients by finite differences, errors, dropout and long sequences.

The comparison with PyTorch itself is in test_recurrent_torch.py (skipped without torch).
"""
import math
import sys
import warnings

import numpy as np
import pytest

import microgradnp as mg
from microgradnp import nn
from microgradnp.nn.functional import recurrent as R

RNG = np.random.default_rng(19)
GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}
LAYERS = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}


# ---- a plain NumPy reference: the textbook equations, one step at a time ---------------------------------

def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _np_step(kind, x, h, c, w_ih, w_hh, b_ih, b_hh, nonlinearity="tanh"):
    """One step of ``kind`` on float64 arrays, written from PyTorch's documentation."""
    gi = x @ w_ih.T + (0 if b_ih is None else b_ih)
    gh = h @ w_hh.T + (0 if b_hh is None else b_hh)
    if kind == "RNN":
        pre = gi + gh
        return (np.tanh(pre) if nonlinearity == "tanh" else np.maximum(pre, 0)), None
    if kind == "LSTM":
        i, f, g, o = np.split(gi + gh, 4, axis=-1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        return _sigmoid(o) * np.tanh(c), c
    r_i, z_i, n_i = np.split(gi, 3, axis=-1)
    r_h, z_h, n_h = np.split(gh, 3, axis=-1)
    r, z = _sigmoid(r_i + r_h), _sigmoid(z_i + z_h)
    n = np.tanh(n_i + r * n_h)
    return (1 - z) * n + z * h, None


def reference(module, x, h0=None, c0=None):
    """(output, h_n, c_n) of ``module`` on batched (L, N, features) float64 input (batch_first honoured)."""
    kind = type(module).__name__
    nonlinearity = getattr(module, "nonlinearity", "tanh")
    params = {name: p.numpy().astype(np.float64) for name, p in module.named_parameters()}
    if module.batch_first:
        x = x.transpose(1, 0, 2)
    length, batch = x.shape[:2]
    directions = 2 if module.bidirectional else 1
    count, hidden = module.num_layers * directions, module.hidden_size
    h0 = np.zeros((count, batch, hidden)) if h0 is None else h0
    c0 = np.zeros((count, batch, hidden)) if c0 is None else c0
    layer_input, h_n, c_n = x, [], []
    for layer in range(module.num_layers):
        outs = []
        for direction in range(directions):
            k = layer * directions + direction
            sfx = f"_l{layer}" + ("_reverse" if direction else "")
            weights = (params["weight_ih" + sfx], params["weight_hh" + sfx], params.get("bias_ih" + sfx),
                       params.get("bias_hh" + sfx))
            h, c = h0[k], c0[k]
            out = np.zeros((length, batch, hidden))
            for t in (range(length - 1, -1, -1) if direction else range(length)):
                h, c = _np_step(kind, layer_input[t], h, c, *weights, nonlinearity)
                out[t] = h
            outs.append(out)
            h_n.append(h)
            c_n.append(c)
        layer_input = np.concatenate(outs, axis=-1)
    output = layer_input.transpose(1, 0, 2) if module.batch_first else layer_input
    return output, np.stack(h_n), (np.stack(c_n) if kind == "LSTM" else None)


def _double(module):
    """The module in float64, with its biases moved away from the initial range so that they matter."""
    module.double()
    with mg.no_grad():
        for name, p in module.named_parameters():
            if name.startswith("bias"):
                p[...] = RNG.uniform(-0.5, 0.5, p.shape)
    return module


def _states(module, batch):
    count = module.num_layers * (2 if module.bidirectional else 1)
    shape = (count, module.hidden_size) if batch is None else (count, batch, module.hidden_size)
    h0 = RNG.standard_normal(shape) * 0.5
    c0 = RNG.standard_normal(shape) * 0.5
    return h0, c0


def _hx(kind, h0, c0, requires_grad=False):
    h = mg.tensor(h0, requires_grad=requires_grad)
    c = mg.tensor(c0, requires_grad=requires_grad)
    return (h, c) if kind == "LSTM" else h


# ---- shapes and values in every mode ----------------------------------------------------------------------

MODES = [dict(num_layers=n, batch_first=bf, bidirectional=bi) for n in (1, 2) for bf in (False, True)
         for bi in (False, True)]


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("options", MODES, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("with_state", [False, True], ids=["no-h0", "h0"])
def test_shapes_and_values_match_the_numpy_loop(kind, options, with_state):
    module = _double(LAYERS[kind](3, 4, **options))
    length, batch = 5, 2
    x = RNG.standard_normal((batch, length, 3) if options["batch_first"] else (length, batch, 3))
    h0, c0 = _states(module, batch)
    hx = _hx(kind, h0, c0) if with_state else None
    output, state = module(mg.tensor(x), hx)
    directions = 2 if options["bidirectional"] else 1
    expected_out = (batch, length, directions * 4) if options["batch_first"] else (length, batch, directions * 4)
    expected_state = (options["num_layers"] * directions, batch, 4)
    assert output.shape == expected_out and output.dtype == mg.float64
    want_out, want_h, want_c = reference(module, x, *((h0, c0) if with_state else ()))
    np.testing.assert_allclose(output.numpy(), want_out, rtol=1e-12, atol=1e-13)
    if kind == "LSTM":
        h_n, c_n = state
        assert h_n.shape == c_n.shape == expected_state
        np.testing.assert_allclose(c_n.numpy(), want_c, rtol=1e-12, atol=1e-13)
    else:
        h_n = state
        assert h_n.shape == expected_state
    np.testing.assert_allclose(h_n.numpy(), want_h, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("with_state", [False, True], ids=["no-h0", "h0"])
def test_unbatched_input_is_one_sequence_of_a_batch_of_one(kind, batch_first, with_state):
    module = _double(LAYERS[kind](3, 4, num_layers=2, bidirectional=True, batch_first=batch_first))
    x = RNG.standard_normal((6, 3))
    h0, c0 = _states(module, None)
    hx = _hx(kind, h0, c0) if with_state else None
    output, state = module(mg.tensor(x), hx)
    assert output.shape == (6, 8)
    batched_hx = None if hx is None else _hx(kind, h0[:, None], c0[:, None])
    batched_x = x[None] if batch_first else x[:, None]
    want_out, want_state = module(mg.tensor(batched_x), batched_hx)
    np.testing.assert_allclose(output.numpy(), (want_out[0] if batch_first else want_out[:, 0]).numpy())
    states = state if kind == "LSTM" else (state,)
    wants = want_state if kind == "LSTM" else (want_state,)
    for got, want in zip(states, wants):
        assert got.shape == (4, 4)
        np.testing.assert_allclose(got.numpy(), want[:, 0].numpy())


def test_h_n_holds_each_layers_last_state_and_the_reverse_directions_first_step():
    lstm = _double(nn.LSTM(3, 4, num_layers=2, bidirectional=True))
    output, (h_n, c_n) = lstm(mg.tensor(RNG.standard_normal((5, 2, 3))))
    # the last layer's forward direction ends at the last step, its reverse direction at the first
    np.testing.assert_array_equal(h_n[2].numpy(), output[-1, :, :4].numpy())
    np.testing.assert_array_equal(h_n[3].numpy(), output[0, :, 4:].numpy())


def test_a_zero_initial_state_is_the_default():
    for kind in ("RNN", "LSTM", "GRU"):
        module = _double(LAYERS[kind](3, 4, num_layers=2))
        x = mg.tensor(RNG.standard_normal((4, 2, 3)))
        zeros = np.zeros((2, 2, 4))
        out_default, _ = module(x)
        out_zeros, _ = module(x, _hx(kind, zeros, zeros))
        np.testing.assert_array_equal(out_default.numpy(), out_zeros.numpy())


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_without_bias(kind):
    module = _double(LAYERS[kind](3, 4, num_layers=2, bias=False, bidirectional=True))
    assert [n for n, _ in module.named_parameters()] == ["weight_ih_l0", "weight_hh_l0", "weight_ih_l0_reverse",
                                                         "weight_hh_l0_reverse", "weight_ih_l1", "weight_hh_l1",
                                                         "weight_ih_l1_reverse", "weight_hh_l1_reverse"]
    x = RNG.standard_normal((5, 2, 3))
    output, _ = module(mg.tensor(x))
    np.testing.assert_allclose(output.numpy(), reference(module, x)[0], rtol=1e-12, atol=1e-13)


def test_relu_rnn_matches_the_numpy_loop():
    rnn = _double(nn.RNN(3, 4, num_layers=2, nonlinearity="relu"))
    x = RNG.standard_normal((5, 2, 3))
    output, h_n = rnn(mg.tensor(x))
    want_out, want_h, _ = reference(rnn, x)
    assert (output.numpy() >= 0).all() and (output.numpy() == 0).any()
    np.testing.assert_allclose(output.numpy(), want_out, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(h_n.numpy(), want_h, rtol=1e-12, atol=1e-13)


def test_float32_by_default_and_dtype_argument():
    lstm = nn.LSTM(3, 4)
    assert lstm.weight_ih_l0.dtype == mg.float32
    out, (h, c) = lstm(mg.randn(5, 2, 3))
    assert out.dtype == h.dtype == c.dtype == mg.float32
    assert nn.GRU(3, 4, dtype=mg.float64).weight_hh_l0.dtype == mg.float64


# ---- parameters: PyTorch's names, shapes, order and initialisation ----------------------------------------

def test_parameter_names_shapes_and_order_are_pytorchs():
    lstm = nn.LSTM(3, 5, num_layers=2, bidirectional=True)
    assert [(k, tuple(v.shape)) for k, v in lstm.state_dict().items()] == [
        ("weight_ih_l0", (20, 3)), ("weight_hh_l0", (20, 5)), ("bias_ih_l0", (20,)), ("bias_hh_l0", (20,)),
        ("weight_ih_l0_reverse", (20, 3)), ("weight_hh_l0_reverse", (20, 5)), ("bias_ih_l0_reverse", (20,)),
        ("bias_hh_l0_reverse", (20,)),
        ("weight_ih_l1", (20, 10)), ("weight_hh_l1", (20, 5)), ("bias_ih_l1", (20,)), ("bias_hh_l1", (20,)),
        ("weight_ih_l1_reverse", (20, 10)), ("weight_hh_l1_reverse", (20, 5)), ("bias_ih_l1_reverse", (20,)),
        ("bias_hh_l1_reverse", (20,))]
    gru = nn.GRU(3, 5)
    assert [(k, tuple(v.shape)) for k, v in gru.state_dict().items()] == [
        ("weight_ih_l0", (15, 3)), ("weight_hh_l0", (15, 5)), ("bias_ih_l0", (15,)), ("bias_hh_l0", (15,))]
    rnn = nn.RNN(3, 5, 3)
    assert rnn.weight_ih_l2.shape == (5, 5) and rnn.weight_ih_l0.shape == (5, 3)
    assert [[tuple(p.shape) for p in ps] for ps in nn.GRU(2, 3, bias=False).all_weights] == [[(9, 2), (9, 3)]]
    for cell, gates in ((nn.RNNCell, 1), (nn.LSTMCell, 4), (nn.GRUCell, 3)):
        assert [(k, tuple(v.shape)) for k, v in cell(3, 5).state_dict().items()] == [
            ("weight_ih", (gates * 5, 3)), ("weight_hh", (gates * 5, 5)), ("bias_ih", (gates * 5,)),
            ("bias_hh", (gates * 5,))]
        assert cell(3, 5, bias=False).bias_ih is None


@pytest.mark.parametrize("factory", [lambda: nn.LSTM(4, 16, num_layers=2), lambda: nn.GRU(4, 16),
                                     lambda: nn.RNN(4, 16), lambda: nn.LSTMCell(4, 16), lambda: nn.GRUCell(4, 16)])
def test_initialisation_is_uniform_within_one_over_sqrt_hidden_and_seeded(factory):
    mg.manual_seed(7)
    first = factory()
    mg.manual_seed(7)
    second = factory()
    bound = 1 / math.sqrt(16)
    for (name, a), (_, b) in zip(first.named_parameters(), second.named_parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert np.abs(a.numpy()).max() <= bound and np.abs(a.numpy()).max() > 0.8 * bound, name
    mg.manual_seed(8)
    other = next(factory().parameters()).numpy()
    assert not np.array_equal(other, next(first.parameters()).numpy())


def test_state_dict_round_trip_and_double():
    source = nn.GRU(3, 4, num_layers=2, bidirectional=True)
    target = nn.GRU(3, 4, num_layers=2, bidirectional=True)
    target.load_state_dict(source.state_dict())
    x = mg.randn(5, 2, 3)
    np.testing.assert_array_equal(source(x)[0].numpy(), target(x)[0].numpy())
    target.double()
    assert all(p.dtype == mg.float64 for p in target.parameters())
    np.testing.assert_allclose(target(x.double())[0].numpy(), source(x)[0].numpy(), rtol=1e-5, atol=1e-6)


def test_repr_shows_the_settings_that_differ_from_the_defaults():
    assert repr(nn.LSTM(3, 4)) == "LSTM(3, 4)"
    assert repr(nn.LSTM(3, 4, num_layers=2, dropout=0.5, bidirectional=True)) == (
        "LSTM(3, 4, num_layers=2, dropout=0.5, bidirectional=True)")
    assert repr(nn.GRU(3, 4, bias=False, batch_first=True)) == "GRU(3, 4, bias=False, batch_first=True)"
    assert repr(nn.RNN(3, 4, nonlinearity="relu")) == "RNN(3, 4, nonlinearity='relu')"
    assert repr(nn.LSTMCell(3, 4)) == "LSTMCell(3, 4)"
    assert repr(nn.RNNCell(3, 4, bias=False, nonlinearity="relu")) == "RNNCell(3, 4, bias=False, nonlinearity=relu)"


def test_flatten_parameters_is_accepted_and_changes_nothing():
    lstm = nn.LSTM(3, 4)
    before = [p.numpy().copy() for p in lstm.parameters()]
    assert lstm.flatten_parameters() is None
    assert all(np.array_equal(a, p.numpy()) for a, p in zip(before, lstm.parameters()))


def test_parameters_train_with_an_optimizer():
    mg.manual_seed(0)
    model = nn.GRU(2, 8, batch_first=True)
    head = nn.Linear(8, 1)
    optimizer = nn.optim.Adam(list(model.parameters()) + list(head.parameters()), lr=0.05)
    x = mg.tensor(RNG.standard_normal((16, 6, 2)).astype(np.float32))
    y = x[:, :, 0].sum(dim=1, keepdim=True)  # the sum of the first feature over the sequence
    losses = []
    for _ in range(60):
        out, h_n = model(x)
        loss = nn.functional.mse_loss(head(h_n[0]), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]


# ---- gradients --------------------------------------------------------------------------------------------

def _gradcheck_layer(module, x, hx):
    params = tuple(module.parameters())
    hx_list = list(hx) if isinstance(hx, tuple) else [hx]

    def fn(x, *rest):
        out, state = module(x, tuple(rest[:2]) if isinstance(hx, tuple) else rest[0])
        states = state if isinstance(state, tuple) else (state,)
        return (out,) + states

    return mg.autograd.gradcheck(fn, (x, *hx_list, *params), atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("options", [dict(num_layers=2), dict(bidirectional=True, batch_first=True)],
                         ids=["2-layers", "bidirectional-batch-first"])
def test_gradcheck_input_state_and_every_parameter(kind, options):
    module = _double(LAYERS[kind](2, 3, **options))
    shape = (2, 4, 2) if module.batch_first else (4, 2, 2)
    x = mg.tensor(RNG.standard_normal(shape), requires_grad=True)
    h0, c0 = _states(module, 2)
    assert _gradcheck_layer(module, x, _hx(kind, h0, c0, requires_grad=True))


def test_gradcheck_of_a_sequence_longer_than_the_split_leaf():
    # the input's steps are cut by halving (R.time_steps) when it needs a gradient: check that path too
    lstm = _double(nn.LSTM(2, 2))
    length = 3 * R._SPLIT_LEAF + 1
    x = mg.tensor(RNG.standard_normal((length, 1, 2)), requires_grad=True)
    h0, c0 = _states(lstm, 1)
    assert _gradcheck_layer(lstm, x, _hx("LSTM", h0, c0, requires_grad=True))


def test_time_steps_gives_the_steps_and_their_gradients():
    x = mg.tensor(RNG.standard_normal((21, 2, 3)), requires_grad=True)
    steps = R.time_steps(x, 0)
    assert len(steps) == 21
    np.testing.assert_array_equal(mg.stack(steps).numpy(), x.numpy())
    weights = RNG.standard_normal(21)
    sum(s.sum() * w for s, w in zip(steps, weights)).backward()
    np.testing.assert_allclose(x.grad.numpy(), np.broadcast_to(weights[:, None, None], x.shape))
    assert len(R.time_steps(x.detach(), 1)) == 2


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_second_order_gradcheck(kind):
    module = _double(LAYERS[kind](2, 2))
    x = mg.tensor(RNG.standard_normal((3, 1, 2)), requires_grad=True)
    params = tuple(module.parameters())
    weights = mg.tensor(RNG.standard_normal((3, 1, 2)))

    def grads(x, *params):
        out, _ = module(x)
        return mg.autograd.grad((out * weights).sum(), (x,) + params, create_graph=True)

    assert mg.autograd.gradcheck(grads, (x, *params), atol=1e-6, rtol=1e-4)


def test_a_long_sequence_backpropagates_without_recursion():
    mg.manual_seed(1)
    lstm = nn.LSTM(3, 4, num_layers=2)
    x = mg.randn(1000, 2, 3, requires_grad=True)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # far fewer frames than the 2 x 1000 steps' graph is deep
    try:
        out, (h_n, c_n) = lstm(x)
        (out.sum() + h_n.sum() + c_n.sum()).backward()
    finally:
        sys.setrecursionlimit(limit)
    assert np.isfinite(x.grad.numpy()).all() and np.abs(x.grad.numpy()).sum() > 0
    assert all(p.grad is not None and np.isfinite(p.grad.numpy()).all() for p in lstm.parameters())
    # the first step still gets a gradient from the last layer's output through both layers
    assert np.abs(x.grad.numpy()[0]).sum() > 0


def test_float32_gradients_have_their_tensors_shapes_and_dtype():
    lstm = nn.LSTM(3, 4, bidirectional=True)
    x = mg.randn(5, 2, 3, requires_grad=True)
    h0 = mg.zeros(2, 2, 4, requires_grad=True)
    c0 = mg.zeros(2, 2, 4, requires_grad=True)
    out, (h_n, c_n) = lstm(x, (h0, c0))
    (out.sum() + c_n.sum()).backward()
    assert x.grad.shape == x.shape and h0.grad.shape == h0.shape and c0.grad.shape == c0.shape
    assert x.grad.dtype == mg.float32 and lstm.weight_hh_l0_reverse.grad.dtype == mg.float32


# ---- cells --------------------------------------------------------------------------------------------

CELLS = {"RNN": nn.RNNCell, "LSTM": nn.LSTMCell, "GRU": nn.GRUCell}


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [False, True], ids=["no-hx", "hx"])
def test_cells_match_one_step_of_the_numpy_loop(kind, batched, with_state):
    cell = _double(CELLS[kind](3, 4))
    x = RNG.standard_normal((2, 3) if batched else (3,))
    state_shape = (2, 4) if batched else (4,)
    h = RNG.standard_normal(state_shape) * 0.5 if with_state else np.zeros(state_shape)
    c = RNG.standard_normal(state_shape) * 0.5 if with_state else np.zeros(state_shape)
    hx = _hx(kind, h, c) if with_state else None
    result = cell(mg.tensor(x), hx)
    weights = [None if p is None else p.numpy() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)]
    want_h, want_c = _np_step(kind, x, h, c, *weights)
    if kind == "LSTM":
        got_h, got_c = result
        assert got_c.shape == state_shape
        np.testing.assert_allclose(got_c.numpy(), want_c, rtol=1e-12, atol=1e-13)
    else:
        got_h = result
    assert got_h.shape == state_shape
    np.testing.assert_allclose(got_h.numpy(), want_h, rtol=1e-12, atol=1e-13)


def test_relu_cell_and_cells_without_bias():
    cell = _double(nn.RNNCell(3, 4, nonlinearity="relu"))
    x, h = RNG.standard_normal((5, 3)), RNG.standard_normal((5, 4))
    np.testing.assert_allclose(cell(mg.tensor(x), mg.tensor(h)).numpy(),
                               np.maximum(x @ cell.weight_ih.numpy().T + cell.bias_ih.numpy()
                                          + h @ cell.weight_hh.numpy().T + cell.bias_hh.numpy(), 0))
    for kind in ("LSTM", "GRU"):
        cell = _double(CELLS[kind](3, 4, bias=False))
        want, _ = _np_step(kind, x, h, h, cell.weight_ih.numpy(), cell.weight_hh.numpy(), None, None)
        got = cell(mg.tensor(x), _hx(kind, h, h))
        np.testing.assert_allclose((got[0] if kind == "LSTM" else got).numpy(), want, rtol=1e-12)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_cell_gradcheck(kind):
    cell = _double(CELLS[kind](2, 3))
    x = mg.tensor(RNG.standard_normal((2, 2)), requires_grad=True)
    h = mg.tensor(RNG.standard_normal((2, 3)), requires_grad=True)
    c = mg.tensor(RNG.standard_normal((2, 3)), requires_grad=True)
    params = tuple(cell.parameters())
    if kind == "LSTM":
        assert mg.autograd.gradcheck(lambda x, h, c, *p: cell(x, (h, c)), (x, h, c, *params))
    else:
        assert mg.autograd.gradcheck(lambda x, h, *p: cell(x, h), (x, h, *params))


def test_a_cell_loop_equals_the_sequence_layer():
    lstm = _double(nn.LSTM(3, 4))
    cell = nn.LSTMCell(3, 4).double()
    cell.load_state_dict({k[:-3]: v for k, v in lstm.state_dict().items()})
    x = mg.tensor(RNG.standard_normal((6, 2, 3)))
    out, (h_n, c_n) = lstm(x)
    state = None
    for t in range(6):
        state = cell(x[t], state)
        np.testing.assert_allclose(state[0].numpy(), out[t].numpy(), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(state[1].numpy(), c_n[0].numpy(), rtol=1e-13, atol=1e-14)


def test_functional_cells_take_pytorchs_arguments():
    w_ih, w_hh = mg.tensor(RNG.standard_normal((12, 3))), mg.tensor(RNG.standard_normal((12, 4)))
    x, h = mg.tensor(RNG.standard_normal((2, 3))), mg.tensor(RNG.standard_normal((2, 4)))
    gru_h = R.gru_cell(x, h, w_ih, w_hh)
    want, _ = _np_step("GRU", x.numpy(), h.numpy(), None, w_ih.numpy(), w_hh.numpy(), None, None)
    np.testing.assert_allclose(gru_h.numpy(), want, rtol=1e-12)
    h2, c2 = R.lstm_cell(x, (h, h), mg.tensor(RNG.standard_normal((16, 3))), mg.tensor(RNG.standard_normal((16, 4))))
    assert h2.shape == c2.shape == (2, 4)
    assert R.rnn_tanh_cell(x, h, w_ih[:4], w_hh[:4]).shape == (2, 4)


# ---- dropout between layers ---------------------------------------------------------------------------

def test_dropout_acts_between_layers_only_in_training():
    mg.manual_seed(3)
    lstm = _double(nn.LSTM(3, 4, num_layers=2, dropout=0.5))
    plain = _double(nn.LSTM(3, 4, num_layers=2))
    plain.load_state_dict(lstm.state_dict())
    x = mg.tensor(RNG.standard_normal((5, 2, 3)))
    first, (h1, _) = lstm(x)
    second, (h2, _) = lstm(x)
    assert not np.allclose(first.numpy(), second.numpy())  # a fresh mask each call
    # the first layer has no dropout in front of it: its final state is the plain network's
    np.testing.assert_allclose(h1[0].numpy(), plain(x)[1][0][0].numpy(), rtol=1e-13)
    np.testing.assert_allclose(h2[0].numpy(), h1[0].numpy(), rtol=1e-13)
    lstm.eval()
    np.testing.assert_allclose(lstm(x)[0].numpy(), plain(x)[0].numpy(), rtol=1e-13)


def test_dropout_one_cuts_the_second_layer_off_from_the_first():
    gru = _double(nn.GRU(3, 4, num_layers=2, dropout=1.0))
    out, h_n = gru(mg.tensor(RNG.standard_normal((5, 2, 3))))
    # the second layer sees only zeros: both sequences of the batch give the same outputs
    np.testing.assert_allclose(out[:, 0].numpy(), out[:, 1].numpy())
    assert not np.allclose(h_n[0, 0].numpy(), h_n[0, 1].numpy())


def test_dropout_draws_from_the_global_generator():
    lstm = nn.LSTM(3, 4, num_layers=3, dropout=0.3)
    x = mg.randn(5, 2, 3)
    mg.manual_seed(11)
    a = lstm(x)[0].numpy()
    mg.manual_seed(11)
    np.testing.assert_array_equal(lstm(x)[0].numpy(), a)


def test_dropout_on_a_single_layer_warns_as_pytorch_does():
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.GRU(3, 4, dropout=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.GRU(3, 4, num_layers=2, dropout=0.2)


# ---- errors -------------------------------------------------------------------------------------------

def _raises(exc, fn, *fragments):
    with pytest.raises(exc) as info:
        fn()
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


def test_wrong_input_shapes_name_the_layer_and_the_shapes():
    lstm = nn.LSTM(3, 4, num_layers=2)
    _raises(ValueError, lambda: lstm(mg.randn(5, 2, 7)), "LSTM(input_size=3, hidden_size=4)", "Expected 3, got 7",
            "(5, 2, 7)")
    _raises(ValueError, lambda: lstm(mg.randn(5, 2, 3, 1)), "LSTM", "2D or 3D", "4D", "(5, 2, 3, 1)")
    _raises(ValueError, lambda: lstm(mg.randn(0, 2, 3)), "sequence length", "(0, 2, 3)")
    _raises(ValueError, lambda: lstm(mg.randn(5, 2, 3).double()), "float64", "float32", "model.to")


def test_wrong_initial_states_name_the_expected_and_the_given_shape():
    lstm = nn.LSTM(3, 4, num_layers=2)
    x = mg.randn(5, 2, 3)
    _raises(ValueError, lambda: lstm(x, (mg.zeros(2, 3, 4), mg.zeros(2, 2, 4))), "h_0", "(2, 2, 4)", "(2, 3, 4)")
    _raises(ValueError, lambda: lstm(x, (mg.zeros(2, 2, 4), mg.zeros(1, 2, 4))), "c_0", "(2, 2, 4)", "(1, 2, 4)")
    _raises(ValueError, lambda: lstm(x, (mg.zeros(2, 4), mg.zeros(2, 4))), "3-D", "(2, 4)")
    _raises(TypeError, lambda: lstm(x, mg.zeros(2, 2, 4)), "tuple (h_0, c_0)")
    gru = nn.GRU(3, 4)
    _raises(TypeError, lambda: gru(x, (mg.zeros(1, 2, 4),)), "GRU", "h_0")
    _raises(ValueError, lambda: gru(x, mg.zeros(1, 2, 5)), "GRU", "(1, 2, 4)", "(1, 2, 5)")
    _raises(ValueError, lambda: gru(mg.randn(5, 3), mg.zeros(1, 2, 4)), "unbatched", "2-D")
    _raises(ValueError, lambda: gru(x, mg.zeros(1, 2, 4, dtype=mg.float64)), "float64")


def test_bad_constructor_arguments():
    _raises(ValueError, lambda: nn.LSTM(3, 4, proj_size=2), "proj_size=2", "not implemented")
    _raises(ValueError, lambda: nn.RNN(3, 4, nonlinearity="sigmoid"), "'sigmoid'", "'tanh' or 'relu'")
    _raises(ValueError, lambda: nn.RNNCell(3, 4, nonlinearity="gelu"), "'gelu'")
    _raises(ValueError, lambda: nn.GRU(3, 4, dropout=1.5), "dropout", "[0, 1]")
    _raises(ValueError, lambda: nn.GRU(3, 0), "hidden_size", "greater than zero")
    _raises(TypeError, lambda: nn.GRU(3.0, 4), "input_size", "int")
    _raises(TypeError, lambda: nn.LSTM(3, 4, batch_first=1), "batch_first", "bool")
    _raises(ValueError, lambda: nn.LSTM(3, 4, num_layers=0), "num_layers")
    _raises(RuntimeError, lambda: nn.LSTM(3, 4, device="cuda"), "cuda")
    assert nn.LSTM(3, 4, device="cpu").hidden_size == 4


def test_cell_errors_name_the_cell_and_the_sizes():
    cell = nn.LSTMCell(3, 4)
    _raises(ValueError, lambda: cell(mg.randn(2, 5)), "LSTMCell(3, 4)", "got 5, expected 3", "(2, 5)")
    _raises(ValueError, lambda: cell(mg.randn(2, 3, 1)), "LSTMCell", "1D or 2D", "3D")
    _raises(ValueError, lambda: cell(mg.randn(2, 3), (mg.zeros(3, 4), mg.zeros(3, 4))), "batch size 2",
            "batch size 3")
    _raises(ValueError, lambda: cell(mg.randn(2, 3), (mg.zeros(2, 5), mg.zeros(2, 4))), "hidden_size", "got 5",
            "expected 4")
    _raises(TypeError, lambda: cell(mg.randn(2, 3), mg.zeros(2, 4)), "tuple (h, c)")
    _raises(ValueError, lambda: nn.GRUCell(3, 4)(mg.randn(3), mg.zeros(2, 4)), "GRUCell", "unbatched")
    _raises(TypeError, lambda: nn.GRUCell(3, 4)(mg.randn(2, 3), (mg.zeros(2, 4),)), "GRUCell", "tensor")
