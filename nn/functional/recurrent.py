"""The recurrent cells as functions of tensors, and the loop that runs them over a sequence.

``rnn_tanh_cell``, ``rnn_relu_cell``, ``lstm_cell`` and ``gru_cell`` are one step of each cell, with the
arguments of PyTorch's ``torch.rnn_tanh_cell``, ``torch.lstm_cell`` and ``torch.gru_cell`` (PyTorch keeps
them out of ``torch.nn.functional``, and so does this package: import them from
``microgradnp.nn.functional.recurrent``). ``nn.RNNCell``, ``nn.LSTMCell`` and ``nn.GRUCell`` call them;
``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` call ``run_layers``.

Everything here is composed of microgradnp's ops (``mg.linear``, ``mg.tanh``, products, slices): there is
no backward code. The engine records every step of the loop, so the gradient through time (BPTT) is
derived like any other.

Two choices keep the loop fast on NumPy:

- A sigmoid gate is computed as ``sigmoid(x) = (1 + tanh(x / 2)) / 2``, the same function: NumPy's tanh is
  several times cheaper than a sigmoid that is safe from overflow, and one ``tanh`` then serves all four
  LSTM gates at once. The halving is folded into the weights, once per call of a sequence layer (an exact
  scaling by a power of 2): ``tanh(pre) * scale + shift`` gives every gate's activation, with ``scale``
  1/2 and ``shift`` 1/2 on the sigmoid gates' rows and 1 and 0 on the tanh rows.
- The sequence is cut into steps that are fed to the loop one by one, and each step's input projection
  is its own ``linear`` (``x_t @ W_ih.T + b``), summed with ``h @ W_hh.T`` by passing it as the bias of
  the second ``linear``. Projecting the whole sequence with one product and slicing the result per step
  would cost more: the gradient of each slice is a zero array of the whole result's shape, so the
  backward pass would add up ``L`` such arrays for ``L`` steps (quadratic in the length).
"""
import functools

import numpy as np

import microgradnp as mg
from microgradnp.autograd.graph import capture_state, replayable

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
"""The number of gate blocks stacked in each mode's ``weight_ih`` and ``weight_hh`` (PyTorch's layout)."""

_SPLIT_LEAF = 8  # from this many steps down, a sequence that needs a gradient is cut by unbind directly


@functools.lru_cache(maxsize=64)
def _gate_constants(mode, hidden_size, dtype):
    """``(scale, shift)``: read-only arrays of shape (gates * hidden_size,) in ``dtype`` (a NumPy dtype).

    ``scale`` is 1/2 on the rows of the sigmoid gates (LSTM i, f, o; GRU r, z) and 1 elsewhere; ``shift``
    is 1/2 on the LSTM's sigmoid rows and 0 elsewhere, so that ``tanh(scale * pre) * scale + shift`` is
    the LSTM's four activations.
    """
    h = hidden_size
    scale = np.ones(GATES[mode] * h, dtype)
    shift = np.zeros(GATES[mode] * h, dtype)
    if mode == "LSTM":  # rows i, f, g, o
        for start in (0, h, 3 * h):
            scale[start:start + h] = 0.5
            shift[start:start + h] = 0.5
    elif mode == "GRU":  # rows r, z, n
        scale[:2 * h] = 0.5
    scale.setflags(write=False)
    shift.setflags(write=False)
    return scale, shift


# ---- one step, from the pre-activations -------------------------------------------------------------

def _lstm_update(pre, c, hidden_size):
    """``(h', c')`` from the gate pre-activations ``pre`` (rows i, f, g, o; the sigmoid rows halved).

    c' = f * c + i * g and h' = o * tanh(c'), with i, f, o the sigmoid gates and g the tanh one.
    """
    h = hidden_size
    scale, shift = _gate_constants("LSTM", h, np.dtype(pre.dtype))
    act = mg.tanh(pre) * scale + shift
    i, f, g, o = act[..., :h], act[..., h:2 * h], act[..., 2 * h:3 * h], act[..., 3 * h:]
    c = f * c + i * g
    return o * mg.tanh(c), c


def _gru_update(gi, gh, hx, hidden_size):
    """h' from the input and hidden projections ``gi``, ``gh`` (rows r, z, n; the r and z rows halved).

    r = sigmoid(gi_r + gh_r), z = sigmoid(gi_z + gh_z), n = tanh(gi_n + r * gh_n) (``gh_n`` holds
    ``b_hn``, as in PyTorch) and h' = (1 - z) * n + z * h, computed as n + z * (h - n).
    """
    h = hidden_size
    rz = mg.tanh(gi[..., :2 * h] + gh[..., :2 * h]) * 0.5 + 0.5
    r, z = rz[..., :h], rz[..., h:]
    n = mg.tanh(gi[..., 2 * h:] + r * gh[..., 2 * h:])
    return n + z * (hx - n)


# ---- the cells, as PyTorch's torch.*_cell functions --------------------------------------------------

def _projections(input, hx, w_ih, w_hh, b_ih, b_hh):
    """x @ w_ih.T + b_ih + hx @ w_hh.T + b_hh."""
    pre = mg.linear(hx, w_hh, mg.linear(input, w_ih, b_ih))
    return pre if b_hh is None else pre + b_hh


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One step of an Elman RNN: h' = tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh)."""
    return mg.tanh(_projections(input, hx, w_ih, w_hh, b_ih, b_hh))


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One step of an Elman RNN with ReLU: h' = relu(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh)."""
    return mg.relu(_projections(input, hx, w_ih, w_hh, b_ih, b_hh))


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step: ``hx = (h, c)``, returns ``(h', c')``; gate rows i, f, g, o as in PyTorch.

    i, f, o = sigmoid(...), g = tanh(...) of x @ w_ih.T + b_ih + h @ w_hh.T + b_hh;
    c' = f * c + i * g; h' = o * tanh(c').
    """
    h, c = hx
    pre = _projections(input, h, w_ih, w_hh, b_ih, b_hh)
    scale, _ = _gate_constants("LSTM", h.shape[-1], np.dtype(pre.dtype))
    return _lstm_update(pre * scale, c, h.shape[-1])


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step, returns h'; gate rows r, z, n as in PyTorch, with n = tanh(W_in x + b_in + r * (W_hn h + b_hn))."""
    scale, _ = _gate_constants("GRU", hx.shape[-1], np.dtype(w_ih.dtype))
    gi = mg.linear(input, w_ih, b_ih) * scale
    gh = mg.linear(hx, w_hh, b_hh) * scale
    return _gru_update(gi, gh, hx, hx.shape[-1])


# ---- whole sequences ------------------------------------------------------------------------------

def time_steps(input, dim):
    """The slices of ``input`` along ``dim``, as a list of tensors without that dim.

    Without a gradient to carry this is ``unbind``. With one, the sequence is halved recursively and only
    the short pieces are unbound: the gradient of a slice is a zero array of its source's shape with the
    slice filled in, so slicing the steps off one long tensor would cost the backward pass ``L`` arrays of
    the whole sequence's size, and halving costs about 2 log2(L) of them.
    """
    n = input.shape[dim]
    if n <= _SPLIT_LEAF or not (input.requires_grad and mg.is_grad_enabled()):
        return list(mg.unbind(input, dim))
    half = n // 2
    return time_steps(mg.narrow(input, dim, 0, half), dim) + time_steps(mg.narrow(input, dim, half, n - half), dim)


def _scaled(tensor, scale):
    # a weight (rows = gate rows) or bias with the sigmoid gates' rows halved; untouched when nothing is
    return tensor if tensor is None or scale is None else tensor * (scale[:, None] if tensor.ndim == 2 else scale)


def _direction(mode, steps, hx, weights, hidden_size, reverse):
    """Run one layer in one direction over ``steps`` (a list of (N, features) tensors).

    Returns (the outputs in time order, the last h, the last c or None).
    """
    w_ih, w_hh, b_ih, b_hh = weights
    dtype = np.dtype(w_ih.dtype)
    scale = None if mode in ("RNN_TANH", "RNN_RELU") else _gate_constants(mode, hidden_size, dtype)[0]
    w_ih, w_hh = _scaled(w_ih, scale), _scaled(w_hh, scale)
    if mode == "GRU":  # b_hn stays apart from b_in: it is multiplied by r
        b_ih, b_hh = _scaled(b_ih, scale), _scaled(b_hh, scale)
    elif b_ih is not None:
        b_ih, b_hh = _scaled(b_ih + b_hh, scale), None
    h, c = hx if mode == "LSTM" else (hx, None)
    outputs = [None] * len(steps)
    order = range(len(steps) - 1, -1, -1) if reverse else range(len(steps))
    for t in order:
        if mode == "LSTM":
            h, c = _lstm_update(mg.linear(h, w_hh, mg.linear(steps[t], w_ih, b_ih)), c, hidden_size)
        elif mode == "GRU":
            h = _gru_update(mg.linear(steps[t], w_ih, b_ih), mg.linear(h, w_hh, b_hh), h, hidden_size)
        else:
            pre = mg.linear(h, w_hh, mg.linear(steps[t], w_ih, b_ih))
            h = mg.tanh(pre) if mode == "RNN_TANH" else mg.relu(pre)
        outputs[t] = h
    return outputs, h, c


def _dropout_masks(shape, p, dtype):
    """Inverted-dropout multipliers of ``shape``: 0 with probability ``p``, else 1 / (1 - p), drawn from the
    global generator (``mg.manual_seed``); a compiled step draws them afresh at every replay."""
    if p >= 1:
        return np.zeros(shape, dtype)
    keep = mg.random.get_generator(None).random(shape) >= p
    return (keep * (1.0 / (1.0 - p))).astype(dtype)


def run_layers(mode, steps, hx, weights, hidden_size, num_layers, bidirectional, dropout=0.0):
    """Run a stack of recurrent layers over a sequence given as steps.

    ``steps``: a list of (N, input_size) tensors, in time order. ``hx``: a list of ``num_layers *
    directions`` initial states (each (N, hidden_size); for the LSTM each an ``(h, c)`` pair), in PyTorch's
    order (layer by layer, forward before reverse). ``weights``: the matching list of ``(w_ih, w_hh, b_ih,
    b_hh)`` (biases may be None). ``dropout`` > 0 multiplies the inputs of every layer after the first by
    a dropout mask (pass 0 outside training).

    Returns ``(per-direction lists of the last layer's outputs, final states)``, the final states in the
    same order and form as ``hx``.
    """
    directions = 2 if bidirectional else 1
    finals = []
    outputs = None
    for layer in range(num_layers):
        if layer:
            if directions == 2:
                steps = [mg.cat([f, b], -1) for f, b in zip(*outputs)]
            else:
                steps = outputs[0]
            if dropout > 0:
                shape = (len(steps),) + tuple(steps[0].shape)
                if capture_state.active is not None:  # a random source: a compiled step draws fresh masks per replay
                    masks = mg.from_numpy(replayable(_dropout_masks, shape, dropout, np.dtype(steps[0].dtype)))
                    # each step's mask through a recorded indexing op: a NumPy view taken here would be a constant
                    steps = [x * masks[t] for t, x in enumerate(steps)]
                else:
                    masks = _dropout_masks(shape, dropout, np.dtype(steps[0].dtype))
                    steps = [x * mask for x, mask in zip(steps, masks)]
        outputs = []
        for direction in range(directions):
            k = layer * directions + direction
            out, h, c = _direction(mode, steps, hx[k], weights[k], hidden_size, reverse=direction == 1)
            outputs.append(out)
            finals.append((h, c) if mode == "LSTM" else h)
    return outputs, finals
