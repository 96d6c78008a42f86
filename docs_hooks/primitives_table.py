"""MkDocs hook: the API reference's table of primitives, built from their declarations at docs build time.

``mkdocs.yml`` names this file under ``hooks:``. In any page, ``on_page_markdown`` replaces the line
``<!-- primitives table -->`` with ``primitives_table()``: one row per primitive declared
``public=True`` in ``microgradnp/ops/`` (its call, its ``doc``, its Tensor method, its NumPy ufuncs,
its aliases), and ``<!-- function aliases -->`` with ``function_aliases()``: the other names of the
public functions in ``functions.py`` (``clip`` for ``clamp``...). Adding a primitive or an alias
therefore needs no edit to the docs.

This file lives outside ``docs/`` so that MkDocs does not copy it into the site as a static file. The
test suite imports it by path and calls ``primitive_rows()`` and ``primitives_table()`` directly
(``tests/docs/test_primitives_table.py``).
"""
import inspect
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
# the checkout's own microgradnp, not an installed copy, is the one documented
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PRIMITIVES_PLACEHOLDER = "<!-- primitives table -->"
FUNCTION_ALIASES_PLACEHOLDER = "<!-- function aliases -->"


def input_parameters(prim):
    """The inputs of a primitive as its VJPs name them: the VJP's parameters after ``xp, g, ans``
    (after ``xp, g, ans, edges`` for a joint VJP), as ``inspect.Parameter`` objects."""
    if prim.joint_vjp is not None:
        function, skip = prim.joint_vjp, 4
    else:
        function, skip = next(v for v in prim.vjps if v is not None), 3
    return list(inspect.signature(function).parameters.values())[skip:]


def first_paragraph(text):
    """The first paragraph of a docstring, on one line."""
    paragraph = inspect.cleandoc(text or "").split("\n\n")[0]
    return " ".join(paragraph.split())


def _markdown_cell(text):
    # a docstring in a table cell: reST's ``code`` becomes Markdown's `code`; outside code spans a
    # pipe would end the cell and `**` (as in e ** x) would start bold text
    parts = text.replace("``", "`").split("`")
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")
    return "`".join(parts)


def primitive_rows(primitives=None):
    """One row per public primitive, in declaration order, as a dict: the strings ``name``, ``call``
    (``matmul(a, b)``), ``doc`` (its first paragraph, on one line) and ``method`` (``a.matmul(b)``, or ""
    when it is not a Tensor method), and the lists ``numpy`` (``["np.matmul"]``) and ``aliases``.

    primitives: ``{name: Primitive}``, by default every declared one (``PRIMITIVES``).
    """
    if primitives is None:
        from microgradnp.autograd.primitive import PRIMITIVES as primitives
    rows = []
    for prim in primitives.values():
        if not prim.public:
            continue
        params = input_parameters(prim)
        call = f"{prim.name}{inspect.Signature(params)}"  # exp(x), matmul(a, b)
        # Tensor.<name> takes the tensor as its first input: x.exp(), a.matmul(b)
        method = f"{params[0].name}.{prim.name}{inspect.Signature(params[1:])}" if prim.method else ""
        # each ufunc once: np.true_divide is np.divide in NumPy 2
        numpy_names = list(dict.fromkeys(f"np.{ufunc.__name__}" for ufunc in prim.numpy))
        rows.append({"name": prim.name, "call": call, "doc": first_paragraph(prim.doc), "method": method,
                     "numpy": numpy_names, "aliases": list(prim.aliases)})
    return rows


def _code_list(names):
    return ", ".join(f"`{name}`" for name in names)


def primitives_table(primitives=None):
    """The Markdown table of ``primitive_rows(primitives)``."""
    lines = ["| call | what it computes | Tensor method | NumPy | aliases |",
             "|---|---|---|---|---|"]
    for row in primitive_rows(primitives):
        method = f"`{row['method']}`" if row["method"] else ""
        lines.append(f"| `{row['call']}` | {_markdown_cell(row['doc'])} | {method} | {_code_list(row['numpy'])} "
                     f"| {_code_list(row['aliases'])} |")
    return "\n".join(lines)


def function_aliases():
    """``{alias: name}`` for the public functions of ``functions.py`` known by a second name."""
    from microgradnp import functions
    aliases = {}
    for name in functions.__all__:
        target = getattr(getattr(functions, name), "__name__", name)
        if target != name and target in functions.__all__:
            aliases[name] = target
    return aliases


def function_aliases_text():
    """``function_aliases()`` as one Markdown sentence fragment: ``clip` = `clamp`, ...``."""
    by_target = {}
    for alias, target in function_aliases().items():
        by_target.setdefault(target, []).append(alias)
    return ", ".join(" = ".join(f"`{name}`" for name in aliases + [target])
                     for target, aliases in sorted(by_target.items()))


def on_page_markdown(markdown, page, config, files):
    """MkDocs hook: fill in the placeholders of a page."""
    if PRIMITIVES_PLACEHOLDER in markdown:
        markdown = markdown.replace(PRIMITIVES_PLACEHOLDER, primitives_table())
    if FUNCTION_ALIASES_PLACEHOLDER in markdown:
        markdown = markdown.replace(FUNCTION_ALIASES_PLACEHOLDER, function_aliases_text())
    return markdown
