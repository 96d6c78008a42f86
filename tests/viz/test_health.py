"""Gradient health of single tensors, with values small enough to check by hand."""
import numpy as np
import pytest

from microgradnp.viz.health import Thresholds, assess, dead_unit_count, value_stats, worst

T = Thresholds()


def test_dead_units_are_columns_zero_for_every_sample():
    assert dead_unit_count(np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 3.0]])) == (1, 3)
    assert dead_unit_count(np.zeros((4, 2, 5))) == (5, 5)
    assert dead_unit_count(np.array([0.0, 0.0])) == (1, 1)     # a batch of scalars is one unit
    assert dead_unit_count(np.array(2.0)) == (0, 1)


def test_value_stats_ignore_nan_and_inf():
    assert value_stats(np.array([1.0, np.nan, 3.0, np.inf])) == (1.0, 2.0, 3.0)
    assert value_stats(np.array([np.nan])) is None and value_stats(np.array([True])) is None


@pytest.mark.parametrize("grad, passed, status", [
    (np.array([[3.0, 4.0]]), None, "ok"),
    (np.zeros((2, 2)), None, "dead"),
    (np.array([1e-7]), None, "vanishing"),
    (np.array([2e3]), None, "exploding"),
    (np.array([np.nan, 1.0]), None, "nonfinite"),
    (np.array([[1.0, 1.0]]), [np.zeros((1, 2))], "blocked"),
    (np.array([[1.0, 1.0], [1.0, 1.0]]), [np.array([[1.0, 0.0], [2.0, 0.0]])], "partly_dead"),
    (np.array([[1.0, 1.0, 1.0]]), [np.array([[1.0, 1.0, 0.0]])], "ok"),     # 1/3 < 0.5
])
def test_statuses(grad, passed, status):
    assert assess(np.ones_like(grad), grad, T, passed=passed).status == status


def test_norm_and_dead_text():
    health = assess(None, np.array([[3.0, 0.0], [4.0, 0.0]]), T, passed=[])
    assert health.grad_norm == 5.0 and health.dead_text == "1/2 units dead"
    assert assess(None, np.array([[3.0, 0.0]]), T).dead_text == ""      # leaves have no units


def test_nonfinite_value_without_gradient():
    health = assess(np.array([np.inf]), None, T)
    assert health.status == "nonfinite" and health.nonfinite_in == "value"
    assert assess(np.array([1.0]), None, T).status == "unknown"


def test_worst_and_threshold_checks():
    assert worst(["ok", "dead", "vanishing"]) == "dead" and worst([]) == "unknown"
    with pytest.raises(ValueError, match="dead_fraction must be in"):
        Thresholds(dead_fraction=0)
