"""examples/char_model.py: the makemore-style name model learns the names' statistics and samples names."""
import pytest

from example_runner import assert_outputs_written, run_example


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_example("char_model", ["--epochs", "1500", "--seed", "0"], tmp_path_factory)


def test_the_model_beats_uniform_guessing_on_held_out_names(run):
    result, out, _ = run
    assert result["val_loss"] < result["uniform_loss"] - 0.8
    assert result["train_loss"] < result["uniform_loss"] - 0.9
    assert "validation loss" in out and "uniform guessing" in out


def test_samples_are_names_over_the_alphabet(run):
    result, _, _ = run
    assert len(result["samples"]) == 20
    assert all(set(name) <= result["alphabet"] and len(name) <= 20 for name in result["samples"])
    assert sum(1 for name in result["samples"] if len(name) >= 3) >= 12
    # trained samples end more often in a plausible way than the untrained ones: most are not empty
    assert sum(1 for name in result["samples"] if name) >= 18


def test_a_seeded_run_repeats_exactly(tmp_path_factory):
    first, _, _ = run_example("char_model", ["--epochs", "30", "--seed", "3"], tmp_path_factory)
    second, _, _ = run_example("char_model", ["--epochs", "30", "--seed", "3"], tmp_path_factory)
    assert first["samples"] == second["samples"] and first["val_loss"] == second["val_loss"]


def test_graph_and_plot_are_written(run):
    result, _, out_dir = run
    assert_outputs_written(result, out_dir)
