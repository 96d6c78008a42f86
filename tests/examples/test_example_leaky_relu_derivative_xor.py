"""examples/leaky_relu_derivative_xor.py (seed 001): check_derivative names both relu_prime mistakes."""
import numpy as np
import pytest

from example_runner import assert_outputs_written, run_example


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_example("leaky_relu_derivative_xor", ["--epochs", "1000", "--seed", "0"], tmp_path_factory)


def test_check_derivative_names_each_mistake(run):
    reports = run[0]["reports"]
    ok, diagnosis = reports["relu_prime"]
    assert not ok and "single number (0.1)" in diagnosis
    ok, diagnosis = reports["relu_prime_edit"]
    assert not ok and "wrong threshold" in diagnosis and "between x = 0 and x = 0.1" in diagnosis
    assert reports["relu_prime_right"] == (True, None)


def test_only_the_right_derivative_gives_the_derived_gradients(run):
    # the sample is placed with a hidden pre-activation at 0.05, inside the EDIT's wrong stretch
    assert run[0]["gradients_match"] == {"relu_prime": False, "relu_prime_edit": False, "relu_prime_right": True}


def test_the_scalar_derivative_does_not_solve_xor(run):
    outputs = np.array(run[0]["hand_written_outputs"]["relu_prime"])
    assert np.abs(outputs - [0, 1, 1, 0]).max() > 0.25


def test_the_fix_solves_xor_exactly_like_the_right_hand_written_run(run):
    result, out, _ = run
    assert result["accuracy"] == 1.0 and result["worst_error"] < 0.25
    # same weights, same sample order, same float64 arithmetic: only rounding may differ
    assert result["difference_from_right_derivative"] < 1e-12
    assert "WHAT WENT WRONG" in out and "THE FIX" in out


def test_graph_and_plots_are_written(run):
    result, _, out_dir = run
    assert_outputs_written(result, out_dir)
