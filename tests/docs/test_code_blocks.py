"""Every ```python block in README.md and docs/ runs, so the documentation cannot rot.

The blocks of one page run in order in one namespace (a page may build on its earlier blocks), in a
fresh temporary directory (blocks may write files). A block that must not run is marked by the line
``<!-- docs-test: skip -->`` right above its opening fence (invisible in the rendered page).
"""
import textwrap

import pytest

from code_blocks import ROOT, pages, python_blocks


def pages_with_code():
    """The pages that have at least one python block to run."""
    return [page for page in pages()
            if any(not b.skipped for b in python_blocks((ROOT / page).read_text(encoding="utf-8")))]


@pytest.mark.parametrize("page", pages_with_code(), ids=str)
def test_python_blocks_run(page, tmp_path, monkeypatch):
    runnable = [b for b in python_blocks((ROOT / page).read_text(encoding="utf-8")) if not b.skipped]
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(ROOT))
    import microgradnp as mg
    default_dtype = mg.get_default_dtype()
    namespace = {"__name__": f"docs_{page.stem}"}
    try:
        for block in runnable:
            try:
                exec(compile(block.code, f"{page}:{block.line}", "exec"), namespace)
            except Exception as error:
                pytest.fail(f"{page}, the block at line {block.line} raised {type(error).__name__}: {error}\n\n"
                            + textwrap.indent(block.code, "    "))
    finally:
        mg.set_default_dtype(default_dtype)  # a page may change it; the next page must not see that


def test_the_skip_marker_is_honoured_and_blocks_are_found():
    text = ("intro\n\n```python\nx = 1\n```\n\n<!-- docs-test: skip -->\n```python\nraise SystemExit\n```\n"
            "\n```bash\nls\n```\n\n- item\n\n    ```python\n    y = 2\n    ```\n")
    blocks = python_blocks(text)
    assert [(b.code, b.skipped) for b in blocks] == [("x = 1", False), ("raise SystemExit", True), ("y = 2", False)]
    assert blocks[0].line == 4


def test_every_page_is_found():
    found = {str(p) for p in pages()}
    assert "docs/index.md" in found and "docs/guide/why-from-scratch-fails.md" in found
    assert all(p.suffix == ".md" for p in pages())
    if (ROOT / "README.md").exists():
        assert "README.md" in found
