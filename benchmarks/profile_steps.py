"""Where microgradnp's time goes in a training step: cProfile of the xor and mlp benchmark steps.

    python benchmarks/profile_steps.py                 # both workloads, top 25 functions each
    python benchmarks/profile_steps.py --workload mlp --top 40 --sort cumulative

First the step is split into its phases (zero_grad, forward, loss, backward, optimizer step), each
timed with the clock and given as the median over the steps; then cProfile lists the functions. It
profiles exactly the step that ``run.py`` times (the same model, loss, optimizer and data), with
BLAS pinned to one thread. cProfile adds a fixed cost to every Python call, so the overhead-bound xor
step looks slower than it is; read the shares, not the absolute times.
"""
import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from harness import machine  # noqa: E402

# before NumPy loads OpenBLAS: the same environment as the benchmark children
os.environ.update(machine.child_environment())
for _name in machine.OPENBLAS_OVERRIDES:
    os.environ.pop(_name, None)

from workloads import mlp, xor  # noqa: E402

STEPS = {"xor": 2000, "mlp": 50}


def _setup(workload):
    """(bench, step(i), batch(i) -> (input, target)) for the microgradnp implementation of ``workload``."""
    if workload == "xor":
        bench = xor.MicrogradnpXor()
        return bench, bench.step, lambda i: (bench.x, bench.y)
    bench = mlp.MicrogradnpMLP()
    batches = bench.batches
    return bench, lambda i: bench.step(*batches[i % len(batches)]), lambda i: batches[i % len(batches)]


def phases(workload):
    """Print the median time of each phase of a step, in microseconds, and its share of the step."""
    bench, _, batch = _setup(workload)
    bench.reset()
    clock = time.perf_counter
    names = ("zero_grad", "forward", "loss", "backward", "optimizer step")
    times = {name: [] for name in names}
    for i in range(STEPS[workload] + 10):
        x, target = batch(i)
        t0 = clock()
        bench.optimizer.zero_grad()
        t1 = clock()
        out = bench.model(x)
        t2 = clock()
        loss = bench.loss_fn(out, target)
        t3 = clock()
        loss.backward()
        t4 = clock()
        bench.optimizer.step()
        t5 = clock()
        if i >= 10:
            for name, seconds in zip(names, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
                times[name].append(seconds)
    medians = {name: statistics.median(values) * 1e6 for name, values in times.items()}
    total = sum(medians.values())
    print(f"\n=== microgradnp {workload}: phases of a step (median over {STEPS[workload]} steps) ===")
    for name, value in medians.items():
        print(f"  {name:<15}{value:10.1f} us  {value / total:6.1%}")
    print(f"  {'sum':<15}{total:10.1f} us")


def profile(workload, top, sort):
    """Profile ``STEPS[workload]`` microgradnp steps and print the ``top`` functions by ``sort``."""
    bench, step, _ = _setup(workload)
    bench.reset()
    for i in range(10):  # warm caches and lazy imports outside the profile
        step(i)
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(STEPS[workload]):
        step(i)
    profiler.disable()
    print(f"\n=== microgradnp {workload}: {STEPS[workload]} steps, top {top} by {sort} ===")
    stats = pstats.Stats(profiler)
    stats.strip_dirs().sort_stats(sort).print_stats(top)


def main():
    """Parse the options and profile."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=("xor", "mlp", "both"), default="both")
    parser.add_argument("--top", type=int, default=25, help="how many functions to print")
    parser.add_argument("--sort", default="tottime", help="pstats sort key: tottime, cumulative, ncalls...")
    args = parser.parse_args()
    limiter = machine.limit_threads()  # noqa: F841 - the limit holds while the limiter lives
    for workload in (("xor", "mlp") if args.workload == "both" else (args.workload,)):
        phases(workload)
        profile(workload, args.top, args.sort)


if __name__ == "__main__":
    main()
