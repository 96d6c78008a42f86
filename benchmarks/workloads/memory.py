"""memory: resident memory over 10,000 MLP training steps (batch 32), which must stay flat.

A graph kept alive by a reference cycle, a cache that grows with every step, or an optimizer state
that accumulates shows up here as RSS growing between step 1000 and step 10000. The step time is
printed too, for the smaller batch.
"""
import time

from . import mlp
from .common import Metric, as_float, current_rss

TITLE = "resident memory over 10,000 MLP training steps (batch 32)"
BATCH = 32
STEPS = 10_000
EARLY = 1000
REPEATS = 1
FRESH_PROCESS = True
FLAT_MIB = 2.0  # growth below this is allocator noise, not a leak
METRICS = {
    "rss_early_mib": Metric(f"RSS at step {EARLY}", "MiB", digits=1, ratio=False),
    "rss_late_mib": Metric(f"RSS at step {STEPS}", "MiB", digits=1, ratio=False),
    "growth_mib": Metric(f"growth, step {EARLY} to {STEPS}", "MiB", digits=2, ratio=False),
    "step_us": Metric("time per step", "us", digits=0),
}


class _Watch:
    """Runs an MLP implementation's steps and samples RSS every ``EARLY`` steps."""

    def __init__(self, make):
        self.bench = make(batch=BATCH)

    def run(self):
        """Train for ``STEPS`` steps; returns the RSS samples and the time per step."""
        bench = self.bench
        bench.reset()
        batches = bench.batches
        samples = {}
        start = time.perf_counter()
        for i in range(1, STEPS + 1):
            loss = bench.step(*batches[i % len(batches)])
            if i == 1:
                first = loss
            if i % EARLY == 0:
                samples[i] = current_rss()
        seconds = time.perf_counter() - start
        mib = 2.0 ** 20
        early, late = samples[EARLY] / mib, samples[STEPS] / mib
        return {"metrics": {"rss_early_mib": early, "rss_late_mib": late, "growth_mib": late - early,
                            "step_us": seconds / STEPS * 1e6},
                "check": {"loss at step 1": as_float(first), f"loss at step {STEPS}": as_float(loss)},
                "samples_mib": [round(samples[k] / mib, 2) for k in sorted(samples)]}


IMPLEMENTATIONS = {
    "numpy": lambda: _Watch(mlp.NumpyMLP),
    "microgradnp": lambda: _Watch(mlp.MicrogradnpMLP),
    "torch": lambda: _Watch(mlp.TorchMLP),
}


def targets(summary):
    """The issue's target: no growth beyond noise between step 1000 and step 10000."""
    growth = summary.median("microgradnp", "growth_mib")
    if growth is None:
        return []
    return [(f"memory flat over {STEPS:,} mlp steps (< {FLAT_MIB:g} MiB growth)", f"{growth:+.2f} MiB",
             growth < FLAT_MIB)]
