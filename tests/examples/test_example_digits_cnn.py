"""examples/digits_cnn.py: a small CNN learns scikit-learn's 8x8 digits to more than 90% test accuracy."""
import pathlib
import subprocess
import sys

import pytest

from example_runner import EXAMPLES, assert_outputs_written, run_example

LAYERS = ["conv1: Conv2d", "bn1: BatchNorm2d", "pool1: MaxPool2d", "conv2: Conv2d", "pool2: MaxPool2d",
          "fc: Linear"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    pytest.importorskip("sklearn", reason="scikit-learn is in the test extra: pip install -e '.[test]'")
    return run_example("digits_cnn", ["--epochs", "6", "--seed", "0"], tmp_path_factory)


def test_the_cnn_classifies_held_out_digits(run):
    result, out, _ = run
    assert result["test_accuracy"] > 0.9
    assert len(result["accuracies"]) == 6 and result["accuracies"][-1] == result["test_accuracy"]
    assert f"test accuracy {result['test_accuracy']:.2%}" in out
    assert "1437 for training, 360 for testing" in out


def test_the_training_loss_decreases(run):
    result, _, _ = run
    losses = result["losses"]
    assert len(losses) == 6
    assert losses[-1] < 0.5 * losses[0] and min(losses[1:]) < losses[0]
    assert result["test_losses"][-1] < result["test_losses"][0]


def test_a_seeded_run_repeats_exactly(tmp_path_factory):
    pytest.importorskip("sklearn", reason="scikit-learn is in the test extra: pip install -e '.[test]'")
    first, _, _ = run_example("digits_cnn", ["--epochs", "1", "--seed", "3"], tmp_path_factory)
    second, _, _ = run_example("digits_cnn", ["--epochs", "1", "--seed", "3"], tmp_path_factory)
    assert first["losses"] == second["losses"] and first["test_accuracy"] == second["test_accuracy"]


def test_graphs_and_plot_are_written(run):
    result, _, out_dir = run
    assert [pathlib.Path(g).stem for g in result["graphs"]] == ["digits_cnn_step", "digits_cnn_step_layers"]
    assert_outputs_written(result, out_dir)


def test_the_drawings_show_each_layer_by_name(run):
    # the full step: one cluster per layer around its ops; the folded one: one box per layer
    result, _, _ = run
    full, folded = (pathlib.Path(g).read_text() for g in result["graphs"])
    for layer in LAYERS:
        assert layer in full and layer in folded
    assert "conv1.weight" in full and "conv2.weight" in full and "unfold" in full
    # conv1 has no bias (BatchNorm follows it), so no parameter's gradient is marked vanishing
    assert "VANISHING" not in full and "conv1.bias" not in full


def test_without_scikit_learn_it_says_what_to_install(tmp_path):
    # sys.modules["sklearn"] = None makes `import sklearn` raise ImportError, as when it is not installed
    code = ("import runpy, sys\n"
            "sys.modules['sklearn'] = None\n"
            f"sys.path.insert(0, {str(EXAMPLES)!r})\n"
            f"sys.argv = ['digits_cnn.py', '--out', {str(tmp_path)!r}]\n"
            f"runpy.run_path({str(EXAMPLES / 'digits_cnn.py')!r}, run_name='__main__')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=EXAMPLES.parent)
    assert result.returncode == 1
    assert "pip install 'microgradnp[examples]'" in result.stderr and "scikit-learn" in result.stderr
    assert "Traceback" not in result.stderr
