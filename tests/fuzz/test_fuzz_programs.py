"""The differential fuzzer: random programs replayed in microgradnp and PyTorch must agree.

Forward values, dtypes, shapes and requires_grad after every step; whether a step returns one of its
inputs itself; every leaf's gradient; second-order gradients of smooth programs; and errors: a step or
a backward pass that PyTorch refuses must raise in microgradnp too, with a message. Deliberate differences
and known open bugs are kept out of the programs (differences.py).

Deterministic (derandomized). ``MICROGRADNP_FUZZ_SCALE=20`` runs twenty times as many examples.
"""
import os

import pytest
from hypothesis import HealthCheck, given, settings

from .catalogue import LAYER_OPS
from .program import check, report
from .strategies import programs, smooth_programs

torch = pytest.importorskip("torch")

SCALE = float(os.environ.get("MICROGRADNP_FUZZ_SCALE", "1"))

settings.register_profile(
    "microgradnp-fuzz", derandomize=True, deadline=None, database=None, print_blob=False,
    suppress_health_check=list(HealthCheck))
FUZZ = settings.get_profile("microgradnp-fuzz")


def examples(n):
    """``n`` examples, times MICROGRADNP_FUZZ_SCALE."""
    return max(1, round(n * SCALE))


def assert_agrees(program):
    problem, terms = check(program)
    assert problem is None, report(program, problem, terms)


@settings(FUZZ, max_examples=examples(2500))
@given(programs())
def test_programs_agree_with_pytorch(program):
    assert_agrees(program)


@settings(FUZZ, max_examples=examples(1000))
@given(programs(ops=tuple(LAYER_OPS)))
def test_layer_and_loss_programs_agree_with_pytorch(program):
    assert_agrees(program)


@settings(FUZZ, max_examples=examples(1000))
@given(smooth_programs())
def test_second_order_gradients_of_smooth_programs_agree_with_pytorch(program):
    assert_agrees(program)
