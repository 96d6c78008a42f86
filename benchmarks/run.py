"""Speed of microgradnp against hand-written NumPy and PyTorch, measured side by side.

    python benchmarks/run.py                                  # every workload, a few minutes
    python benchmarks/run.py --workloads xor,mlp --repeats 9
    python benchmarks/run.py --markdown results.md --json results.json

Each implementation of a workload runs in its own process (BLAS pinned to one thread, OpenBLAS kernel
overrides removed); the repeats are interleaved between implementations, so every ratio compares runs
made at nearly the same moment. Medians, the min..max spread and the ratio to the hand-written NumPy
baseline are printed, with the largest relative difference between the implementations' losses (they
all start from the same weights). Never run by the tests: timings belong here, not in CI.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import machine, report
from harness.child import Child
from harness.summary import Summary
from workloads import WORKLOADS

DEFAULT_WORKLOADS = ("xor", "mlp", "online", "ops", "deep", "memory")


def measure(workload, repeats, only=None, log=print):
    """Run ``repeats`` interleaved repeats of every implementation of ``workload``; returns a Summary."""
    module = WORKLOADS[workload]
    names = [n for n in module.IMPLEMENTATIONS if only is None or n in only or n == "numpy"]
    runs = {name: [] for name in names}
    skipped = {}
    blas = {}
    children = {}
    try:
        for repeat in range(repeats):
            # rotate the order so that no implementation always runs right after another
            order = names[repeat % len(names):] + names[:repeat % len(names)]
            for name in order:
                if name in skipped:
                    continue
                child = children.get(name)
                if child is None:
                    child = Child(workload, name)
                    if child.skipped:
                        skipped[name] = child.skipped
                        runs.pop(name)
                        continue
                    blas[name] = child.blas
                    children[name] = child
                runs[name].append(child.run())
                if module.FRESH_PROCESS:
                    children.pop(name).close()
            log(f"  {workload}: repeat {repeat + 1}/{repeats} done", file=sys.stderr)
    finally:
        for child in children.values():
            child.close()
    summary = Summary(workload, runs, skipped)
    summary.blas = blas
    return summary


def blas_lines(summaries):
    """The BLAS/OpenMP pools threadpoolctl saw inside the children, per implementation."""
    pools_of = {}
    for summary in summaries.values():
        for implementation, pools in summary.blas.items():
            for pool in pools:
                text = _pool_text(pool)
                pools_of.setdefault(implementation, [])
                if text not in pools_of[implementation]:
                    pools_of[implementation].append(text)
    if not any(pools_of.values()):
        return ["children: threadpoolctl not installed; BLAS pinned through OMP/OPENBLAS/MKL_NUM_THREADS=1"]
    return [f"{implementation} process: {'; '.join(texts)}" for implementation, texts in pools_of.items()]


def _pool_text(pool):
    text = f"{pool.get('internal_api', '?')} {pool.get('version') or ''}".rstrip()
    if pool.get("architecture"):
        text += f" ({pool['architecture']} kernels)"
    threads = pool.get("num_threads")
    return text + (f", {threads} thread{'s' if threads != 1 else ''}" if threads is not None else "")


def main(argv=None):
    """Parse the options, run the workloads, print the tables (and write --markdown/--json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default=",".join(DEFAULT_WORKLOADS),
                        help=f"comma-separated, from {', '.join(WORKLOADS)} (default: all)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="repeats per implementation (default: each workload's own, 1 to 7)")
    parser.add_argument("--implementations", default=None,
                        help="comma-separated subset, e.g. microgradnp (the numpy baseline always runs)")
    parser.add_argument("--markdown", metavar="FILE", help="also write the tables as Markdown")
    parser.add_argument("--json", metavar="FILE", help="also write every raw measurement as JSON")
    args = parser.parse_args(argv)
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = [w for w in workloads if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    only = None if args.implementations is None else {s.strip() for s in args.implementations.split(",")}
    if only is not None:
        known = {name for w in workloads for name in WORKLOADS[w].IMPLEMENTATIONS}
        if only - known:
            parser.error(f"unknown implementation(s) {', '.join(sorted(only - known))}; these workloads have "
                         f"{', '.join(sorted(known))}")

    header = machine.describe()
    print("\n".join(header), flush=True)
    started = time.perf_counter()
    summaries = {}
    for workload in workloads:
        module = WORKLOADS[workload]
        repeats = args.repeats or module.REPEATS
        summaries[workload] = measure(workload, repeats, only)
        print("\n" + report.text_table(module, summaries[workload], repeats), flush=True)
    machine_lines = blas_lines(summaries)
    print("\n" + "\n".join(machine_lines))
    modules = {w: WORKLOADS[w] for w in summaries}
    targets = report.targets_table(modules, summaries)
    if targets:
        print("\n" + targets)
    print(f"\ntotal time {time.perf_counter() - started:.0f} s")

    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n".join(["```", *header, *machine_lines, "```", "",
                               report.markdown_table(modules, summaries), "",
                               report.targets_table(modules, summaries, markdown=True), ""]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": header + machine_lines,
                       "workloads": {w: {"runs": s.runs, "skipped": s.skipped} for w, s in summaries.items()}},
                      f, indent=1)


if __name__ == "__main__":
    main()
