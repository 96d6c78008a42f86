"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` over whole sequences, and the one-step ``RNNCell``,
``LSTMCell``, ``GRUCell``, with PyTorch's arguments, shapes, gate order and parameter names.

The loops are written with microgradnp's ops (see ``nn.functional.recurrent``): the engine records every
time step, and the gradient through time is derived from that record. Packed sequences
(``nn.utils.rnn.pack_padded_sequence``) are not supported: every sequence of a batch has the full length.
"""
import math
import numbers
import warnings

import numpy as np

import microgradnp as mg

from .. import init
from ..functional import recurrent as R
from ..module import Module
from ..parameter import Parameter


def _check_size(layer, what, value):
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{layer}: {what} should be of type int, got: {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{layer}: {what} must be greater than zero, got {value}")


def _as_tensor(value):
    return value if isinstance(value, mg.Tensor) else mg.tensor(value)


def _dtype_of(dtype):
    return np.dtype(dtype or mg.get_default_dtype())


class RNNBase(Module):
    """The machinery of ``RNN``, ``LSTM`` and ``GRU``: the parameters and the loop over layers and steps.

    ``mode`` is ``'RNN_TANH'``, ``'RNN_RELU'``, ``'LSTM'`` or ``'GRU'``. For each layer ``k`` (and direction)
    there are ``weight_ih_l{k}`` (gates * hidden_size, input features), ``weight_hh_l{k}`` (gates *
    hidden_size, hidden_size), ``bias_ih_l{k}`` and ``bias_hh_l{k}`` (gates * hidden_size), with the suffix
    ``_reverse`` for the backward direction of a bidirectional layer; every one starts uniform in
    (-1/sqrt(hidden_size), 1/sqrt(hidden_size)), drawn in that order from the global generator. Packed
    sequences are not supported. ``proj_size`` (LSTM with projections) is not implemented: a value other than
    0 raises.
    """

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        if mode not in R.GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode!r} (expected one of {', '.join(R.GATES)})")
        if device is not None:
            mg.devices.check_device(device, name)
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError(f"{name}: dropout should be a number in range [0, 1] representing the probability of "
                             f"an element being zeroed, got {dropout!r}")
        for what, value in (("bias", bias), ("batch_first", batch_first), ("bidirectional", bidirectional)):
            if not isinstance(value, bool):
                raise TypeError(f"{name}: {what} should be of type bool, got: {type(value).__name__}")
        _check_size(name, "input_size", input_size)
        _check_size(name, "hidden_size", hidden_size)
        _check_size(name, "num_layers", num_layers)
        if proj_size:
            raise ValueError(f"{name}: proj_size={proj_size!r} is not implemented in microgradnp (LSTM with "
                             f"projections); leave proj_size=0, or add an nn.Linear after the LSTM")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout option adds dropout after all but last recurrent layer, so non-zero "
                          f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}", stacklevel=3)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = 0
        dtype = _dtype_of(dtype)
        directions = 2 if bidirectional else 1
        gate_size = R.GATES[mode] * hidden_size
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(directions):
                features = input_size if layer == 0 else hidden_size * directions
                suffix = "_reverse" if direction == 1 else ""
                names = [f"weight_ih_l{layer}{suffix}", f"weight_hh_l{layer}{suffix}"]
                shapes = [(gate_size, features), (gate_size, hidden_size)]
                if bias:
                    names += [f"bias_ih_l{layer}{suffix}", f"bias_hh_l{layer}{suffix}"]
                    shapes += [(gate_size,), (gate_size,)]
                for param_name, shape in zip(names, shapes):
                    setattr(self, param_name, Parameter(mg.empty(shape, dtype=dtype)))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _name(self):
        return type(self).__name__

    @property
    def all_weights(self):
        """The parameters as a list per layer and direction: ``[w_ih, w_hh, b_ih, b_hh]`` each (PyTorch's order)."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self):
        """Does nothing: PyTorch packs the weights for cuDNN here; microgradnp has nothing to pack."""

    def reset_parameters(self):
        """Draw every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch does."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def _layer_weights(self):
        weights = []
        for names in self._all_weights:
            params = [getattr(self, name) for name in names]
            weights.append(tuple(params) if self.bias else (params[0], params[1], None, None))
        return weights

    def _describe(self):
        return f"{self._name}(input_size={self.input_size}, hidden_size={self.hidden_size})"

    def _check_input(self, input):
        if input.ndim not in (2, 3):
            raise ValueError(f"{self._name}: Expected input to be 2D or 3D, got {input.ndim}D tensor instead "
                             f"(shape {tuple(input.shape)}; expected (L, N, {self.input_size})"
                             f"{' with batch_first=False' if not self.batch_first else ''}, (N, L, "
                             f"{self.input_size}) with batch_first=True, or unbatched (L, {self.input_size}))")
        if input.shape[-1] != self.input_size:
            raise ValueError(f"{self._describe()}: input.size(-1) must be equal to input_size. Expected "
                             f"{self.input_size}, got {input.shape[-1]} (input of shape {tuple(input.shape)})")
        weight = self._parameters[self._flat_weights_names[0]]
        if input.dtype != weight.dtype:
            raise ValueError(f"{self._name}: input dtype ({input.dtype}) does not match weight dtype "
                             f"({weight.dtype}). Convert the input: input.to({weight.dtype}), or the model: "
                             f"model.to({input.dtype})")

    def _initial_states(self, hx, batched, batch, dtype):
        """The list of per-layer-and-direction initial states, from ``hx`` or zeros."""
        count = self.num_layers * (2 if self.bidirectional else 1)
        expected = (count, batch, self.hidden_size) if batched else (count, self.hidden_size)
        lstm = self.mode == "LSTM"
        if hx is None:
            zeros = mg.zeros((batch, self.hidden_size), dtype=dtype)
            return [(zeros, zeros) if lstm else zeros] * count
        if lstm:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{self._name}: hx must be a tuple (h_0, c_0) of two tensors of shape "
                                f"{expected}, got {type(hx).__name__}")
            states = [_as_tensor(hx[0]), _as_tensor(hx[1])]
            labels = ("h_0", "c_0")
        else:
            if isinstance(hx, (tuple, list)):
                raise TypeError(f"{self._name}: hx must be a tensor h_0 of shape {expected}, got a "
                                f"{type(hx).__name__} (a pair (h_0, c_0) is the LSTM's)")
            states = [_as_tensor(hx)]
            labels = ("h_0",)
        for label, state in zip(labels, states):
            if state.ndim != len(expected):
                kind = "batched 3-D" if batched else "unbatched 2-D"
                raise ValueError(f"{self._name}: for {kind} input, {label} should be {len(expected)}-D of shape "
                                 f"{expected} but got a {state.ndim}-D tensor of shape {tuple(state.shape)}")
            if tuple(state.shape) != expected:
                raise ValueError(f"{self._describe()}: expected {label} of shape {expected} "
                                 f"(num_layers * num_directions, batch, hidden_size), got {tuple(state.shape)}")
            if state.dtype != dtype:
                raise ValueError(f"{self._name}: {label} dtype ({state.dtype}) does not match the input's ({dtype})")
        if not batched:
            states = [mg.unsqueeze(state, 1) for state in states]
        per_layer = [list(mg.unbind(state, 0)) for state in states]
        return list(zip(*per_layer)) if lstm else per_layer[0]

    def forward(self, input, hx=None):
        """Run the layers over ``input``: returns ``(output, h_n)``, for the LSTM ``(output, (h_n, c_n))``.

        ``input``: (L, N, input_size), (N, L, input_size) with ``batch_first``, or unbatched (L, input_size).
        ``hx``: the initial state, zeros when None: a tensor (num_layers * num_directions, N, hidden_size)
        (unbatched: without N), for the LSTM a pair ``(h_0, c_0)`` of such tensors.
        ``output``: every step's last-layer h, (L, N, num_directions * hidden_size) (the forward direction's
        features first), laid out as the input. ``h_n`` (and ``c_n``): each layer's and direction's state
        after the whole sequence (for the reverse direction: after reading it back to the first step),
        (num_layers * num_directions, N, hidden_size), ordered as the parameters.
        """
        input = _as_tensor(input)
        self._check_input(input)
        batched = input.ndim == 3
        if not batched:
            input = mg.unsqueeze(input, 1)
        time_dim = 1 if batched and self.batch_first else 0
        length, batch = input.shape[time_dim], input.shape[1 - time_dim]
        if length == 0:
            raise ValueError(f"{self._name}: Expected sequence length to be larger than 0, got input of shape "
                             f"{tuple(input.shape)}")
        states = self._initial_states(hx, batched, batch, input.dtype)
        steps = R.time_steps(input, time_dim)
        outputs, finals = R.run_layers(self.mode, steps, states, self._layer_weights(), self.hidden_size,
                                       self.num_layers, self.bidirectional,
                                       self.dropout if self.training else 0.0)
        if len(outputs) == 1:
            output = mg.stack(outputs[0], time_dim)
        else:
            output = mg.cat([mg.stack(outputs[0], time_dim), mg.stack(outputs[1], time_dim)], -1)
        if self.mode == "LSTM":
            h_n, c_n = mg.stack([h for h, _ in finals]), mg.stack([c for _, c in finals])
        else:
            h_n = mg.stack(finals)
        if not batched:
            output = mg.squeeze(output, 1)
            h_n = mg.squeeze(h_n, 1)
            if self.mode == "LSTM":
                c_n = mg.squeeze(c_n, 1)
        return (output, (h_n, c_n)) if self.mode == "LSTM" else (output, h_n)

    def extra_repr(self):
        """The settings shown inside the parentheses of ``repr`` (the non-default ones, as PyTorch shows them)."""
        s = f"{self.input_size}, {self.hidden_size}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """An Elman RNN over a sequence: h_t = tanh(x_t @ W_ih.T + b_ih + h_(t-1) @ W_hh.T + b_hh) per layer
    (``nonlinearity='relu'``: ReLU instead of tanh).

    Arguments, shapes and parameter names are PyTorch's (see ``RNNBase`` and ``forward``): ``weight_ih_l0``
    is (hidden_size, input_size). Packed sequences are not supported.

        rnn = nn.RNN(10, 20, num_layers=2)
        output, h_n = rnn(mg.randn(5, 3, 10))          # (5, 3, 20), (2, 3, 20)
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: Unknown nonlinearity {nonlinearity!r}. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size,
                         num_layers, bias, batch_first, dropout, bidirectional, device=device, dtype=dtype)


class LSTM(RNNBase):
    """A long short-term memory network over a sequence, with PyTorch's gates, in PyTorch's row order i, f, g, o:

        i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (x_t @ W_ih.T + b_ih + h_(t-1) @ W_hh.T + b_hh)
        c_t = f * c_(t-1) + i * g
        h_t = o * tanh(c_t)

    ``weight_ih_l0`` is (4 * hidden_size, input_size). ``forward(input, (h_0, c_0))`` returns ``output, (h_n,
    c_n)``. ``proj_size`` must be 0 (projections are not implemented); packed sequences are not supported.

        lstm = nn.LSTM(10, 20, num_layers=2, batch_first=True)
        output, (h_n, c_n) = lstm(mg.randn(3, 5, 10))   # (3, 5, 20), (2, 3, 20), (2, 3, 20)
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)


class GRU(RNNBase):
    """A gated recurrent unit network over a sequence, with PyTorch's gates, in PyTorch's row order r, z, n:

        r = sigmoid(x_t @ W_ir.T + b_ir + h_(t-1) @ W_hr.T + b_hr)
        z = sigmoid(x_t @ W_iz.T + b_iz + h_(t-1) @ W_hz.T + b_hz)
        n = tanh(x_t @ W_in.T + b_in + r * (h_(t-1) @ W_hn.T + b_hn))
        h_t = (1 - z) * n + z * h_(t-1)

    ``weight_ih_l0`` is (3 * hidden_size, input_size). Packed sequences are not supported.

        gru = nn.GRU(10, 20, bidirectional=True)
        output, h_n = gru(mg.randn(5, 3, 10))           # (5, 3, 40), (2, 3, 20)
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)


class RNNCellBase(Module):
    """The parameters of a one-step cell: ``weight_ih`` (num_chunks * hidden_size, input_size),
    ``weight_hh`` (num_chunks * hidden_size, hidden_size), ``bias_ih`` and ``bias_hh`` (num_chunks *
    hidden_size), all uniform in (-1/sqrt(hidden_size), 1/sqrt(hidden_size)) as in PyTorch."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        if device is not None:
            mg.devices.check_device(device, name)
        _check_size(name, "input_size", input_size)
        _check_size(name, "hidden_size", hidden_size)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        dtype = _dtype_of(dtype)
        self.weight_ih = Parameter(mg.empty((num_chunks * hidden_size, input_size), dtype=dtype))
        self.weight_hh = Parameter(mg.empty((num_chunks * hidden_size, hidden_size), dtype=dtype))
        if bias:
            self.bias_ih = Parameter(mg.empty(num_chunks * hidden_size, dtype=dtype))
            self.bias_hh = Parameter(mg.empty(num_chunks * hidden_size, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        """Draw every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch does."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def extra_repr(self):
        """The settings shown inside the parentheses of ``repr``."""
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input, hx, parts):
        """Check the input and the state(s); return (input (N, input_size), states (N, hidden_size) each or
        None, batched)."""
        name = type(self).__name__
        input = _as_tensor(input)
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead (shape "
                             f"{tuple(input.shape)})")
        if input.shape[-1] != self.input_size:
            raise ValueError(f"{name}({self.input_size}, {self.hidden_size}): input has inconsistent input_size: "
                             f"got {input.shape[-1]}, expected {self.input_size} (input of shape "
                             f"{tuple(input.shape)})")
        if input.dtype != self.weight_ih.dtype:
            raise ValueError(f"{name}: input dtype ({input.dtype}) does not match weight dtype "
                             f"({self.weight_ih.dtype}). Convert the input: input.to({self.weight_ih.dtype}), or "
                             f"the model: model.to({input.dtype})")
        batched = input.ndim == 2
        if not batched:
            input = mg.unsqueeze(input, 0)
        if hx is None:
            return input, None, batched
        if parts == 2:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{name}: hx must be a tuple (h, c) of two tensors, got {type(hx).__name__}")
            states, labels = [_as_tensor(s) for s in hx], ("hx[0]", "hx[1]")
        else:
            if isinstance(hx, (tuple, list)):
                raise TypeError(f"{name}: hx must be a tensor, got a {type(hx).__name__}")
            states, labels = [_as_tensor(hx)], ("hidden",)
        checked = []
        for label, state in zip(labels, states):
            if state.ndim not in (1, 2):
                raise ValueError(f"{name}: Expected {label} to be 1D or 2D, got {state.ndim}D instead (shape "
                                 f"{tuple(state.shape)})")
            if state.ndim != input.ndim - (0 if batched else 1):
                raise ValueError(f"{name}: {label} of shape {tuple(state.shape)} does not go with "
                                 f"{'a batched' if batched else 'an unbatched'} input of shape "
                                 f"{tuple(input.shape) if batched else tuple(input.shape[1:])}")
            if not batched:
                state = mg.unsqueeze(state, 0)
            if state.shape[0] != input.shape[0]:
                raise ValueError(f"{name}: Input batch size {input.shape[0]} doesn't match {label} batch size "
                                 f"{state.shape[0]}")
            if state.shape[1] != self.hidden_size:
                raise ValueError(f"{name}: {label} has inconsistent hidden_size: got {state.shape[1]}, expected "
                                 f"{self.hidden_size}")
            checked.append(state)
        return input, checked, batched

    def _zeros(self, input):
        return mg.zeros((input.shape[0], self.hidden_size), dtype=input.dtype)


class RNNCell(RNNCellBase):
    """One step of an Elman RNN: h' = tanh(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh) (or ReLU), as PyTorch's.

    ``forward(input, hx=None)``: input (N, input_size) or (input_size,), hx (N, hidden_size) or
    (hidden_size,) (zeros when None); returns h' of hx's shape.
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: Unknown nonlinearity {nonlinearity!r}. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)

    def forward(self, input, hx=None):
        """The next hidden state."""
        input, states, batched = self._prepare(input, hx, 1)
        h = self._zeros(input) if states is None else states[0]
        cell = R.rnn_tanh_cell if self.nonlinearity == "tanh" else R.rnn_relu_cell
        out = cell(input, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return out if batched else mg.squeeze(out, 0)


class LSTMCell(RNNCellBase):
    """One LSTM step, as PyTorch's: gate rows i, f, g, o; c' = f * c + i * g, h' = o * tanh(c').

    ``forward(input, hx=None)``: hx is a pair ``(h, c)`` (zeros when None); returns ``(h', c')``.
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        """The next ``(h, c)``."""
        input, states, batched = self._prepare(input, hx, 2)
        if states is None:
            zeros = self._zeros(input)
            states = (zeros, zeros)
        h, c = R.lstm_cell(input, tuple(states), self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return (h, c) if batched else (mg.squeeze(h, 0), mg.squeeze(c, 0))


class GRUCell(RNNCellBase):
    """One GRU step, as PyTorch's: gate rows r, z, n; n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),
    h' = (1 - z) * n + z * h.

    ``forward(input, hx=None)``: hx (N, hidden_size) or (hidden_size,) (zeros when None); returns h'.
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        """The next hidden state."""
        input, states, batched = self._prepare(input, hx, 1)
        h = self._zeros(input) if states is None else states[0]
        out = R.gru_cell(input, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return out if batched else mg.squeeze(out, 0)
