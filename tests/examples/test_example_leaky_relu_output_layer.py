"""examples/leaky_relu_output_layer.py (seed 000): the leaky-ReLU output leaves [0, 1]; the fix classifies."""
import numpy as np
import pytest

from example_runner import assert_outputs_written, run_example


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_example("leaky_relu_output_layer", ["--epochs", "100", "--seed", "0"], tmp_path_factory)


def test_the_derivatives_are_right_where_the_post_uses_them(run):
    result, _, _ = run
    # x*(1-x) is the sigmoid's derivative only when fed the output, which is how backward() calls it
    assert result["derivatives_ok"] == {"sigmoid_deriv": False, "sigmoid_deriv(l1)": True,
                                        "leaky_deriv": True, "leaky_deriv(l1)": True}


def test_the_sigmoid_output_learns_the_targets_and_the_leaky_output_leaves_0_1(run):
    result, out, _ = run
    assert np.abs(np.array(result["sigmoid_outputs"]) - [0, 1, 0, 1]).max() < 0.1
    leaky = np.array(result["leaky_outputs"])
    assert (leaky < 0).all()  # every output on the x/100 side: below the 0/1 targets, not a probability
    # on that side the slope is 1/100, so |dE/dW| = |X^T (error * 0.01)| <= 0.01 * |X^T| |error| < 0.1
    assert result["leaky_gradient_end"] < 0.1
    assert "pre-activations end on the x/100 side" in out


def test_bce_loss_refuses_the_leaky_outputs(run):
    result, _, _ = run
    assert "must be probabilities in [0, 1]" in result["bce_refusal"]


def test_the_fix_classifies_all_four_samples(run):
    result, out, _ = run
    assert result["accuracy"] == 1.0
    assert np.abs(np.array(result["probabilities"]) - [0, 1, 0, 1]).max() < 0.1
    assert result["final_loss"] < 0.05
    assert "WHAT WENT WRONG" in out and "THE FIX" in out


def test_graph_and_plots_are_written(run):
    result, _, out_dir = run
    assert_outputs_written(result, out_dir)
