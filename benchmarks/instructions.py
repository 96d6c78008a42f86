"""Instructions (and simulated cache misses) per step, counted by Valgrind: numbers that load cannot move.

    python benchmarks/instructions.py                       # xor, mlp and ops; microgradnp and numpy
    python benchmarks/instructions.py --workloads ops --implementations microgradnp
    python benchmarks/instructions.py --workloads mlp --cache   # with L1 and L2 misses

On a shared machine a timing moves by 5% to 50% with other work; an instruction count does not move at
all. It is the tool for deciding whether a change to per-op Python work helps: a smaller count is less
work, whatever the load. It is no substitute for a timing where memory traffic matters (the mlp's
arrays): ``--cache`` simulates a 48 KB L1 and a 1 MB L2 and counts their misses, which shows such
traffic, but not what it costs on a real CPU with prefetching.

Each workload runs twice under ``valgrind --tool=cachegrind`` (``valgrind`` must be on the PATH), with a
few and with more steps after the same setup; the difference divided by the extra steps is the count of
one step, free of the imports and setup. BLAS runs on one thread and string hashing is fixed, so a
count repeats to the instruction. The steps are the benchmark's own (``run.py``), except that ops counts
one op of the 1-element chain.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# steps per run: (fewer, more); the chain workload counts chains of LENGTH ops
STEPS = {"xor": (100, 300), "mlp": (3, 8), "ops": (4, 12)}
EVENTS = ("Ir", "I1mr", "ILmr", "Dr", "D1mr", "DLmr", "Dw", "D1mw", "DLmw")
EVENT_NAMES = {"Ir": "instructions", "I1mr": "L1 instruction misses", "ILmr": "L2 instruction misses",
               "D1mr": "L1 read misses", "DLmr": "L2 read misses", "D1mw": "L1 write misses",
               "DLmw": "L2 write misses"}


def child(workload, implementation, steps):
    """Set up one benchmark implementation and run ``steps`` of its steps (inside Valgrind)."""
    sys.path.insert(0, ROOT)
    sys.path.insert(0, HERE)
    from workloads import chain, mlp, ops, xor

    if workload == "ops":
        bench = {"numpy": ops.NumpyOps, "microgradnp": ops.MicrogradnpOps}[implementation]()
        run = ((lambda: chain.numpy_forward_backward(bench.inputs[1], ops.LENGTH)) if implementation == "numpy"
               else (lambda: bench.one_chain(1)))
        for _ in range(steps):
            run()
        return
    module = {"xor": xor, "mlp": mlp}[workload]
    classes = {"xor": {"numpy": xor.NumpyXor, "microgradnp": xor.MicrogradnpXor},
               "mlp": {"numpy": mlp.NumpyMLP, "microgradnp": mlp.MicrogradnpMLP}}[workload]
    bench = classes[implementation]()
    bench.reset()
    if module is mlp:
        batches = bench.batches
        for i in range(steps):
            bench.step(*batches[i % len(batches)])
    else:
        for i in range(steps):
            bench.step(i)


def _count(workload, implementation, steps, cache):
    # one run under cachegrind; returns {event: total count}
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cachegrind.out")
        command = ["valgrind", "--tool=cachegrind", f"--cachegrind-out-file={out}"]
        command += (["--cache-sim=yes", "--I1=32768,8,64", "--D1=49152,12,64", "--LL=1048576,8,64"] if cache
                    else ["--cache-sim=no"])
        command += [sys.executable, os.path.abspath(__file__), "--child", workload, implementation, str(steps)]
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   PYTHONHASHSEED="0")
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(out) as f:
            text = f.read()
    events = re.search(r"^events: (.*)$", text, re.M).group(1).split()
    totals = re.search(r"^summary: (.*)$", text, re.M).group(1).split()
    return dict(zip(events, map(int, totals)))


def per_step(workload, implementation, cache):
    """{event: count per step (per op for ops)} from the difference of two runs."""
    fewer, more = STEPS[workload]
    low = _count(workload, implementation, fewer, cache)
    high = _count(workload, implementation, more, cache)
    units = (more - fewer) * (1000 if workload == "ops" else 1)
    return {event: (high[event] - low[event]) / units for event in high}


def main():
    """Parse the options, count, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workloads", default="xor,mlp,ops", help="comma-separated, from xor, mlp, ops")
    parser.add_argument("--implementations", default="numpy,microgradnp", help="comma-separated")
    parser.add_argument("--cache", action="store_true", help="also simulate the caches (several times slower)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return
    if shutil.which("valgrind") is None:
        sys.exit("instructions.py: valgrind is not on the PATH (e.g. apt install valgrind)")
    shown = [e for e in EVENTS if e in EVENT_NAMES and (args.cache or e == "Ir")]
    for workload in args.workloads.split(","):
        unit = "per op" if workload == "ops" else "per step"
        print(f"{workload} ({unit}):")
        base = None
        for implementation in args.implementations.split(","):
            counts = per_step(workload, implementation, args.cache)
            base = counts if base is None else base
            cells = ", ".join(f"{EVENT_NAMES[e]} {int(round(counts[e])):,}" for e in shown)
            ratio = f"  ({counts['Ir'] / base['Ir']:.2f}x the instructions of {args.implementations.split(',')[0]})"
            print(f"  {implementation:12s} {cells}{ratio if counts is not base else ''}")


if __name__ == "__main__":
    main()
