"""A benchmark child: runs one implementation of one workload, one repeat per ``run`` line on stdin.

    python benchmarks/worker.py WORKLOAD IMPLEMENTATION

Started by ``run.py`` (never by hand) with BLAS pinned to one thread. Results go out as JSON lines on
the process's original stdout; anything the benchmarked code prints is sent to stderr instead, so it
can never corrupt the protocol.
"""
import json
import os
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the repository root: import the microgradnp checked out here
sys.path.insert(0, HERE)

from harness import machine  # noqa: E402
from workloads import WORKLOADS, Skip  # noqa: E402


def main():
    """Answer ``run`` requests until ``quit`` or end of input."""
    channel = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(message):
        channel.write(json.dumps(message) + "\n")
        channel.flush()

    workload, implementation = sys.argv[1], sys.argv[2]
    try:
        bench = WORKLOADS[workload].IMPLEMENTATIONS[implementation]()
    except Skip as reason:
        send({"skip": str(reason)})
        return
    except Exception:
        send({"error": "setup failed:\n" + traceback.format_exc()})
        return
    _load_lazy_libraries()
    # after the setup, so that the pools of every library the implementation loaded are pinned too
    limiter = machine.limit_threads()  # noqa: F841 - the limit holds while the limiter lives
    send({"ready": True, "blas": machine.blas_pools()})
    for line in sys.stdin:
        command = line.strip()
        if command == "quit":
            break
        if command != "run":
            send({"error": f"unknown request {command!r}"})
            break
        try:
            send({"result": bench.run()})
        except Exception:
            send({"error": "run failed:\n" + traceback.format_exc()})
            break


def _load_lazy_libraries():
    # microgradnp imports SciPy's BLAS at its first optimizer update: import it now, so that its thread
    # pool is pinned and reported with the others
    scaled_add = sys.modules.get("nn.optim.scaled_add")
    if scaled_add is not None:
        scaled_add.fused_available("float32")


if __name__ == "__main__":
    main()
