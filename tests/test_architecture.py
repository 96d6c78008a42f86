"""The house rules of the engine's code, checked on its source: one import order, imports at the top,
nothing patched into another module from above, one place that binds methods onto Tensor."""
import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "microgradnp"


def _module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules():
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _resolve(module, path, node):
    # the absolute name of the module an ImportFrom refers to (its package for a relative import)
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[:len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph():
    """{module: the microgradnp modules it imports}, from every import statement in it (at any depth)."""
    modules = _modules()
    graph = {}
    for module, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(module, path, node)
                for alias in node.names:  # `from . import functions` names a module, `from .x import y` not
                    targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
        graph[module] = {t for t in targets if t in modules and t != module}
    return graph


def find_circle(graph):
    """One import circle as a list of modules (first == last), or None."""
    state = {}  # module -> "visiting" or "done"
    for start in sorted(graph):
        if start in state:
            continue
        path, stack = [start], [iter(sorted(graph[start]))]
        state[start] = "visiting"
        while stack:
            target = next(stack[-1], None)
            if target is None:
                state[path.pop()] = "done"
                stack.pop()
            elif state.get(target) == "visiting":
                return path[path.index(target):] + [target]
            elif target not in state:
                state[target] = "visiting"
                path.append(target)
                stack.append(iter(sorted(graph.get(target, ()))))
    return None


def test_the_import_graph_is_read_correctly():
    # the checks below must not pass by finding no imports at all
    graph = import_graph()
    assert "microgradnp.tensor" in graph["microgradnp.autograd.apply"]
    assert "microgradnp.ops" in graph["microgradnp.autograd.namespaces"]
    assert "microgradnp.functions" in graph["microgradnp.tensor_methods"]
    assert "microgradnp.autograd.node" in graph["microgradnp.autograd.hot_path"]


def test_no_import_circle_among_microgradnp_modules():
    circle = find_circle(import_graph())
    assert circle is None, "import circle: " + " -> ".join(circle)


def test_a_circle_is_found():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert find_circle(graph) == ["a", "b", "c", "a"]
    assert find_circle({"a": {"b"}, "b": set()}) is None


def floors():
    """The rows of the floors table in docs/guide/architecture.md, lowest first, as sets of modules."""
    text = (ROOT / "docs" / "guide" / "architecture.md").read_text()
    table = text[text.index("| files |"):].split("\n\n")[0].splitlines()[2:]
    modules = _modules()
    rows = []
    for line in table:
        row = set()
        for path in re.findall(r"`([^`]+)`", line.split("|")[1]):
            name = "microgradnp." + path.removesuffix(".py").removesuffix("/").replace("/", ".")
            name = name.removesuffix(".__init__") if name != "microgradnp.__init__" else "microgradnp"
            row |= {m for m in modules if m == name or m.startswith(name + ".")} if path.endswith("/") else {name}
        rows.append(row)
    return rows


def test_every_module_has_one_floor():
    rows = floors()
    placed = [m for row in rows for m in row]
    assert sorted(placed) == sorted(set(placed)), "a module is on two rows"
    assert set(placed) == set(_modules()), f"not in the floors table: {sorted(set(_modules()) - set(placed))}"


def test_imports_go_down_the_floors():
    level = {module: i for i, row in enumerate(floors()) for module in row}
    upward = [f"{module} (row {level[module]}) imports {target} (row {level[target]})"
              for module, targets in import_graph().items() for target in targets if level[target] > level[module]]
    assert upward == []


def test_the_tensor_class_depends_only_on_the_lowest_floors():
    lowest = {"microgradnp.dtypes", "microgradnp.devices", "microgradnp.grad_mode", "microgradnp.capture"}
    assert import_graph()["microgradnp.tensor"] <= lowest


@pytest.mark.parametrize("module", sorted(_modules()))
def test_imports_come_before_everything_else(module):
    # an import below other code is a sign that the file needs something that is not defined yet
    body = ast.parse(_modules()[module].read_text()).body
    seen_code = False
    for node in body:
        is_docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            assert not seen_code, f"{module}: import at line {node.lineno} after other code"
        elif not is_docstring:
            seen_code = True


@pytest.mark.parametrize("module", sorted(_modules()))
def test_no_module_assigns_into_another_module(module):
    # `engine.Tensor = Tensor` or `Tensor.where = ...` from above: what a module defines is its own
    tree = ast.parse(_modules()[module].read_text())
    imported = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            imported.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.update(a.asname or a.name for a in node.names)
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, (ast.AugAssign, ast.AnnAssign)) else []
        for target in targets:
            for part in ast.walk(target) if isinstance(target, ast.Tuple) else [target]:
                if isinstance(part, ast.Attribute) and isinstance(part.value, ast.Name) and part.value.id in imported:
                    pytest.fail(f"{module}:{node.lineno} assigns {part.value.id}.{part.attr}")


def test_methods_are_bound_onto_tensor_in_one_place():
    binders = [name for name, path in _modules().items() if "setattr(" in path.read_text()]
    assert binders == ["microgradnp.tensor_methods"]
