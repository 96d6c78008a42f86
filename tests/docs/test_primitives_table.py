"""The API reference's table of primitives is built from their declarations (docs_hooks/primitives_table.py).

These tests call the hook's functions directly; test_mkdocs_build.py checks the table in the built page.
"""
import importlib.util

import numpy as np

from microgradnp.autograd.primitive import PRIMITIVES, Primitive, public_primitives

from code_blocks import ROOT


def _load_hook():
    # mkdocs loads the hook from its path; so do the tests (docs_hooks/ is not a package)
    spec = importlib.util.spec_from_file_location("primitives_table", ROOT / "docs_hooks" / "primitives_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hook = _load_hook()


def table_rows(markdown):
    """The body rows of a Markdown table, as lists of cells (an escaped pipe stays inside its cell)."""
    rows = []
    for line in markdown.splitlines()[2:]:
        cells = line.strip().strip("|").replace("\\|", "\0").split("|")
        rows.append([cell.strip().replace("\0", "|") for cell in cells])
    return rows


def names_in_table(markdown):
    """Every public name the table shows: each row's call (`exp(x)` -> exp) and its aliases."""
    names = []
    for call, _doc, _method, _numpy, aliases in table_rows(markdown):
        names.append(call.strip("`").split("(")[0])
        names += [a.strip("`") for a in aliases.split(", ") if a]
    return names


def test_the_table_lists_every_public_primitive_and_alias():
    shown = names_in_table(hook.primitives_table())
    assert len(shown) == len(set(shown)), "a name is shown twice"
    missing = sorted(set(public_primitives()) - set(shown))
    assert not missing, f"public primitives or aliases missing from the API table: {missing}"
    assert sorted(shown) == sorted(public_primitives())
    # the check must not pass by finding nothing: the everyday ops and an alias are there
    assert {"add", "exp", "matmul", "relu", "absolute"} <= set(shown)


def test_each_row_says_what_the_declaration_says():
    rows = {row["name"]: row for row in hook.primitive_rows()}
    assert [name for name, prim in PRIMITIVES.items() if prim.public] == list(rows)
    for name, row in rows.items():
        prim = PRIMITIVES[name]
        assert row["doc"] and row["doc"] in " ".join(prim.doc.split())
        assert bool(row["method"]) == prim.method
        assert row["numpy"] == list(dict.fromkeys(f"np.{u.__name__}" for u in prim.numpy))
        assert row["aliases"] == list(prim.aliases)
    assert rows["matmul"]["call"] == "matmul(a, b)" and rows["matmul"]["method"] == "a.matmul(b)"
    assert rows["exp"]["call"] == "exp(x)" and rows["exp"]["method"] == "x.exp()"
    assert rows["exp"]["numpy"] == ["np.exp"]
    assert rows["abs"]["numpy"] == ["np.absolute", "np.fabs"] and rows["abs"]["aliases"] == ["absolute"]


def test_a_new_primitive_gets_its_row_without_a_docs_edit():
    # built directly, so not registered: the table of these two is what declaring them would add
    tan = Primitive("tan", np.tan, "Tangent | a pipe, and x ** 2 is ``x * x``.",
                    vjp=lambda xp, g, ans, x: g * (1 + ans * ans), reads=("ans",), elementwise=True,
                    public=True, aliases=("tangent",), method=True, numpy=np.tan)
    fused = Primitive("fused", lambda x, w, b=None: x, joint_vjp=lambda xp, g, ans, edges, x, w, b=None: (g, g, g),
                      public=True)
    hidden = Primitive("hidden", np.sin, vjp=lambda xp, g, ans, x: g)
    table = hook.primitives_table({"tan": tan, "fused": fused, "hidden": hidden})
    assert names_in_table(table) == ["tan", "tangent", "fused"]
    (tan_row, fused_row) = table_rows(table)
    # the pipe is escaped, so that it does not end the cell; ** is escaped outside code, not inside
    assert "Tangent \\| a pipe" in table
    assert tan_row == ["`tan(x)`", "Tangent | a pipe, and x \\*\\* 2 is `x * x`.", "`x.tan()`", "`np.tan`",
                       "`tangent`"]
    assert fused_row[0] == "`fused(x, w, b=None)`" and fused_row[2:] == ["", "", ""]


def test_the_hook_fills_in_the_placeholders_and_leaves_other_pages_alone():
    page = f"# API\n\n{hook.PRIMITIVES_PLACEHOLDER}\n\nAliases: {hook.FUNCTION_ALIASES_PLACEHOLDER}.\n"
    out = hook.on_page_markdown(page, page=None, config=None, files=None)
    assert hook.PRIMITIVES_PLACEHOLDER not in out and hook.FUNCTION_ALIASES_PLACEHOLDER not in out
    assert hook.primitives_table() in out
    assert "`clip` = `clamp`" in out and "`concatenate` = `concat` = `cat`" in out
    assert hook.on_page_markdown("# Other\n", page=None, config=None, files=None) == "# Other\n"


def test_the_api_page_has_the_placeholders():
    text = (ROOT / "docs" / "api" / "microgradnp.md").read_text(encoding="utf-8")
    assert hook.PRIMITIVES_PLACEHOLDER in text and hook.FUNCTION_ALIASES_PLACEHOLDER in text
