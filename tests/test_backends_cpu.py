"""mg.backends.cpu.keep_freed_memory: glibc keeps what a step frees (checked in a fresh process each time,
so that the test process's own allocator is left as it is)."""
import subprocess
import sys

import pytest

import microgradnp as mg

# allocate and free 64 MB in 8 MB arrays, as a training step's graph does, and report how much of it the
# process still holds afterwards
PROBE = """
import sys
import numpy as np
import microgradnp as mg
print(mg.backends.cpu.keep_freed_memory(sys.argv[1] == "keep") if sys.argv[1] != "untouched" else True)

def resident():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096

arrays = [np.ones(1 << 20) for _ in range(8)]
held = resident()
del arrays
print((held - resident()) >> 20)
"""


def _probe(mode):
    result = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    applied, released_mb = result.stdout.split()
    return applied == "True", int(released_mb)


glibc = pytest.mark.skipif(not mg.backends.cpu._glibc() or not sys.platform.startswith("linux"),
                           reason="the setting exists for glibc's malloc on Linux only")


@glibc
def test_freed_memory_is_kept_only_when_asked():
    applied, released = _probe("keep")
    assert applied and released < 8  # the 64 MB stay in the process, ready for the next step
    applied, released = _probe("untouched")
    assert released >= 56  # glibc's defaults give it back at once


@glibc
def test_the_defaults_can_be_restored():
    applied, released = _probe("default")
    assert applied and released >= 56


def test_elsewhere_it_changes_nothing_and_says_so(monkeypatch):
    monkeypatch.setattr(mg.backends.cpu, "_glibc", lambda: None)
    assert mg.backends.cpu.keep_freed_memory() is False
