"""Hypothesis strategies for programs: a few leaves, then up to ``max_steps`` ops drawn from a list."""
from hypothesis import event
from hypothesis import strategies as st

from .builder import Builder, StopProgram
from .catalogue import OPS, SMOOTH_OPS, WEIGHTED_OPS


@st.composite
def programs(draw, ops=tuple(WEIGHTED_OPS), smooth=False, max_steps=10):
    """A program of 1 to ``max_steps`` ops from ``ops`` (smooth: float64, no in-place, second order)."""
    b = Builder(draw, smooth=smooth)
    try:
        for _ in range(draw(st.integers(1, 3), label="leaves")):
            b.leaf(b.shape())
        for _ in range(draw(st.integers(1, max_steps), label="steps")):
            for _attempt in range(3):   # a generator may find nothing to do, or draw a step that is avoided
                name = draw(st.sampled_from(ops), label="op")
                before = len(b.program.steps)
                OPS[name][0](b)
                if len(b.program.steps) > before:
                    break
    except StopProgram:
        pass
    program = b.finish()
    for step in program.steps:
        event(f"op: {step.op}")
    return program


def smooth_programs(max_steps=8):
    return programs(ops=tuple(SMOOTH_OPS), smooth=True, max_steps=max_steps)
