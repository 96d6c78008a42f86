"""Every example's ``--help``: the whole first paragraph of its docstring, ending with a full sentence, and
the output folder examples/README.md promises (``out/<script name>``)."""
import pathlib
import re
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
SCRIPTS = sorted(p.stem for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))


@pytest.fixture(scope="module", params=SCRIPTS)
def script_help(request):
    result = subprocess.run([sys.executable, f"{request.param}.py", "--help"], cwd=EXAMPLES, capture_output=True,
                            text=True, timeout=120, check=True)
    return request.param, result.stdout


def test_the_scripts_are_found():
    assert {"spiral_relu_softmax", "graph_debugging", "leaky_relu_output_layer"} <= set(SCRIPTS)


def test_help_shows_the_whole_description(script_help):
    name, text = script_help
    description = " ".join(text.split("\n\n")[1].split())  # after the usage lines, before the options
    assert re.search(r"[.?!]\"?$", description), f"{name} --help ends mid-sentence: {description!r}"
    first_paragraph = (EXAMPLES / f"{name}.py").read_text().split('"""')[1].split("\n\n")[0]
    assert description.replace("- ", "-") == " ".join(first_paragraph.split()).replace("- ", "-")


def test_help_calls_the_forum_posts_posts(script_help):
    # "seed" means the random seed (--seed) in these scripts: the forum posts are "post 000" to "post 004"
    name, text = script_help
    assert not re.search(r"\bseed 00\d", text, re.IGNORECASE), name


def test_the_default_output_folder_is_named_after_the_script(script_help):
    name, text = script_help
    assert f"out/{name}" in " ".join(text.split()), f"{name} --help does not give out/{name} as --out's default"
