"""What the workloads share: the starting weights, the metric description, the optional-import rule."""
import functools
import os
import statistics
import time
from dataclasses import dataclass

import numpy as np

SEED = 1234


class Skip(Exception):
    """Raised while setting up an implementation that cannot run here (e.g. PyTorch is not installed)."""


@dataclass(frozen=True)
class Metric:
    """How one measured number is printed: its label, unit, print scale and whether ratios apply."""

    label: str
    unit: str
    digits: int = 1
    ratio: bool = True


def start_weights(sizes, dtype, seed=SEED):
    """[(weight (out, in), bias (out,))] for a stack of Linear layers, drawn as PyTorch's Linear draws them.

    Every implementation starts from these arrays, so their losses can be compared step for step.
    """
    rng = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        weight = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(dtype)
        bias = rng.uniform(-bound, bound, fan_out).astype(dtype)
        layers.append((weight, bias))
    return layers


def sequential_state(layers, linear_positions):
    """The state dict of an ``nn.Sequential`` whose Linear layers sit at ``linear_positions``."""
    state = {}
    for (weight, bias), position in zip(layers, linear_positions):
        state[f"{position}.weight"] = weight
        state[f"{position}.bias"] = bias
    return state


def tutorial_step(model, loss_fn, optimizer, x, target):
    """One training step as any PyTorch tutorial writes it: the same code drives microgradnp and torch."""
    optimizer.zero_grad()
    loss = loss_fn(model(x), target)
    loss.backward()
    optimizer.step()
    return loss


def import_torch():
    """``torch`` pinned to one thread, or ``Skip`` when it cannot be imported."""
    try:
        import torch
    except ImportError as error:
        raise Skip(f"PyTorch is not installed ({error})") from None
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # allowed only before the first parallel work; the env already pins it
        pass
    return torch


def current_rss():
    """Resident set size of this process now, in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def reset_peak_rss():
    """Make the kernel's peak-RSS mark (VmHWM) restart from the current RSS; False if it cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def peak_rss():
    """Peak resident set size of this process (VmHWM), in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def time_steps(step, first, count, block):
    """Run ``step(i)`` for ``i`` in ``first .. first + count - 1``, timing blocks of ``block`` steps.

    Returns (seconds per step, the first step's return value, the last step's). The time is the median
    over the blocks, so that a burst of load from another process spoils one block, not the result.
    """
    if count % block:
        raise ValueError(f"time_steps: {count} steps do not split into blocks of {block}")
    clock = time.perf_counter
    blocks = []
    first_result = None
    i = first
    for _ in range(count // block):
        start = clock()
        for i in range(i, i + block):
            result = step(i)
            if i == first:
                first_result = result
        blocks.append(clock() - start)
        i += 1
    return statistics.median(blocks) / block, first_result, result


def train_over_batches(reset, step, batches, warmup, steps, block):
    """Restore the starting weights, run ``warmup`` steps, then time ``steps`` more in blocks of ``block``,
    cycling through ``batches``; returns the repeat's result (time per step, first and last loss)."""
    reset()
    first = step(*batches[0])
    for i in range(1, warmup):
        step(*batches[i % len(batches)])
    seconds, _, last = time_steps(lambda i: step(*batches[i % len(batches)]), warmup, steps, block)
    return {"metrics": {"step_us": seconds * 1e6},
            "check": {"loss at step 1": as_float(first), f"loss at step {warmup + steps}": as_float(last)}}


class TrainedOverBatches:
    """An implementation timed by ``train_over_batches`` with its workload's ``schedule`` (warm-up steps,
    timed steps, steps per timed block); it has ``reset``, ``step`` and ``batches``."""

    schedule = None

    def run(self):
        """Warm up, then time the steps; returns the time per step."""
        return train_over_batches(self.reset, self.step, self.batches, *self.schedule)


class TutorialTrainer(TrainedOverBatches):
    """An implementation whose step is the tutorial's (``tutorial_step``) on its ``model``, ``loss_fn`` and
    ``optimizer``."""

    def step(self, x, labels):
        """One training step as in any tutorial."""
        return tutorial_step(self.model, self.loss_fn, self.optimizer, x, labels)


def with_kept_memory(implementation):
    """``implementation`` in a process that calls ``mg.backends.cpu.keep_freed_memory()`` before setting up:
    glibc then keeps the memory one step frees for the next, instead of giving it back and faulting it in."""

    class KeptMemory(implementation):
        __doc__ = f"{implementation.__name__}, with the memory a step frees kept for the next one."

        def __init__(self):
            import microgradnp as mg

            mg.backends.cpu.keep_freed_memory()
            super().__init__()

    return KeptMemory


def compiled(implementation):
    """``implementation`` with its step compiled by ``mg.compile``: the timed steps are replays (the warm-up's
    first step captures). The implementation's ``step_inputs()`` names the tensors its step trains on, for
    a step that takes none of its own (``step(i)``); without it, the step's own arguments are the inputs."""

    class Compiled(implementation):
        __doc__ = f"{implementation.__name__}, its training step compiled with mg.compile."

        def __init__(self, *args):
            import microgradnp as mg

            super().__init__(*args)
            step = mg.compile(functools.partial(tutorial_step, self.model, self.loss_fn, self.optimizer))
            if hasattr(self, "step_inputs"):
                self.step = lambda _: step(*self.step_inputs())
            else:
                self.step = step

    return Compiled


def ratio_target(summary, label, implementation, limit, other="numpy", metric="step_us"):
    """A target row ``(label, "median (min..max)", met)``: the median of ``implementation``'s per-repeat
    ratios to ``other``'s time at most ``limit``; no row when either did not run."""
    ratios = summary.ratios(implementation, metric, other=other)
    if not ratios:
        return []
    ratio = statistics.median(ratios)
    return [(label, f"{ratio:.3f}x ({min(ratios):.3f}..{max(ratios):.3f})", ratio <= limit)]


def as_float(value):
    """A loss as a Python float, whichever library computed it."""
    return float(value.item() if hasattr(value, "item") else value)
