"""Notebooks are committed without outputs: a diff shows the code and text that changed, not a new SVG,
a new PNG and a new execution count for every run."""
import json
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
ALLOWED_METADATA = {"kernelspec", "language_info"}
HOW_TO_STRIP = ("clear them before committing: in Jupyter, Edit > Clear Outputs of All Cells and save, or "
                "`jupyter nbconvert --clear-output --inplace PATH`")


def committed_notebooks():
    """The notebooks git tracks (every .ipynb outside hidden folders when this is not a git checkout)."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--", "*.ipynb"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return sorted(p for p in ROOT.rglob("*.ipynb")
                      if not any(part.startswith(".") for part in p.relative_to(ROOT).parts))
    return sorted(ROOT / name for name in listed.split("\0") if name)


def problems(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    found = []
    for number, cell in enumerate(nb["cells"], 1):
        if cell["cell_type"] != "code":
            continue
        if cell.get("outputs"):
            found.append(f"cell {number} has {len(cell['outputs'])} output(s)")
        if cell.get("execution_count") is not None:
            found.append(f"cell {number} has execution_count {cell['execution_count']}")
    extra = sorted(set(nb.get("metadata", {})) - ALLOWED_METADATA)
    if extra:
        found.append(f"notebook metadata has {extra} (keep only {sorted(ALLOWED_METADATA)})")
    return found


def test_the_examples_notebook_is_found():
    assert ROOT / "examples" / "notebooks" / "debugging_a_network.ipynb" in committed_notebooks()


def test_committed_notebooks_have_no_outputs():
    found = {str(path.relative_to(ROOT)): problems(path) for path in committed_notebooks()}
    found = {path: issues for path, issues in found.items() if issues}
    assert not found, f"notebooks with outputs: {found}; {HOW_TO_STRIP}"
