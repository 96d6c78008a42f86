"""lstm: a 2-layer LSTM 128 -> 128 over 50 steps, batch 32, a Linear 128 -> 10 head on every step's output,
cross-entropy against a class per step, SGD lr 0.1, float32.

A sequence model's training step: per layer, one product for the whole sequence's input projection or one per
step (microgradnp), 50 recurrent products h @ W_hh.T and the gate arithmetic of each step, then the same
backward through time. One repeat restores the starting weights, runs 3 warm-up steps, then times 20
steps over synthetic batches one by one; the time per step is their median.
"""
import statistics

import numpy as np

from .common import (
    SEED,
    Metric,
    TrainedOverBatches,
    TutorialTrainer,
    compiled,
    import_torch,
    ratio_target,
    start_weights,
    with_kept_memory,
)

TITLE = "LSTM 2 x 128, 50 steps, batch 32, float32, head 128-10: one training step"
INPUT, HIDDEN, LAYERS, CLASSES = 128, 128, 2, 10
LENGTH, BATCH = 50, 32
LR = 0.1
WARMUP = 3
STEPS = 20
SCHEDULE = (WARMUP, STEPS, 1)  # warm-up steps, timed steps, steps per timed block
BATCHES = 4  # distinct synthetic batches, cycled
REPEATS = 5
FRESH_PROCESS = False
METRICS = {"step_us": Metric("time per step", "us", digits=0)}


def synthetic_batches(count=BATCHES, seed=SEED):
    """``count`` (inputs float32 (L, N, 128), labels int64 (L, N)) pairs, the same everywhere."""
    rng = np.random.default_rng(seed + 2)
    inputs = rng.standard_normal((count, LENGTH, BATCH, INPUT)).astype(np.float32)
    labels = rng.integers(0, CLASSES, (count, LENGTH, BATCH)).astype(np.int64)
    return list(zip(inputs, labels))


def start_state(seed=SEED):
    """The starting weights as a state dict with PyTorch's keys: the LSTM's, drawn as ``nn.LSTM`` draws them
    (uniform in +-1/sqrt(hidden)), then the head's (``nn.Linear``'s draw)."""
    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(HIDDEN)
    state = {}
    for layer in range(LAYERS):
        features = INPUT if layer == 0 else HIDDEN
        for name, shape in (("weight_ih", (4 * HIDDEN, features)), ("weight_hh", (4 * HIDDEN, HIDDEN)),
                            ("bias_ih", (4 * HIDDEN,)), ("bias_hh", (4 * HIDDEN,))):
            state[f"lstm.{name}_l{layer}"] = rng.uniform(-bound, bound, shape).astype(np.float32)
    (weight, bias), = start_weights((HIDDEN, CLASSES), np.float32, seed + 1)
    state["head.weight"], state["head.bias"] = weight, bias
    return state


class NumpyLSTM(TrainedOverBatches):
    """The classic hand-written LSTM: forward, softmax cross-entropy, backward through time, SGD.

    Per layer the input projection of the whole sequence is one product, each step adds h @ W_hh.T into
    its slice in place, and the gate activations go into preallocated arrays; the backward pass collects
    the gates' gradients of every step in one array, so the weight gradients are one product each. Sigmoid
    gates are computed as (1 + tanh(x / 2)) / 2, which never overflows.
    """

    schedule = SCHEDULE

    def __init__(self):
        self.batches = synthetic_batches()
        self.params = None
        h = HIDDEN
        self.scale = np.ones(4 * h, np.float32)
        self.scale[:2 * h] = self.scale[3 * h:] = 0.5
        self.shift = 0.5 * (self.scale != 1).astype(np.float32)
        self.sigmoid_rows = self.scale != 1

    def reset(self):
        """Restore the starting weights."""
        self.params = {k: v.copy() for k, v in start_state().items()}

    def _forward_layer(self, x, layer):
        p, h = self.params, HIDDEN
        w_ih, w_hh = p[f"lstm.weight_ih_l{layer}"], p[f"lstm.weight_hh_l{layer}"]
        pre = (x.reshape(LENGTH * BATCH, -1) @ w_ih.T).reshape(LENGTH, BATCH, 4 * h)
        pre += p[f"lstm.bias_ih_l{layer}"] + p[f"lstm.bias_hh_l{layer}"]
        hs = np.zeros((LENGTH + 1, BATCH, h), np.float32)
        cs = np.zeros((LENGTH + 1, BATCH, h), np.float32)
        acts = np.empty((LENGTH, BATCH, 4 * h), np.float32)
        tanh_c = np.empty((LENGTH, BATCH, h), np.float32)
        for t in range(LENGTH):
            gates = pre[t]
            gates += hs[t] @ w_hh.T
            a = acts[t]
            np.multiply(gates, self.scale, out=a)
            np.tanh(a, out=a)
            a *= self.scale
            a += self.shift
            np.multiply(a[:, h:2 * h], cs[t], out=cs[t + 1])
            cs[t + 1] += a[:, :h] * a[:, 2 * h:3 * h]
            np.tanh(cs[t + 1], out=tanh_c[t])
            np.multiply(a[:, 3 * h:], tanh_c[t], out=hs[t + 1])
        return hs, (x, hs, cs, acts, tanh_c)

    def _backward_layer(self, d_out, cache, layer, need_input_grad):
        x, hs, cs, acts, tanh_c = cache
        p, h = self.params, HIDDEN
        w_ih, w_hh = p[f"lstm.weight_ih_l{layer}"], p[f"lstm.weight_hh_l{layer}"]
        # d activation / d pre-activation of every gate: a * (1 - a) for the sigmoids, 1 - a**2 for g
        slope = np.where(self.sigmoid_rows, acts * (1 - acts), 1 - acts * acts)
        d_pre = np.empty((LENGTH, BATCH, 4 * h), np.float32)
        dh = np.zeros((BATCH, h), np.float32)
        dc = np.zeros((BATCH, h), np.float32)
        for t in range(LENGTH - 1, -1, -1):
            dh += d_out[t]
            a, d = acts[t], d_pre[t]
            dc += dh * a[:, 3 * h:] * (1 - tanh_c[t] * tanh_c[t])
            np.multiply(dc, a[:, 2 * h:3 * h], out=d[:, :h])          # d i
            np.multiply(dc, cs[t], out=d[:, h:2 * h])                # d f
            np.multiply(dc, a[:, :h], out=d[:, 2 * h:3 * h])         # d g
            np.multiply(dh, tanh_c[t], out=d[:, 3 * h:])             # d o
            d *= slope[t]
            dc *= a[:, h:2 * h]
            dh = d @ w_hh
        flat = d_pre.reshape(LENGTH * BATCH, 4 * h)
        grads = {f"lstm.weight_ih_l{layer}": flat.T @ x.reshape(LENGTH * BATCH, -1),
                 f"lstm.weight_hh_l{layer}": flat.T @ hs[:-1].reshape(LENGTH * BATCH, h)}
        grads[f"lstm.bias_ih_l{layer}"] = grads[f"lstm.bias_hh_l{layer}"] = flat.sum(axis=0)
        d_input = (flat @ w_ih).reshape(LENGTH, BATCH, -1) if need_input_grad else None
        return d_input, grads

    def step(self, x, labels):
        """One training step; returns the loss (a float32 NumPy scalar)."""
        p = self.params
        caches = []
        out = x
        for layer in range(LAYERS):
            hs, cache = self._forward_layer(out, layer)
            caches.append(cache)
            out = hs[1:]
        features = out.reshape(LENGTH * BATCH, HIDDEN)
        logits = features @ p["head.weight"].T
        logits += p["head.bias"]
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        total = exp.sum(axis=1, keepdims=True)
        rows, targets = np.arange(LENGTH * BATCH), labels.reshape(-1)
        loss = np.log(total).mean() - logits[rows, targets].mean()
        grad = exp
        grad /= total
        grad[rows, targets] -= 1
        grad *= np.float32(1.0 / (LENGTH * BATCH))
        grads = {"head.weight": grad.T @ features, "head.bias": grad.sum(axis=0)}
        d_out = (grad @ p["head.weight"]).reshape(LENGTH, BATCH, HIDDEN)
        for layer in range(LAYERS - 1, -1, -1):
            d_out, layer_grads = self._backward_layer(d_out, caches[layer], layer, need_input_grad=layer > 0)
            grads.update(layer_grads)
        for name, g in grads.items():
            p[name] -= np.float32(LR) * g
        return loss


def _tagger(nn):
    # the same model in either library: the LSTM, then the head on every step's output
    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(INPUT, HIDDEN, LAYERS)
            self.head = nn.Linear(HIDDEN, CLASSES)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out).reshape(-1, CLASSES)

    return Tagger()


class MicrogradnpLSTM(TutorialTrainer):
    """microgradnp as a user writes it: nn.LSTM, nn.Linear, nn.CrossEntropyLoss, nn.optim.SGD."""

    schedule = SCHEDULE

    def __init__(self):
        import microgradnp as mg
        from microgradnp import nn

        self.model = _tagger(nn)
        self.loss_fn = nn.CrossEntropyLoss()
        self.optimizer = nn.optim.SGD(self.model.parameters(), lr=LR)
        self.batches = [(mg.tensor(x), mg.tensor(y.reshape(-1))) for x, y in synthetic_batches()]

    def reset(self):
        """Restore the starting weights."""
        self.model.load_state_dict(start_state())


class TorchLSTM(TutorialTrainer):
    """PyTorch CPU eager mode, one thread, the same model and loop (its default LSTM kernel, oneDNN's where
    PyTorch was built with it)."""

    schedule = SCHEDULE

    def __init__(self):
        torch = self.torch = import_torch()
        nn = torch.nn

        self.model = _tagger(nn)
        self.loss_fn = nn.CrossEntropyLoss()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=LR)
        self.batches = [(torch.from_numpy(x), torch.from_numpy(y.reshape(-1))) for x, y in synthetic_batches()]

    def reset(self):
        """Restore the starting weights."""
        self.model.load_state_dict({k: self.torch.from_numpy(v) for k, v in start_state().items()})


class TorchLSTMNoOneDNN(TorchLSTM):
    """PyTorch with its oneDNN (mkldnn) kernels switched off: the LSTM then runs as a loop of ATen ops per step,
    as microgradnp's does, which shows what PyTorch's fused kernel is worth."""

    def __init__(self):
        super().__init__()
        self.torch.backends.mkldnn.enabled = False



IMPLEMENTATIONS = {"numpy": NumpyLSTM, "microgradnp": MicrogradnpLSTM,
                   "microgradnp kept memory": with_kept_memory(MicrogradnpLSTM),
                   "microgradnp compiled": compiled(MicrogradnpLSTM),
                   "microgradnp compiled kept memory": with_kept_memory(compiled(MicrogradnpLSTM)), "torch": TorchLSTM,
                   "torch no oneDNN": TorchLSTMNoOneDNN}


def targets(summary):
    """The issue's target for this workload: microgradnp's step at most 2x PyTorch's (CPU eager, one thread),
    as the median of the per-repeat ratios; the same for the process that keeps freed memory."""
    found = []
    for name in ("microgradnp", "microgradnp kept memory"):
        ratios = summary.ratios(name, "step_us", other="torch")
        if ratios:
            ratio = statistics.median(ratios)
            found.append((f"{name}: lstm step <= 2x PyTorch (one thread)",
                          f"{ratio:.2f}x ({min(ratios):.2f}..{max(ratios):.2f})", ratio <= 2.0))
    for eager in ("microgradnp", "microgradnp kept memory"):
        compiled_name = eager.replace("microgradnp", "microgradnp compiled")
        found += ratio_target(summary, f"{compiled_name}: lstm step <= 0.9x {eager}", compiled_name, 0.9, other=eager)
    return found
