"""Timing for issue 22 (mg.compile): eager vs replay vs hand-written NumPy, xor and mlp steps.

Run: OMP_NUM_THREADS=1 python benchmarks/compile_timing.py [rounds]
Each round times, interleaved, a block of steps of each implementation; the figure is the median over
rounds of the time per step. The replay is checked bit for bit against eager before timing.
"""
import os
import statistics
import sys
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from workloads import mlp, xor  # noqa: E402
from workloads.common import tutorial_step  # noqa: E402

from microgradnp import compile as mg_compile  # noqa: E402


def _eager(w):
    return lambda x, y: tutorial_step(w.model, w.loss_fn, w.optimizer, x, y)


def setups():
    """name -> (block, {impl: a function running one step})"""
    out = {}
    n, e, r = xor.NumpyXor(), xor.MicrogradnpXor(), xor.MicrogradnpXor()
    for w in (n, e, r):
        w.reset()
    compiled = mg_compile(_eager(r))
    step_e = _eager(e)
    compiled(r.x, r.y)  # capture
    out["xor"] = (200, {"numpy": lambda i: n.step(i), "eager": lambda i: step_e(e.x, e.y),
                        "replay": lambda i: compiled(r.x, r.y)})
    mn, me, mr, mu = mlp.NumpyMLP(), mlp.MicrogradnpMLP(), mlp.MicrogradnpMLP(), mlp.MicrogradnpMLP()
    for w in (mn, me, mr, mu):
        w.reset()
    compiled_u = mg_compile(_eager(mu), buffers=False)
    compiled_u(*mu.batches[0])
    compiled_m = mg_compile(_eager(mr))
    step_m = _eager(me)
    compiled_m(*mr.batches[0])
    nb = len(mn.batches)
    out["mlp"] = (10, {"numpy": lambda i: mn.step(*mn.batches[i % nb]),
                       "eager": lambda i: step_m(*me.batches[i % nb]),
                       "replay": lambda i: compiled_m(*mr.batches[i % nb]),
                       "replay_nobuf": lambda i: compiled_u(*mu.batches[i % nb])})
    return out


def check_bits():
    """The replay against eager: losses and parameters equal bit for bit over 30 steps."""
    for W, batches in ((xor.MicrogradnpXor, None), (mlp.MicrogradnpMLP, None)):
        a, b = W(), W()
        a.reset()
        b.reset()
        compiled = mg_compile(_eager(b))
        data = [(a.x, a.y)] if batches is None and hasattr(a, "x") else a.batches
        for i in range(30):
            x, y = data[i % len(data)]
            la, lb = _eager(a)(x, y), compiled(x, y)
            assert la.numpy().tobytes() == lb.numpy().tobytes(), (W.__name__, i)
        for p, q in zip(a.model.parameters(), b.model.parameters()):
            assert p.numpy().tobytes() == q.numpy().tobytes(), W.__name__
    print("bit-for-bit: xor and mlp, 30 steps each: equal", flush=True)


def main(rounds=15):
    check_bits()
    for name, (block, impls) in setups().items():
        times = {k: [] for k in impls}
        for _ in range(rounds):
            for k, f in impls.items():
                f(0)
                start = time.perf_counter()
                for i in range(block):
                    f(i)
                times[k].append((time.perf_counter() - start) / block)
        med = {k: statistics.median(v) * 1e6 for k, v in times.items()}
        print(f"{name}: " + ", ".join(f"{k} {v:.1f} us" for k, v in med.items())
              + f" | eager/numpy {med['eager'] / med['numpy']:.3f}x, replay/numpy {med['replay'] / med['numpy']:.3f}x,"
                f" replay/eager {med['replay'] / med['eager']:.3f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
