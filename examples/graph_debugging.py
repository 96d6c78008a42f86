"""Debugging a network by looking at its graph: a healthy network next to post 004's broken one.

Post 004's network adds two numbers: Linear(2, 4) ReLU Linear(4, 4) ReLU Linear(4, 1) ReLU, trained with
the squared error. "Sometimes the error never goes down": when the last ReLU's input is negative for
every sample, the network outputs 0, the ReLU passes no gradient back, and no weight ever moves.

This script trains both versions from the same seed (the healthy one ends with the Linear layer, the
broken one adds the output ReLU), then draws each one's graph with ``mg.viz.draw_graph`` before
``backward()`` so every intermediate gradient is known:

  healthy.svg           every op and parameter green: gradient flows everywhere
  dead_relu.svg         the output ReLU drawn black with a red border ("GRADIENT STOPS HERE"),
                        everything behind it dark grey ("DEAD"), the arrows there dashed
  *_modules.svg         the same graphs with one box per module (max_depth=1)

and prints what the drawing shows, plus ``mg.viz.explain_zero_grad`` for the first layer's weight.

    python examples/graph_debugging.py [--out out/graph_debugging] [--seed 10] [--epochs 300]

With the default seed 10 the output ReLU starts dead (so it does for about half of all seeds with
PyTorch's Linear initialisation), while the healthy network trains with no dead unit at all. Other
seeds show more: with seed 0 the healthy network learns but half of its first hidden layer's units
are dead (drawn grey, "2/4 units dead"); with seed 8 one of its hidden ReLUs dies entirely. With a seed where
the output ReLU starts alive, the broken network may still die while training, and the script says so.
"""
import argparse
import os
import sys
import warnings

import microgradnp as mg
from microgradnp import nn

from _support import description

X = [[0.1, 0.2], [0.5, 0.3], [0.2, 0.4], [0.3, 0.7], [0.5, 0.5], [0.4, 0.3]]
Y = [[0.3], [0.8], [0.6], [1.0], [1.0], [0.7]]
LEARNING_RATE = 0.1


def parse_args(argv):
    """--out, --seed and --epochs."""
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument("--out", default=os.path.join("out", "graph_debugging"),
                        help="folder for the SVG drawings (default out/graph_debugging)")
    parser.add_argument("--seed", type=int, default=10, help="seed for both networks' weights (default 10)")
    parser.add_argument("--epochs", type=int, default=300, help="full-batch SGD epochs (default 300)")
    args = parser.parse_args(argv)
    if args.epochs < 0:
        parser.error(f"--epochs must be >= 0, got {args.epochs}")
    return args


def build(seed, output_relu):
    """Post 004's network; ``output_relu`` adds the ReLU after the last Linear layer (the bug)."""
    mg.manual_seed(seed)
    layers = [nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 1)]
    return nn.Sequential(*layers, *([nn.ReLU()] if output_relu else []))


def train(model, x, y, epochs):
    """Full-batch SGD on the squared error; returns (first loss, last loss)."""
    optimizer = nn.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    loss_fn = nn.MSELoss()
    first = last = loss_fn(model(x), y).item()
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        last = loss.item()
    return first, last


def draw(model, x, y, out_dir, name):
    """Record one forward pass (module scopes and source lines), draw it, and write the SVGs."""
    with mg.autograd.graph.record():
        loss = nn.MSELoss()(model(x), y)
    drawing = mg.viz.draw_graph(loss, params=model, names={"x": x, "y": y})
    write(drawing, os.path.join(out_dir, name))
    folded = mg.viz.draw_graph(loss, params=model, names={"x": x, "y": y}, max_depth=1)
    write(folded, os.path.join(out_dir, name + "_modules"))
    return loss, drawing


def write(drawing, stem):
    """Render ``drawing`` to ``stem.svg``; without any Graphviz, write the DOT text and say how to render it."""
    try:
        print(f"  wrote {mg.viz.render(drawing, stem + '.svg')}")
    except mg.viz.RenderBackendMissing as error:
        with open(stem + ".dot", "w", encoding="utf-8") as handle:
            handle.write(drawing.source)
        print(f"  wrote {stem}.dot (no SVG: {error})")


def report(drawing, first, last, epochs):
    """Print the loss before and after training and what the drawing marks."""
    print(f"  loss {first:.4g} -> {last:.4g} after {epochs} epochs"
          + ("  (nothing was learned)" if abs(first - last) < 1e-9 else ""))
    problems = [f for f in drawing.findings if f.status != "dead"]
    dead = [f.where for f in drawing.findings if f.status == "dead"]
    if not drawing.findings:
        print("  the drawing is all green: every op and parameter gets a gradient")
    for finding in problems:
        print(f"  marked {finding}")
    if dead:
        print(f"  marked dead (zero gradient): {', '.join(dead)}")


def main(argv=None):
    """Train, draw and explain both networks."""
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    x, y = mg.tensor(X), mg.tensor(Y)
    for name, output_relu in (("healthy", False), ("dead_relu", True)):
        print(f"\n{name}: Linear(2, 4) ReLU Linear(4, 4) ReLU Linear(4, 1)" + (" ReLU" if output_relu else ""))
        model = build(args.seed, output_relu)
        with warnings.catch_warnings():
            # nn warns that a ReLU feeds MSELoss: that is the bug this network is here to show
            warnings.simplefilter("ignore")
            first, last = train(model, x, y, args.epochs)
            loss, drawing = draw(model, x, y, args.out, name)
        report(drawing, first, last, args.epochs)
        if output_relu:
            explanation = mg.viz.explain_zero_grad(loss, model[0].weight, params=model)
            print("  mg.viz.explain_zero_grad(loss, model[0].weight):")
            print("\n".join("    " + line for line in str(explanation).splitlines()))
            if explanation.status == "nonzero":
                print(f"  with seed {args.seed} the output ReLU is alive after training; "
                      f"try --seed 10 to see it die")
    return 0


if __name__ == "__main__":
    sys.exit(main())
