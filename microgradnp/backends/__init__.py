"""``mg.backends``: the switches PyTorch scripts read or set (``mps.is_available()``, ``cudnn.deterministic``),
and ``cpu.keep_freed_memory()``, the allocator setting that speeds up large NumPy training steps.

There is one backend here, NumPy on the CPU: the queries answer False, and the cuDNN flags may be set (a
script that sets ``cudnn.deterministic = True`` runs) and change nothing, since NumPy's results do not
depend on them.
"""
from . import cpu, cudnn, mps

__all__ = ["cpu", "cudnn", "mps"]
