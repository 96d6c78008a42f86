"""Folding deep module scopes into one box each, so a large network fits on a screen.

Each module nested more than ``max_depth`` scope levels deep becomes one box labelled with its name,
listing its ops and parameters, and coloured by the most severe status inside it: a dead or NaN
layer still stands out when its ops are hidden.
"""
from . import style
from .health import Health, worst
from .model import OpVertex


def _group_label(scope, members, model, analysis, module_types):
    ops = [model.vertex(k) for k in members if isinstance(model.vertex(k), OpVertex)]
    names = sorted({op.name for op in ops})
    statuses = [analysis.health[k].status for k in members]
    status = worst(statuses)
    rows = []
    for key in members:
        vertex = model.vertex(key)
        if not isinstance(vertex, OpVertex) and vertex.kind != "input":
            rows.append(f"{vertex.name or 'leaf'}: {analysis.health[key].status.replace('_', ' ')}")
    for key in members:
        member = analysis.health[key]
        if member.status in ("blocked", "partly_dead"):
            verb = "gradient stops at" if member.status == "blocked" else "partly dead:"
            rows.append(f"{verb} {model.vertex(key).name} ({member.dead_text or 'all units'})")
    subtitle = f"{len(ops)} op{'s' if len(ops) != 1 else ''}: {', '.join(names)}"
    outputs = sorted({i for k in members for i in model.vertex(k).outputs})
    prefix = ("OUTPUT " + ", ".join(map(str, outputs))) if outputs else None
    # the box stands for several tensors, so no single shape or norm: its rows say what is inside
    name = str(scope[-1])
    title = f"{name}: {module_types[name]}" if name in module_types else name
    label = style.label(title, Health(status=status), None, (), subtitle=subtitle, extra_rows=rows,
                        tag_prefix=prefix)
    attrs = style.node_style(status, bool(outputs))
    attrs.update(label=label, shape="box3d", tooltip="/".join(map(str, scope)))
    return attrs


def _merge_edges(edges):
    merged = {}
    for src, dst, attrs in edges:
        if src == dst:
            continue
        merged.setdefault((src, dst), []).append(attrs)
    out = []
    for (src, dst), group in merged.items():
        nonfinite = [a for a in group if a.get("penwidth")]
        zero = all(a.get("style") == "dashed" for a in group)
        if nonfinite:
            chosen = nonfinite[0]
        elif zero:
            chosen = group[0]
        else:
            chosen = next(a for a in group if a.get("style") != "dashed")
        out.append((src, dst, chosen))
    return out


def collapse(model, analysis, vertices, edges, max_depth, module_types):
    """Replace every vertex whose scope is deeper than ``max_depth`` by its module's box.

    ``module_types`` maps a dotted module name to its class name, for the box's title.
    """
    if max_depth < 0:
        raise ValueError(f"draw_graph: max_depth must be >= 0, got {max_depth}")
    members = {}
    for key, (scope, _) in vertices.items():
        if len(scope) > max_depth:
            members.setdefault(tuple(scope[:max_depth + 1]), []).append(key)
    group_of, result = {}, {k: v for k, v in vertices.items() if len(v[0]) <= max_depth}
    for i, (group, keys) in enumerate(members.items()):
        group_of.update((k, f"g{i}") for k in keys)
        result[f"g{i}"] = (group[:-1], _group_label(group, keys, model, analysis, module_types))
    remapped = [(group_of.get(s, s), group_of.get(d, d), a) for s, d, a in edges]
    return result, _merge_edges(remapped)

