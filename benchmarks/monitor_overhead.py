"""What mg.viz.Monitor adds to the mlp workload's training step (784-256-128-10, float32, batch 128, SGD).

    python benchmarks/monitor_overhead.py [--rounds 15] [--steps 20]

Each round times ``--steps`` steps without a monitor, then with ``Monitor(every=1)``, then with
``Monitor(every=10)``, in a rotating order so that drifting machine load hits the three alike; it prints
the median time per step of each, the median of the per-round ratios to the bare step and their
quartiles. Times are CPU times of this process (BLAS on one thread), so other work on a shared machine
moves them less than wall-clock times. Never run by the tests: timings belong here, not in CI.
"""
import argparse
import os
import sys
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one thread, so that CPU time measures this process's work alone

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from workloads.mlp import MicrogradnpMLP  # noqa: E402

import microgradnp as mg  # noqa: E402


def time_steps(workload, steps, monitor_every):
    batches = workload.batches
    monitor = mg.viz.Monitor(workload.model, every=monitor_every) if monitor_every else None
    if monitor is not None:
        monitor.attach()
    try:
        start = time.process_time()
        for i in range(steps):
            workload.step(*batches[i % len(batches)])
        return (time.process_time() - start) / steps
    finally:
        if monitor is not None:
            monitor.detach()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args(argv)
    workload = MicrogradnpMLP()
    workload.reset()
    configs = (None, 1, 10)
    for every in configs:  # warm-up
        time_steps(workload, 5, every)
    times = {every: [] for every in configs}
    for r in range(args.rounds):
        order = configs[r % 3:] + configs[:r % 3]
        for every in order:
            workload.reset()
            times[every].append(time_steps(workload, args.steps, every))
    bare = np.array(times[None])
    print(f"bare step: median {np.median(bare) * 1e3:.3f} ms over {args.rounds} rounds of {args.steps} steps")
    for every in (1, 10):
        t = np.array(times[every])
        ratios = t / bare
        q1, q3 = np.percentile(ratios, [25, 75])
        print(f"Monitor(every={every}): median {np.median(t) * 1e3:.3f} ms/step, ratio to bare: median "
              f"{np.median(ratios):.3f} (quartiles {q1:.3f}-{q3:.3f})")


if __name__ == "__main__":
    main()
