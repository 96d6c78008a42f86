"""Helpers for reading the DOT text that draw_graph produces."""
import re
from types import SimpleNamespace

import pytest

_NODE = re.compile(r'^\s*(\w+) \[(.*)\]$')
_EDGE = re.compile(r'^\s*(\w+) -> (\w+)(?: \[(.*)\])?$')
_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s"]+)')


def _attrs(text):
    out = {}
    for key, value in _ATTR.findall(text or ""):
        out[key] = value[1:-1] if value.startswith('"') else value
    return out


def parse_dot(source):
    """(nodes, edges): node name -> attribute dict, and (src, dst, attrs) for each edge, legend left out."""
    nodes, edges = {}, []
    for line in source.splitlines():
        edge = _EDGE.match(line)
        if edge:
            if not edge.group(1).startswith("legend"):
                edges.append((edge.group(1), edge.group(2), _attrs(edge.group(3))))
            continue
        node = _NODE.match(line)
        if node and node.group(1) not in ("graph", "node", "edge") and not node.group(1).startswith("legend"):
            nodes[node.group(1)] = _attrs(node.group(2))
    return nodes, edges


def label_lines(attrs):
    """The lines of a node's label."""
    return attrs["label"].split("\\n")


def find(nodes, title):
    """The names of nodes whose label's title line (after an OUTPUT tag) is ``title``."""
    found = []
    for name, attrs in nodes.items():
        lines = [line for line in label_lines(attrs) if not line.startswith("OUTPUT")]
        if lines and lines[0] == title:
            found.append(name)
    return found


def one(nodes, title):
    """The attributes of the single node titled ``title``."""
    names = find(nodes, title)
    assert len(names) == 1, f"expected one node titled {title!r}, found {names}"
    return nodes[names[0]]


@pytest.fixture
def dotq():
    """The DOT helpers: parse(source), one(nodes, title), find(nodes, title), lines(attrs)."""
    return SimpleNamespace(parse=parse_dot, one=one, find=find, lines=label_lines)
