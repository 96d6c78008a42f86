"""The helpers every example uses: arguments, gradient table, the DOT fallback, the matplotlib note."""
import sys

import numpy as np
import pytest

from example_runner import EXAMPLES


@pytest.fixture
def support(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import _support
    return _support


def test_arguments_have_defaults_and_create_the_output_folder(support, tmp_path):
    args = support.parse_args(["--out", str(tmp_path / "new")], "demo", "demo", epochs=7, seed=3)
    assert (args.epochs, args.seed) == (7, 3)
    assert (tmp_path / "new").is_dir()


def test_zero_epochs_is_refused(support, tmp_path, capsys):
    with pytest.raises(SystemExit):
        support.parse_args(["--epochs", "0", "--out", str(tmp_path)], "demo", "demo", epochs=7)
    assert "--epochs must be at least 1" in capsys.readouterr().err


def test_gradient_table_names_a_constant_factor_and_a_match(support, capsys):
    derived = np.array([1.0, -2.0, 3.0])
    verdicts = support.compare_gradients([("same", derived.copy(), derived), ("doubled", 2 * derived, derived)])
    assert verdicts == {"same": True, "doubled": False}
    assert "hand-written = 2 x derived everywhere" in capsys.readouterr().out


def test_gradient_table_flags_a_gradient_where_the_derived_one_is_zero(support):
    text = support.describe_ratio(np.array([0.5, 2.0]), np.array([0.0, 1.0]))
    assert text.startswith("nonzero at 1 entries where the derived gradient is 0")


def test_progress_prints_ten_lines_and_the_last(support, capsys):
    progress = support.Progress(25, updates=10)
    for step in range(1, 26):
        progress(step, loss=1.0 / step)
    lines = capsys.readouterr().out.splitlines()
    # every 2nd step (25 // 10) and the final one
    assert len(lines) == 13 and lines[-1].strip().startswith("epoch 25/25")


def test_without_a_renderer_the_dot_source_is_written(support, tmp_path, monkeypatch, capsys):
    import microgradnp as mg

    def no_renderer(*args, **kwargs):
        raise mg.viz.RenderBackendMissing("no dot here")

    monkeypatch.setattr(mg.viz, "render", no_renderer)
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    path = support.write_graph((x * x).sum(), str(tmp_path), "g")
    assert path.endswith("g.dot")
    assert (tmp_path / "g.dot").read_text().lstrip().startswith("digraph")
    assert "wrote the DOT source" in capsys.readouterr().out


def test_drawing_options_reach_draw_graph(support, tmp_path, monkeypatch):
    import microgradnp as mg
    from microgradnp import nn

    def no_renderer(*args, **kwargs):
        raise mg.viz.RenderBackendMissing("no dot here")

    monkeypatch.setattr(mg.viz, "render", no_renderer)
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    with mg.autograd.graph.record():
        loss = model(mg.randn(4, 2)).sum()
    support.write_graph(loss, str(tmp_path), "g", params=model, max_depth=0)
    # max_depth=0 folds the whole Sequential into one box
    text = (tmp_path / "g.dot").read_text()
    assert "box3d" in text and "Sequential" in text


def test_without_matplotlib_the_plots_are_skipped_with_a_note(support, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` raise ImportError
    assert support.plot_curves(str(tmp_path / "p.png"), {"a": [1, 2]}, "t") is None
    assert not (tmp_path / "p.png").exists()
    assert "matplotlib is not installed" in capsys.readouterr().out
