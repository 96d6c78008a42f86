"""examples/spiral_relu_softmax.py (seed 003): reluGrad in place, softmax into the binary cross-entropy,
NaN logits; the fix reaches 95% on the spiral."""
import pytest

from example_runner import assert_outputs_written, run_example


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_example("spiral_relu_softmax", ["--epochs", "1000", "--seed", "0"], tmp_path_factory)


def test_check_derivative_catches_the_in_place_relu_grad(run):
    result, out, _ = run
    assert result["reluGrad_ok"] is False
    assert "overwrites its input in place" in result["reluGrad_diagnosis"]
    assert "after reluGrad(z2), z2 = [[0.0, 1.0, 1.0]]" in out


def test_the_backward_pass_belongs_to_the_categorical_not_the_printed_binary_cost(run):
    result, _, _ = run
    assert result["post_gradients_match_binary_cost"] is False
    assert result["post_gradients_match_categorical_cost"] is True
    assert any("looks like a softmax" in w for w in result["bce_warnings"])


def test_the_sigmoid_step_size_breaks_the_relu_version(run):
    result, _, _ = run
    assert result["post_sigmoid_accuracy"] >= 0.9
    # every point ends in the same class: one third of a balanced 3-class set
    assert result["post_relu_accuracy"] == pytest.approx(1 / 3)
    assert result["post_relu_nan_step"] is not None
    assert result["post_softmax_nan_rows"] > 0 and result["mg_softmax_nan_rows"] == 0


def test_the_fix_reaches_95_percent(run):
    result, out, _ = run
    assert result["accuracy"] >= 0.95
    assert result["final_loss"] < 0.3
    assert "WHAT WENT WRONG" in out and "THE FIX" in out


def test_graph_and_plots_are_written(run):
    result, _, out_dir = run
    assert_outputs_written(result, out_dir)
