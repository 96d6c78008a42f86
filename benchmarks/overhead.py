"""Per-op overhead of microgradnp against raw NumPy, and the cost of a 1,000,000-node backward.

    python benchmarks/overhead.py            # about a minute
    python benchmarks/overhead.py --quick    # fewer repeats, a 200,000-node chain

For each op, on a 1-element and a 1000-element float64 array, it prints (in microseconds per call):
the raw NumPy forward call; the same forward plus its backward written by hand in NumPy; microgradnp's
forward under no_grad; and microgradnp's forward + backward. The last column is microgradnp's
forward + backward minus the hand-written NumPy one: the price of recording the graph and running the
engine. Then a chain of scalar multiplications is built and differentiated, with its time and memory
per node. Never run by the tests: timings belong here, not in CI.
"""
import argparse
import gc
import os
import resource
import sys
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import microgradnp as mg


def best_time(fn, number, repeat):
    """Best per-call time in microseconds over ``repeat`` runs of ``number`` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best * 1e6


def op_cases(size):
    """(name, numpy forward, numpy forward+backward, microgradnp forward, inputs) for one array size."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(size)
    y = rng.standard_normal(size)
    rows = 1 if size == 1 else 10
    a = rng.standard_normal((rows, size // rows))
    b = rng.standard_normal((size // rows, rows))
    g = np.ones(size)
    g_mm = np.ones((rows, rows))

    def numpy_tanh():
        out = np.tanh(x)
        return g * (1 - out * out)

    def numpy_exp():
        out = np.exp(x)
        return g * out

    def numpy_matmul():
        a @ b
        return g_mm @ b.T, a.T @ g_mm

    return [
        ("mul by scalar", lambda: x * 2.0, lambda: (x * 2.0, g * 2.0), lambda t: t[0] * 2.0, (x,)),
        ("add", lambda: x + y, lambda: (x + y, g, g), lambda t: t[0] + t[1], (x, y)),
        ("tanh", lambda: np.tanh(x), numpy_tanh, lambda t: mg.tanh(t[0]), (x,)),
        ("exp", lambda: np.exp(x), numpy_exp, lambda t: mg.exp(t[0]), (x,)),
        (f"matmul {a.shape}@{b.shape}", lambda: a @ b, numpy_matmul, lambda t: t[0] @ t[1], (a, b)),
        ("sum", lambda: x.sum(), lambda: (x.sum(), np.broadcast_to(1.0, x.shape)), lambda t: t[0].sum(), (x,)),
    ]


def measure_ops(number, repeat):
    """One row per (op, size)."""
    rows = []
    for size in (1, 1000):
        for name, np_forward, np_both, mg_forward, arrays in op_cases(size):
            leaves = [mg.tensor(arr, requires_grad=True) for arr in arrays]
            out = mg_forward(leaves)
            seed = np.ones(out.shape)

            def mg_both():
                mg_forward(leaves).backward(seed)

            def mg_no_grad():
                with mg.no_grad():
                    mg_forward(leaves)

            rows.append((name, size, best_time(np_forward, number, repeat), best_time(np_both, number, repeat),
                         best_time(mg_no_grad, number, repeat), best_time(mg_both, number, repeat)))
    return rows


def print_ops(rows):
    print("Per-op cost, microseconds per call (best of several runs; float64)")
    header = (f"{'op':<28}{'size':>6}{'numpy fwd':>11}{'numpy f+b':>11}{'mg no_grad':>12}{'mg f+b':>9}"
              f"{'overhead':>10}")
    print(header)
    print("-" * len(header))
    for name, size, np_fwd, np_both, mg_fwd, mg_both in rows:
        print(f"{name:<28}{size:>6}{np_fwd:>11.2f}{np_both:>11.2f}{mg_fwd:>12.2f}{mg_both:>9.2f}"
              f"{mg_both - np_both:>10.2f}")


def current_rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure_chain(nodes):
    """Build x * c * c * ... (``nodes`` multiplications), differentiate it, and measure time and memory."""
    c = 1 + 1e-7
    gc.collect()
    rss_before = current_rss_bytes()
    x = mg.tensor(np.array(1.0), requires_grad=True)
    gc.disable()  # the cyclic collector rescans the growing graph; disabling it is what a user would do too
    start = time.perf_counter()
    h = x
    for _ in range(nodes):
        h = h * c
    build = time.perf_counter() - start
    start = time.perf_counter()
    h.backward()
    backward = time.perf_counter() - start
    gc.enable()
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # ru_maxrss is in KiB on Linux
    assert abs(x.grad.item() / c ** nodes - 1) < 1e-8, "wrong chain gradient"
    del h
    gc.collect()
    return build, backward, peak_rss - rss_before


def traced_bytes_per_node(nodes):
    """Bytes allocated per node (Python objects and NumPy buffers) while building and differentiating."""
    gc.collect()
    tracemalloc.start()
    x = mg.tensor(np.array(1.0), requires_grad=True)
    h = x
    for _ in range(nodes):
        h = h * 1.0
    built = tracemalloc.get_traced_memory()[0]
    h.backward()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del h
    return built / nodes, peak / nodes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and a 200,000-node chain")
    args = parser.parse_args()
    number, repeat = (300, 3) if args.quick else (2000, 5)
    nodes = 200_000 if args.quick else 1_000_000

    print(f"numpy {np.__version__}, python {sys.version.split()[0]}\n")
    print_ops(measure_ops(number, repeat))

    build, backward, rss = measure_chain(nodes)
    print(f"\nChain of {nodes:,} multiplications (a scalar), garbage collector off while building:")
    print(f"  build (forward)    {build:7.2f} s   {build / nodes * 1e6:6.2f} us/node")
    print(f"  backward           {backward:7.2f} s   {backward / nodes * 1e6:6.2f} us/node")
    print(f"  peak RSS increase  {rss / 2**20:7.0f} MiB {rss / nodes:6.0f} bytes/node")
    sample = 100_000
    built, peak = traced_bytes_per_node(sample)
    print(f"  tracemalloc ({sample:,} nodes): {built:.0f} bytes/node held by the graph, "
          f"{peak:.0f} bytes/node at the backward peak")


if __name__ == "__main__":
    main()
