"""examples/xor_sigmoid_derivative_twice.py (seed 002): the doubled sigmoid and the missing biases."""
import math

import numpy as np
import pytest

from example_runner import assert_outputs_written, run_example


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_example("xor_sigmoid_derivative_twice", ["--epochs", "1000", "--seed", "0"], tmp_path_factory)


def test_check_derivative_passes_d_sigmoid_but_not_as_the_backward_pass_calls_it(run):
    result, _, _ = run
    assert result["d_sigmoid_ok"] is True
    assert result["d_sigmoid_of_output_ok"] is False
    assert "evaluates the derivative at the activation's output" in result["d_sigmoid_of_output_diagnosis"]


def test_the_posted_gradients_are_wrong_and_the_output_form_is_right_up_to_the_batch_size(run):
    result, _, _ = run
    assert result["post_gradients_match"] is False
    # d_binary_cross_entropy is the gradient of the sum over the 4 samples, the loss their mean
    assert result["output_form_factor"] == 4 and result["output_form_gradients_match"] is True


def test_without_biases_the_zero_input_is_stuck_at_one_half(run):
    result, _, _ = run
    assert result["zero_input_prediction"] == 0.5
    assert result["zero_input_max_gradient"] == 0.0


def test_the_post_trains_to_one_half_everywhere(run):
    result, _, _ = run
    assert np.allclose(result["post_predictions"], 0.5, atol=0.01)
    assert result["post_loss"] == pytest.approx(math.log(2), abs=1e-3)


def test_the_fix_learns_xor(run):
    result, out, _ = run
    assert result["accuracy"] == 1.0
    assert np.abs(np.array(result["predictions"]) - [0, 1, 1, 0]).max() < 0.1
    assert "WHAT WENT WRONG" in out and "THE FIX" in out


def test_graph_and_plots_are_written(run):
    result, _, out_dir = run
    assert_outputs_written(result, out_dir)
