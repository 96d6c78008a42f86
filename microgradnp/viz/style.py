"""How the drawing looks: one colour and one tag word per health status, node labels, and the legend.

Problems are named in words on the node as well as coloured, so the drawing reads in greyscale and
for colour-blind readers too. Dead things are dark (no gradient: nothing lives there), NaN/Inf is red,
exploding is orange, vanishing is pale blue, healthy is pale green.
"""
PALETTE = {
    # status: (fill, font colour, tag written on the node, legend text)
    "nonfinite": ("#d62728", "white", "NaN/Inf", "NaN or Inf in the value or the gradient"),
    "blocked": ("#252525", "white", "gradient stops here",
                "gradient stops here: arrives, none passes back"),
    "dead": ("#595959", "white", "dead: zero gradient", "dead: the gradient is exactly 0 everywhere"),
    "exploding": ("#fd8d3c", "black", "exploding gradient", "exploding: |grad| > {exploding:g}"),
    "vanishing": ("#c6dbef", "black", "vanishing gradient", "vanishing: 0 < |grad| < {vanishing:g}"),
    "partly_dead": ("#bdbdbd", "black", "partly dead",
                    "partly dead: at least {dead_percent:g}% of units pass no gradient"),
    "ok": ("#c7e9c0", "black", None, "gradient ok"),
    "unknown": ("#ffffff", "black", None, "gradient not known"),
}
BLOCK_BORDER = "#d62728"
ZERO_EDGE = "#a0a0a0"
FONT = "Helvetica"
SHOW_FIELDS = ("shape", "dtype", "grad_norm", "dead", "data", "trace")
"""What ``show=`` may contain; the first five plus 'trace' are shown by default."""


def esc(text):
    """Text made safe inside a Graphviz label string (backslash starts an escape there)."""
    return str(text).replace("\\", "\\\\")


def num(value):
    """A number in at most four significant digits."""
    return f"{value:.4g}"


def node_style(status, is_output=False):
    """Graphviz attributes (fill, font colour, border) for a vertex with this health status."""
    fill, font, _, _ = PALETTE[status]
    attrs = {"fillcolor": fill, "fontcolor": font, "style": "filled"}
    if status == "blocked":
        attrs.update(color=BLOCK_BORDER, penwidth="4")
    if is_output:
        attrs["peripheries"] = "2"
    return attrs


def label(title, health, value, show, *, subtitle=None, details=(), trace=None, tag_prefix=None,
          extra_rows=()):
    """A node label, one fact per line: title, then the requested facts, then the status tag in capitals.

    Plain text on purpose: the in-process Graphviz has no HTML-like labels, and the same DOT source
    must look the same whichever Graphviz renders it.
    """
    rows = [tag_prefix] if tag_prefix else []
    rows.append(title)
    if subtitle:
        rows.append(subtitle)
    if details:
        rows.append(", ".join(details))
    facts = []
    if value is not None and "shape" in show:
        facts.append(str(tuple(value.shape)))
    if value is not None and "dtype" in show:
        facts.append(str(value.dtype))
    if facts:
        rows.append(" ".join(facts))
    if "grad_norm" in show and health.grad_norm is not None:
        rows.append(f"|grad| {num(health.grad_norm)}")
    if "dead" in show and health.dead_text and health.status != "dead":  # a dead tensor is dead in every unit
        rows.append(health.dead_text)
    if "data" in show and health.value_stats is not None:
        low, mean, high = health.value_stats
        rows.append(f"min {num(low)} mean {num(mean)} max {num(high)}")
    if "trace" in show and trace:
        rows.append(trace)
    rows.extend(extra_rows)
    tag = PALETTE[health.status][2]
    if tag:
        if health.status == "nonfinite" and health.nonfinite_in:
            tag = f"NaN/Inf in {health.nonfinite_in}"
        rows.append(tag.upper())
    return "\\n".join(esc(row) for row in rows)


SHAPES_TEXT = ("box: an op and the tensor it made\\l"
               "ellipse: parameter (requires grad)\\l"
               "dashed box: input (no gradient)\\l"
               "double border: output\\l"
               "dashed grey arrow: no gradient flows back\\l"
               "N/M units dead: units (last axis) passing\\l"
               "  no gradient for any sample\\l")


def legend(graph, thresholds, statuses, notes=()):
    """Add the legend to ``graph``: a cluster with one swatch per status in ``statuses``, the shapes, and notes."""
    values = {"vanishing": thresholds.vanishing, "exploding": thresholds.exploding,
              "dead_percent": 100 * thresholds.dead_fraction}
    names = []
    with graph.subgraph(name="cluster_legend") as box:
        box.attr(label="gradient health", style="rounded", color="#9e9e9e", fontname=FONT, fontsize="12")
        for status in PALETTE:
            if status not in statuses:
                continue
            attrs = node_style(status)
            attrs["style"] += ",rounded"
            box.node(f"legend_{status}", label=esc(PALETTE[status][3].format(**values)), fontsize="10", **attrs)
            names.append(f"legend_{status}")
        box.node("legend_shapes", label=SHAPES_TEXT, shape="plaintext", fontsize="10")
        names.append("legend_shapes")
        for i, note in enumerate(notes):
            box.node(f"legend_note{i}", label=esc(note), shape="plaintext", fontsize="10",
                     fontcolor=BLOCK_BORDER)
            names.append(f"legend_note{i}")
        for upper, lower in zip(names, names[1:]):
            box.edge(upper, lower, style="invis")
