"""xor: 2 -> 8 (LeakyReLU 0.01) -> 1 (Sigmoid), BCELoss, SGD lr 0.5, full batch of 4, float64.

Overhead-bound: every array is tiny, so a step costs what the Python around the arithmetic costs. One
repeat restores the starting weights and runs 2000 training steps (zero_grad + forward + loss +
backward + step), timed in blocks of 100; the time per step is the median block's.
"""
import numpy as np

from .common import (
    Metric,
    as_float,
    compiled,
    import_torch,
    ratio_target,
    sequential_state,
    start_weights,
    time_steps,
    tutorial_step,
)

TITLE = "XOR net 2-8-1, float64, batch 4: one training step"
STEPS = 2000
BLOCK = 100
LR = 0.5
SLOPE = 0.01
SIZES = (2, 8, 1)
REPEATS = 9
FRESH_PROCESS = False
METRICS = {"step_us": Metric("time per step", "us", digits=1)}


def _data():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = np.array([[0], [1], [1], [0]], dtype=np.float64)
    return x, y


class _Trained:
    """Runs the steps of an implementation (``reset()``, ``step(i)``) and reports the time per step."""

    def run(self):
        """Restore the starting weights and time ``STEPS`` steps in blocks of ``BLOCK``."""
        self.reset()
        seconds, first, last = time_steps(self.step, 0, STEPS, BLOCK)
        return {"metrics": {"step_us": seconds * 1e6},
                "check": {"loss at step 1": as_float(first), f"loss at step {STEPS}": as_float(last)}}


class NumpyXor(_Trained):
    """The forward and backward written by hand: in-place updates, ``@`` on transposed views, no input grad."""

    def __init__(self):
        self.x, self.y = _data()
        self.scale = 1.0 / len(self.x)
        self.layers = None

    def reset(self):
        """Restore the starting weights."""
        self.layers = start_weights(SIZES, np.float64)

    def step(self, _):
        """One training step; returns the loss."""
        (w1, b1), (w2, b2) = self.layers
        x, y = self.x, self.y
        z1 = x @ w1.T
        z1 += b1
        slope = np.where(z1 > 0, 1.0, SLOPE)
        a1 = z1 * slope
        z2 = a1 @ w2.T
        z2 += b2
        p = 1.0 / (1.0 + np.exp(-z2))
        loss = -(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)).mean()
        # BCE after a sigmoid: d loss / d z2 = (p - y) / n
        dz2 = p - y
        dz2 *= self.scale
        dw2 = dz2.T @ a1
        db2 = dz2.sum(axis=0)
        dz1 = dz2 @ w2
        dz1 *= slope
        dw1 = dz1.T @ x
        db1 = dz1.sum(axis=0)
        w1 -= LR * dw1
        b1 -= LR * db1
        w2 -= LR * dw2
        b2 -= LR * db2
        return loss


class MicrogradnpXor(_Trained):
    """microgradnp exactly as a user writes it: nn.Sequential, nn.BCELoss, nn.optim.SGD, loss.backward()."""

    def __init__(self):
        import microgradnp as mg
        from microgradnp import nn

        self.model = nn.Sequential(nn.Linear(2, 8, dtype=mg.float64), nn.LeakyReLU(SLOPE),
                                   nn.Linear(8, 1, dtype=mg.float64), nn.Sigmoid())
        self.loss_fn = nn.BCELoss()
        self.optimizer = nn.optim.SGD(self.model.parameters(), lr=LR)
        x, y = _data()
        self.x, self.y = mg.tensor(x), mg.tensor(y)

    def reset(self):
        """Restore the starting weights."""
        self.model.load_state_dict(sequential_state(start_weights(SIZES, np.float64), (0, 2)))

    def step(self, _):
        """One training step as in any tutorial; returns the loss tensor."""
        return tutorial_step(self.model, self.loss_fn, self.optimizer, self.x, self.y)

    def step_inputs(self):
        """The tensors every step trains on (a compiled step takes them as arguments)."""
        return self.x, self.y


class TorchXor(_Trained):
    """PyTorch CPU eager mode, one thread, the same model and loop."""

    def __init__(self):
        torch = self.torch = import_torch()
        nn = torch.nn
        self.model = nn.Sequential(nn.Linear(2, 8), nn.LeakyReLU(SLOPE), nn.Linear(8, 1), nn.Sigmoid()).double()
        self.loss_fn = nn.BCELoss()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=LR)
        x, y = _data()
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)

    def reset(self):
        """Restore the starting weights."""
        state = sequential_state(start_weights(SIZES, np.float64), (0, 2))
        self.model.load_state_dict({k: self.torch.from_numpy(v) for k, v in state.items()})

    def step(self, _):
        """One training step as in any tutorial; returns the loss tensor."""
        return tutorial_step(self.model, self.loss_fn, self.optimizer, self.x, self.y)


IMPLEMENTATIONS = {"numpy": NumpyXor, "microgradnp": MicrogradnpXor, "microgradnp compiled": compiled(MicrogradnpXor),
                   "torch": TorchXor}


def targets(summary):
    """The issue's targets: microgradnp at most 2.5x the hand-written NumPy step, >= 4x faster than PyTorch."""
    ratio = summary.ratio("microgradnp", "step_us")
    if ratio is None:
        return []
    rows = [("xor step <= 2.5x hand-written NumPy", f"{ratio:.2f}x", ratio <= 2.5)]
    torch_ratio = summary.ratio("torch", "step_us")
    if torch_ratio is not None:
        speedup = torch_ratio / ratio
        rows.append(("xor step >= 4x faster than PyTorch", f"{speedup:.2f}x faster", speedup >= 4))
    return rows + ratio_target(summary, "compiled xor step <= 1.2x hand-written NumPy", "microgradnp compiled", 1.2)
