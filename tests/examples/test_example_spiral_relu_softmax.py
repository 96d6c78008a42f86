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


def test_the_monitor_names_the_learning_rate_and_the_exploding_logits_before_the_nan(run):
    result, out, _ = run
    findings = {f.kind: f for f in result["post_monitor_findings"]}
    nan_step = result["post_monitor_nan_step"]
    assert nan_step is not None and nan_step <= 5
    update = findings["update_too_large"]
    assert update.where == "2.weight" and update.first_step == 1 and update.last_step < nan_step
    nan = findings["loss_nonfinite"]
    assert nan.first_step == nan_step
    assert nan.numbers["largest_output_layer"] == "2" and nan.numbers["largest_output"] > 50
    assert "the learning rate is far too large" in nan.advice
    assert "4. The same network in microgradnp's nn" in out


def test_the_monitor_finds_no_problem_in_the_fix(run):
    result, out, _ = run
    assert result["fixed_monitor_findings"] == []
    assert "Monitor: no problem found in 1000 steps" in out
