"""The workloads, by name. Each module defines:

- ``TITLE``: one line saying what is measured;
- ``IMPLEMENTATIONS``: name -> class; constructing it sets up (untimed), ``run()`` does one timed repeat
  and returns ``{"metrics": {name: number}, "check": {name: number}}``. The first implementation,
  ``numpy``, is the hand-written baseline;
- ``METRICS``: metric name -> ``Metric`` (how to print it, whether a ratio to the baseline means anything);
- ``REPEATS`` (the default number of repeats) and ``FRESH_PROCESS`` (a new process for every repeat,
  for peak-memory measurements);
- ``targets(summary)``: ``[(target text, measured text, met)]`` from the medians.
"""
from . import cnn, deep, lstm, memory, mlp, online, ops, xor
from .common import Skip

__all__ = ["WORKLOADS", "Skip"]

WORKLOADS = {"xor": xor, "mlp": mlp, "online": online, "ops": ops, "deep": deep, "memory": memory, "cnn": cnn,
             "lstm": lstm}

