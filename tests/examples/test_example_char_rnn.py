"""examples/char_rnn.py: the character-level LSTM learns the text's statistics and samples text from its alphabet."""
import pytest

from example_runner import assert_outputs_written, run_example


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_example("char_rnn", ["--epochs", "200", "--seed", "0"], tmp_path_factory)


def test_the_loss_goes_down_far_below_uniform_guessing(run):
    result, out, _ = run
    assert result["first_loss"] == pytest.approx(result["uniform_loss"], abs=0.1)  # an untrained model guesses
    assert result["final_loss"] < result["uniform_loss"] - 2.0
    assert max(result["last_losses"]) < result["first_loss"] - 2.0
    assert "loss on the whole text" in out and "uniform guessing" in out


def test_samples_are_made_of_the_texts_characters(run):
    result, out, _ = run
    for temperature, text in result["samples"].items():
        assert text.startswith("First Citizen:\n") and len(text) == len("First Citizen:\n") + 200
        assert set(text) <= result["alphabet"]
    # trained samples look like the text: words separated by spaces, and mostly letters
    cool = result["samples"][0.5]
    assert cool.count(" ") >= 15
    assert sum(ch.isalpha() for ch in cool) > 0.6 * len(cool)
    assert "sampled at temperature 0.5" in out


def test_a_seeded_run_repeats_exactly(tmp_path_factory):
    first, _, _ = run_example("char_rnn", ["--epochs", "5", "--seed", "3"], tmp_path_factory)
    second, _, _ = run_example("char_rnn", ["--epochs", "5", "--seed", "3"], tmp_path_factory)
    assert first["samples"] == second["samples"] and first["final_loss"] == second["final_loss"]


def test_graph_and_plot_are_written(run):
    result, _, out_dir = run
    assert_outputs_written(result, out_dir)
