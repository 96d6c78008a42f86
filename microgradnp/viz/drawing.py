"""``GraphDrawing``: a ``graphviz.Digraph`` whose rendering works after ``pip install`` alone.

``.pipe()``, ``.render()`` and Jupyter's ``_repr_mimebundle_`` use the system ``dot`` when it is on
PATH (exactly as graphviz does) and otherwise the in-process WebAssembly Graphviz; with neither they
raise ``RenderBackendMissing`` saying what to install. ``.findings`` lists the gradient problems the
drawing shows, worst first, so a script can print them too.
"""
import os
import pathlib

import graphviz

from . import renderers


class GraphDrawing(graphviz.Digraph):
    """A drawn computation graph: a ``graphviz.Digraph`` plus the ``findings`` and ``notes`` it shows."""

    def __init__(self, *args, findings=(), notes=(), **kwargs):
        kwargs.setdefault("format", "svg")
        super().__init__(*args, **kwargs)
        self.findings = list(findings)
        self.notes = list(notes)

    def _copy_kwargs(self, **kwargs):
        return super()._copy_kwargs(findings=list(self.findings), notes=list(self.notes), **kwargs)

    def pipe(self, format=None, renderer=None, formatter=None, neato_no_op=None, quiet=False, *,  # noqa: A002
             engine=None, encoding=None):
        """The rendered graph as bytes (or str with ``encoding``), e.g. ``drawing.pipe(format='svg')``."""
        fmt = format or self.format
        if renderers.backend_for(fmt) == "system":
            return super().pipe(fmt, renderer, formatter, neato_no_op, quiet, engine=engine, encoding=encoding)
        _only_defaults(renderer=renderer, formatter=formatter, neato_no_op=neato_no_op)
        data = renderers.render_in_process(self.source, fmt, engine or self.engine)
        return data.decode(encoding) if encoding else data

    def render(self, filename=None, directory=None, view=False, cleanup=False, format=None,  # noqa: A002
               renderer=None, formatter=None, neato_no_op=None, quiet=False, quiet_view=False, *,
               outfile=None, engine=None, raise_if_result_exists=False, overwrite_source=False):
        """Save the DOT source and render it to a file; returns the rendered file's path (as graphviz does)."""
        fmt = format or (pathlib.Path(outfile).suffix.lstrip(".") if outfile is not None else None) or self.format
        if renderers.backend_for(fmt) == "system":
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
        data = renderers.render_in_process(self.source, fmt, engine or self.engine)
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
        except renderers.RenderBackendMissing as error:
            return {"text/plain": str(error)}


def _only_defaults(**options):
    given = [name for name, value in options.items() if value is not None]
    if given:
        raise ValueError(f"render: {', '.join(given)} need the system Graphviz `dot`; the in-process renderer "
                         f"has no such options")
