"""nn.RNN, nn.LSTM, nn.GRU and their cells against PyTorch's: the same state-dict keys and shapes, and, with
PyTorch's weights loaded, the same outputs, final states and gradients (input, initial states, every
parameter) in float64. Skipped without torch."""
import inspect

import numpy as np
import pytest

import microgradnp as mg
from microgradnp import nn

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(2019)
KINDS = ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"]
CONFIGS = [dict(), dict(num_layers=2), dict(bidirectional=True), dict(num_layers=2, bidirectional=True),
           dict(batch_first=True, num_layers=3), dict(bias=False, bidirectional=True)]


def _pair(kind, *args, **kwargs):
    """(ours, theirs): the same layer in both libraries, float64, ours holding a copy of PyTorch's weights."""
    if kind.startswith("RNN"):
        kwargs["nonlinearity"] = "tanh" if kind == "RNN_TANH" else "relu"
        kind = "RNN"
    theirs = getattr(torch.nn, kind)(*args, **kwargs).double()
    with torch.no_grad():
        for name, p in theirs.named_parameters():
            if name.startswith("bias"):
                p.uniform_(-0.5, 0.5)
    ours = getattr(nn, kind)(*args, **kwargs).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _close(ours, theirs, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()) or "default")
def test_state_dict_keys_and_shapes_are_pytorchs(kind, config):
    ours, theirs = _pair(kind, 3, 5, **config)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert repr(ours).replace(", nonlinearity='relu'", "") == repr(theirs)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()) or "default")
@pytest.mark.parametrize("with_state", [False, True], ids=["no-h0", "h0"])
def test_values_and_gradients_match_pytorch(kind, config, with_state):
    ours, theirs = _pair(kind, 3, 4, **config)
    length, batch = 6, 3
    shape = (batch, length, 3) if config.get("batch_first") else (length, batch, 3)
    x = RNG.standard_normal(shape)
    count = ours.num_layers * (2 if ours.bidirectional else 1)
    h0, c0 = RNG.standard_normal((count, batch, 4)) * 0.5, RNG.standard_normal((count, batch, 4)) * 0.5
    mx, tx = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    mh, th = mg.tensor(h0, requires_grad=True), torch.tensor(h0, requires_grad=True)
    mc, tc = mg.tensor(c0, requires_grad=True), torch.tensor(c0, requires_grad=True)
    lstm = kind == "LSTM"
    m_hx = ((mh, mc) if lstm else mh) if with_state else None
    t_hx = ((th, tc) if lstm else th) if with_state else None
    m_out, m_state = ours(mx, m_hx)
    t_out, t_state = theirs(tx, t_hx)
    m_states = m_state if lstm else (m_state,)
    t_states = t_state if lstm else (t_state,)
    _close(m_out, t_out)
    for m, t in zip(m_states, t_states):
        _close(m, t)
    # a loss that weighs every output and final state differently
    weights = [RNG.standard_normal(tuple(t.shape)) for t in (t_out,) + tuple(t_states)]
    m_loss = sum((m * mg.tensor(w)).sum() for m, w in zip((m_out,) + tuple(m_states), weights))
    t_loss = sum((t * torch.tensor(w)).sum() for t, w in zip((t_out,) + tuple(t_states), weights))
    m_loss.backward()
    t_loss.backward()
    _close(mx.grad, tx.grad)
    if with_state:
        _close(mh.grad, th.grad)
        if lstm:
            _close(mc.grad, tc.grad)
    for (name, m), (_, t) in zip(ours.named_parameters(), theirs.named_parameters()):
        _close(m.grad, t.grad, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN_TANH"])
def test_unbatched_matches_pytorch(kind):
    ours, theirs = _pair(kind, 3, 4, num_layers=2, bidirectional=True)
    x = RNG.standard_normal((5, 3))
    m_out, m_state = ours(mg.tensor(x))
    t_out, t_state = theirs(torch.tensor(x))
    _close(m_out, t_out)
    for m, t in zip(m_state if kind == "LSTM" else (m_state,), t_state if kind == "LSTM" else (t_state,)):
        assert tuple(m.shape) == tuple(t.shape)
        _close(m, t)


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_pytorch(kind, batched):
    theirs = getattr(torch.nn, kind)(3, 4).double()
    ours = getattr(nn, kind)(3, 4).double()
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = RNG.standard_normal((2, 3) if batched else (3,))
    h = RNG.standard_normal((2, 4) if batched else (4,))
    mx, tx = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    mh, th = mg.tensor(h, requires_grad=True), torch.tensor(h, requires_grad=True)
    if kind == "LSTMCell":
        m_out, t_out = ours(mx, (mh, mh * 0.5)), theirs(tx, (th, th * 0.5))
    else:
        m_out, t_out = (ours(mx, mh),), (theirs(tx, th),)
    for m, t in zip(m_out, t_out):
        _close(m, t)
    sum(m.sum() * (k + 1) for k, m in enumerate(m_out)).backward()
    sum(t.sum() * (k + 1) for k, t in enumerate(t_out)).backward()
    _close(mx.grad, tx.grad)
    _close(mh.grad, th.grad)
    for m, t in zip(ours.parameters(), theirs.parameters()):
        _close(m.grad, t.grad)


def test_training_on_copied_weights_follows_pytorch():
    ours, theirs = _pair("LSTM", 3, 4, num_layers=2)
    m_opt = nn.optim.SGD(ours.parameters(), lr=0.1)
    t_opt = torch.optim.SGD(theirs.parameters(), lr=0.1)
    x = RNG.standard_normal((7, 2, 3))
    for _ in range(5):
        m_opt.zero_grad()
        t_opt.zero_grad()
        m_loss = (ours(mg.tensor(x))[0] ** 2).mean()
        t_loss = (theirs(torch.tensor(x))[0] ** 2).mean()
        m_loss.backward()
        t_loss.backward()
        m_opt.step()
        t_opt.step()
        assert m_loss.item() == pytest.approx(t_loss.item(), rel=1e-12)


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_signatures_are_pytorchs(name):
    def names_and_defaults(cls):
        return [(p.name, p.default) for p in inspect.signature(cls.__init__).parameters.values()]

    assert names_and_defaults(getattr(nn, name)) == names_and_defaults(getattr(torch.nn, name))


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_layer_arguments_are_pytorchs_in_order(name):
    # PyTorch declares these as (*args, **kwargs); its documentation gives the order below
    documented = {"RNN": ["input_size", "hidden_size", "num_layers", "nonlinearity", "bias", "batch_first", "dropout",
                          "bidirectional", "device", "dtype"],
                  "LSTM": ["input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout",
                           "bidirectional", "proj_size", "device", "dtype"],
                  "GRU": ["input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout",
                          "bidirectional", "device", "dtype"]}[name]
    assert list(inspect.signature(getattr(nn, name).__init__).parameters)[1:] == documented
    # and PyTorch accepts them positionally in that order too
    values = {"input_size": 3, "hidden_size": 4, "num_layers": 2, "nonlinearity": "relu", "bias": False,
              "batch_first": True, "dropout": 0.25, "bidirectional": True, "proj_size": 0}
    args = [values[a] for a in documented if a not in ("device", "dtype")]
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    for attr in ("num_layers", "bias", "batch_first", "dropout", "bidirectional"):
        assert getattr(ours, attr) == getattr(theirs, attr)
