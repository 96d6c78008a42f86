"""Pull the ```python blocks out of the Markdown pages, so the test suite can run them."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
SKIP_MARKER = "<!-- docs-test: skip -->"
_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
                    re.MULTILINE | re.DOTALL)


def pages():
    """README.md and every Markdown page under docs/, as paths relative to the repository root."""
    found = sorted((ROOT / "docs").rglob("*.md"))
    readme = ROOT / "README.md"
    if readme.exists():
        found.insert(0, readme)
    return [path.relative_to(ROOT) for path in found]


class Block:
    """One ```python block: its code, the line it starts on, and whether it is marked not to run."""

    def __init__(self, code, line, skipped):
        self.code, self.line, self.skipped = code, line, skipped


def python_blocks(text):
    """The ```python blocks of a page, in order. A block directly preceded by the line
    ``<!-- docs-test: skip -->`` is returned with ``skipped=True``."""
    blocks = []
    for match in _FENCE.finditer(text):
        if match.group("info").strip() != "python":
            continue
        before = text[:match.start()].rstrip("\n").splitlines()
        skipped = bool(before) and before[-1].strip() == SKIP_MARKER
        indent = len(match.group("indent"))
        code = "\n".join(line[indent:] for line in match.group("body").splitlines())
        line = text.count("\n", 0, match.start()) + 2  # the first line of code, 1-based
        blocks.append(Block(code, line, skipped))
    return blocks
