"""examples/dying_relu_output.py (seed 004): the bias "gradient", the dying output ReLU, the fix adds."""
import numpy as np
import pytest

from example_runner import assert_outputs_written, run_example


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_example("dying_relu_output", ["--epochs", "1500", "--seed", "0"], tmp_path_factory)


def test_the_bias_gradient_is_the_bias(run):
    result, _, _ = run
    assert result["bias_gradient_is_bias"] is True
    assert result["bias_rows_match"] is False


def test_weights_match_until_the_update_leaks_into_the_backward_pass(run):
    result, _, _ = run
    assert result["weight_rows_match_at_tiny_lr"] is True
    assert result["weight_rows_match_at_post_lr"] is False


def test_the_output_relu_dies_in_most_seeds(run):
    result, _, _ = run
    assert result["seeds"] == 20
    assert result["dead_with_output_relu"] >= 10
    assert result["solved_linear_output"] > result["solved_with_output_relu"] + 5
    assert "relu_off" in result["dead_output_explanation"]
    assert any("straight out of a ReLU" in w for w in result["misuse_warnings"])


def test_the_fix_adds(run):
    result, out, _ = run
    assert result["final_error"] < 1e-4
    assert result["test_prediction"] == pytest.approx(0.6, abs=0.02)
    assert np.allclose(result["predictions"], [0.3, 0.8, 0.6, 1.0, 1.0, 0.7], atol=0.02)
    assert "WHAT WENT WRONG" in out and "THE FIX" in out


def test_graphs_and_plots_are_written(run):
    result, _, out_dir = run
    assert_outputs_written(result, out_dir)


def test_the_monitor_names_the_dead_output_relu(run):
    result, out, _ = run
    dead = [f for f in result["dead_monitor_findings"] if f.kind == "dead_output"]
    assert len(dead) == 1 and dead[0].where == "5" and dead[0].first_step == 1
    assert "remove the ReLU on the output" in dead[0].advice
    assert "the output ReLU (`5`) has been dead for every sample since step 1" in out


def test_the_monitor_finds_no_problem_in_the_fix(run):
    result, out, _ = run
    assert result["fixed_monitor_findings"] == []
    assert "Monitor: no problem found in 1500 steps" in out
