"""The lists of differences.py: each known open bug still reproduces, and each deliberate difference is
documented. No PyTorch needed: the repros check microgradnp against PyTorch's values written in them."""
import pathlib
import re

import pytest

from .differences import DIFFERENCES, KNOWN_OPEN

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _id(entry):
    words = re.findall(r"[a-z0-9_]+", entry.title.lower())[:6]
    return f"{entry.key}-" + "-".join(words)


@pytest.mark.parametrize("entry", KNOWN_OPEN, ids=_id)
def test_known_open_bug_still_reproduces(entry):
    assert entry.repro(), (
        f"{entry.key} ({entry.title}) no longer reproduces: it looks fixed. Delete its entry from KNOWN_OPEN in "
        f"tests/fuzz/differences.py (and its repro), so that the fuzzer generates those programs again.")


def test_known_open_entries_are_issue_17_cases_or_found_by_the_fuzzer():
    # (entries are deleted as the bugs get fixed: the list shrinks, and each case appears once)
    cases = [e.case for e in KNOWN_OPEN if not e.found_by_fuzzer]
    assert len(cases) == len(set(cases)) and set(cases) <= set(range(1, 22))
    keys = [e.key for e in KNOWN_OPEN]
    assert len(keys) == len(set(keys))


def test_every_entry_has_a_predicate_or_a_rule():
    for entry in DIFFERENCES + KNOWN_OPEN:
        assert entry.avoid is not None or entry.how, entry.key
    for entry in KNOWN_OPEN:
        assert entry.repro is not None and entry.avoid is not None, entry.key


def test_each_item_of_what_differs_has_a_deliberate_difference():
    text = (ROOT / "docs" / "guide" / "porting-from-pytorch.md").read_text(encoding="utf-8")
    section = text.split("## What differs", 1)[1].split("\n## ", 1)[0]
    items = [int(n) for n in re.findall(r"^(\d+)\. \*\*", section, re.M)]
    documented = {int(re.search(r"item (\d+)", e.doc).group(1)) for e in DIFFERENCES}
    assert set(items) == documented, (items, sorted(documented))
