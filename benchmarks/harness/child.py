"""The driver's side of a benchmark child: one process running one implementation of one workload.

The child (``benchmarks/worker.py``) answers one JSON line per request on its own channel: first
``{"ready": ...}`` or ``{"skip": reason}``, then one ``{"result": ...}`` per ``run`` request.
"""
import json
import os
import subprocess
import sys

from . import machine

WORKER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "worker.py")


class ChildFailed(RuntimeError):
    """A benchmark child died or answered something other than a result."""


class Child:
    """A running ``worker.py`` for ``(workload, implementation)``; ``skipped`` holds the reason it declined."""

    def __init__(self, workload, implementation):
        self.workload = workload
        self.implementation = implementation
        self.process = subprocess.Popen(
            [sys.executable, WORKER, workload, implementation],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, text=True,
            env=machine.child_environment())
        hello = self._receive()
        self.skipped = hello.get("skip")
        self.blas = hello.get("blas", [])
        if self.skipped:
            self.close()

    def run(self):
        """Ask for one repeat; returns the workload's result dict."""
        self.process.stdin.write("run\n")
        self.process.stdin.flush()
        return self._receive()["result"]

    def close(self):
        """Ask the child to exit and wait for it."""
        if self.process.poll() is None:
            try:
                self.process.stdin.write("quit\n")
                self.process.stdin.flush()
            except BrokenPipeError:
                pass
        self.process.wait()

    def _receive(self):
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait()
            raise ChildFailed(f"{self.workload}/{self.implementation}: the benchmark process exited with code "
                              f"{code} (its error is printed above)")
        message = json.loads(line)
        if "error" in message:
            self.close()
            raise ChildFailed(f"{self.workload}/{self.implementation}: {message['error']}")
        return message
