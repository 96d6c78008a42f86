"""mlp: 784 -> 256 -> 128 -> 10 (ReLU), cross-entropy on logits, SGD lr 0.1, batch 128, float32.

Compute-bound: the matrix products dominate, so what counts is doing no more arithmetic than needed
(no gradient for the input batch, products on transposed views, in-place updates). One repeat restores
the starting weights, runs 10 warm-up steps, then times 100 steps over synthetic batches one by one;
the time per step is their median.
"""
import numpy as np

from .common import (
    SEED,
    Metric,
    TrainedOverBatches,
    TutorialTrainer,
    compiled,
    import_torch,
    ratio_target,
    sequential_state,
    start_weights,
)

TITLE = "MLP 784-256-128-10, float32, batch 128: one training step"
SIZES = (784, 256, 128, 10)
LINEAR_POSITIONS = (0, 2, 4)
BATCH = 128
LR = 0.1
WARMUP = 10
STEPS = 100
SCHEDULE = (WARMUP, STEPS, 1)  # warm-up steps, timed steps, steps per timed block
BATCHES = 8  # distinct synthetic batches, cycled
REPEATS = 9
FRESH_PROCESS = False
METRICS = {"step_us": Metric("time per step", "us", digits=0)}


def synthetic_batches(batch=BATCH, count=BATCHES, seed=SEED):
    """``count`` (inputs float32 (batch, 784), class labels int64 (batch,)) pairs, the same everywhere."""
    rng = np.random.default_rng(seed + 1)
    inputs = rng.standard_normal((count, batch, SIZES[0])).astype(np.float32)
    labels = rng.integers(0, SIZES[-1], (count, batch)).astype(np.int64)
    return list(zip(inputs, labels))


class NumpyMLPTrainer:
    """The hand-written forward and backward of the MLP (shared with the memory workload).

    Each weight is stored (in, out), as the seed posts store theirs, so that the forward product is
    ``x @ w`` of two untransposed matrices: on OpenBLAS that is the faster of the two layouts (10% to 35%
    on the forward product), and it is the layout microgradnp's ``nn.Linear`` keeps in memory.
    """

    def __init__(self, batches, weight_product=np.matmul):
        self.batches = batches
        self.layers = None
        # the products for the weight gradients (``np.dot`` for a batch of one: see the online workload)
        self.weight_product = weight_product

    def reset(self):
        """Restore the starting weights."""
        self.layers = [(np.ascontiguousarray(w.T), b) for w, b in start_weights(SIZES, np.float32)]

    def step(self, x, labels):
        """One training step; returns the loss (a float32 NumPy scalar)."""
        (w1, b1), (w2, b2), (w3, b3) = self.layers
        weight_product = self.weight_product
        a1 = x @ w1
        a1 += b1
        np.maximum(a1, 0, out=a1)
        a2 = a1 @ w2
        a2 += b2
        np.maximum(a2, 0, out=a2)
        logits = a2 @ w3
        logits += b3
        # softmax cross-entropy: log-sum-exp with the row maximum taken out
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        total = exp.sum(axis=1, keepdims=True)
        rows = np.arange(len(labels))
        loss = np.log(total).mean() - logits[rows, labels].mean()
        # d loss / d logits = (softmax - one_hot) / n
        grad = exp
        grad /= total
        grad[rows, labels] -= 1
        grad *= np.float32(1.0 / len(labels))
        dw3 = weight_product(a2.T, grad)
        db3 = grad.sum(axis=0)
        grad = grad @ w3.T
        grad *= a2 > 0
        dw2 = weight_product(a1.T, grad)
        db2 = grad.sum(axis=0)
        grad = grad @ w2.T
        grad *= a1 > 0
        dw1 = weight_product(x.T, grad)  # no gradient for the input batch itself
        db1 = grad.sum(axis=0)
        for param, update in ((w1, dw1), (b1, db1), (w2, dw2), (b2, db2), (w3, dw3), (b3, db3)):
            update *= np.float32(LR)
            param -= update
        return loss


class NumpyMLP(TrainedOverBatches):
    """The hand-written NumPy baseline."""

    schedule = SCHEDULE

    def __init__(self, batch=BATCH, weight_product=np.matmul):
        self.trainer = NumpyMLPTrainer(synthetic_batches(batch), weight_product)
        self.reset, self.step, self.batches = self.trainer.reset, self.trainer.step, self.trainer.batches


class MicrogradnpMLP(TutorialTrainer):
    """microgradnp exactly as a user writes it: nn.Sequential, nn.CrossEntropyLoss, nn.optim.SGD."""

    schedule = SCHEDULE

    def __init__(self, batch=BATCH):
        import microgradnp as mg
        from microgradnp import nn

        self.model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                                   nn.Linear(128, 10))
        self.loss_fn = nn.CrossEntropyLoss()
        self.optimizer = nn.optim.SGD(self.model.parameters(), lr=LR)
        self.batches = [(mg.tensor(x), mg.tensor(y)) for x, y in synthetic_batches(batch)]

    def reset(self):
        """Restore the starting weights."""
        self.model.load_state_dict(sequential_state(start_weights(SIZES, np.float32), LINEAR_POSITIONS))


class TorchMLP(TutorialTrainer):
    """PyTorch CPU eager mode, one thread, the same model and loop."""

    schedule = SCHEDULE

    def __init__(self, batch=BATCH):
        torch = self.torch = import_torch()
        nn = torch.nn
        self.model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                                   nn.Linear(128, 10))
        self.loss_fn = nn.CrossEntropyLoss()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=LR)
        self.batches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in synthetic_batches(batch)]

    def reset(self):
        """Restore the starting weights."""
        state = sequential_state(start_weights(SIZES, np.float32), LINEAR_POSITIONS)
        self.model.load_state_dict({k: self.torch.from_numpy(v) for k, v in state.items()})



IMPLEMENTATIONS = {"numpy": NumpyMLP, "microgradnp": MicrogradnpMLP, "microgradnp compiled": compiled(MicrogradnpMLP),
                   "torch": TorchMLP}


def targets(summary):
    """The issue's target for this workload: microgradnp at most 1.05x the hand-written NumPy step."""
    ratio = summary.ratio("microgradnp", "step_us")
    if ratio is None:
        return []
    return ([("mlp step <= 1.05x hand-written NumPy", f"{ratio:.3f}x", ratio <= 1.05)]
            + ratio_target(summary, "compiled mlp step <= 0.97x hand-written NumPy", "microgradnp compiled", 0.97))
