"""Post 000: "my 1-layer network works with a sigmoid; with a leaky ReLU it fails. Can the output layer
not be a ReLU?"

The post's network is a single layer: 3 inputs (the third is a constant 1) -> 1 output, targets 0/1,
error y - output, the update W += X.T @ (error * derivative) (and the same for b, which is added to W),
so a step size of 1. The author swapped the sigmoid for "if x > 0 then x else x/100", "then the same for
the derivative". The post's snippet calls a global ``nonlin`` and its ``train`` loop is empty; this script
fixes just those two slips (``self.nonlin``, and ``forward(); backward()`` in the loop).

WHAT WENT WRONG, shown with microgradnp's tools:
  1. Not the derivatives: ``check_derivative`` finds both right as ``backward()`` calls them (the
     sigmoid's ``x*(1-x)`` expects the output, and it gets the output).
  2. The output layer: a leaky ReLU is unbounded, so nothing keeps the output in [0, 1]. Trained as
     posted, every pre-activation ends on the negative side (the step of 1 overshoots, or it starts
     there), where the slope is 1/100: the outputs are below 0 and the gradient microgradnp derives for W
     is a few hundredths, so it crawls. ``nn.BCELoss`` refuses such outputs outright: they are not
     probabilities.

THE FIX: keep the leaky ReLU where it belongs, in a hidden layer, and end with a sigmoid (a probability),
trained with ``nn.BCELoss`` and the post's step size 1 -- written with microgradnp, gradients derived.

    python examples/leaky_relu_output_layer.py [--epochs 200] [--seed 0] [--out out/leaky_relu_output_layer]
"""
import os

import numpy as np

import microgradnp as mg
from microgradnp import nn

from _support import Progress, banner, parse_args, plot_curves, write_graph

# ---- the post's own code (with `self.nonlin` and a train loop body, as noted above) ----------------------

X = np.array([[0,0,1],[0,1,1],[1,0,1],[1,1,1]])
y = np.array([[0,1,0,1]]).T


class NN:
  def __init__(self, X, y):
    self.X = X
    self.y = y
    self.W = np.random.uniform(-1, 1, (X.shape[1], 1))
    self.b = np.random.uniform(-1, 1, (X.shape[1], 1))

  def nonlin(self, x, deriv=False):
    if deriv:
      return x*(1-x)
    return 1/(1+np.exp(-x))

  def forward(self):
    self.l1 = self.nonlin(np.dot(self.X, self.W + self.b))
    self.errors = self.y - self.l1

  def backward(self):
    self.l1_delta = self.errors * self.nonlin(self.l1, True)
    self.W += np.dot(self.X.T, self.l1_delta)
    self.b += np.dot(self.X.T, self.l1_delta)

  def train(self, epochs=20):
    for _ in range(epochs):
      self.forward()
      self.backward()


class LeakyNN(NN):
  """What the post tried: "if x > 0 then x else x/100", then the same for the derivative."""

  def nonlin(self, x, deriv=False):
    if deriv:
      return np.where(x > 0, 1, 1/100)
    return np.where(x > 0, x, x/100)


def sigmoid(x):
    """The post's nonlin(x)."""
    return 1 / (1 + np.exp(-x))


def sigmoid_deriv(x):
    """The post's nonlin(x, deriv=True)."""
    return x * (1 - x)


def leaky(x):
    """The leaky ReLU the post tried."""
    return np.where(x > 0, x, x / 100)


def leaky_deriv(x):
    """Its derivative, the same way."""
    return np.where(x > 0, 1, 1 / 100)


# ---- what went wrong ---------------------------------------------------------------------------------------

def as_called_on_output(f, df):
    """df as backward() uses it: on the layer's output l1 = f(z), as a function of z."""
    def called_on_output(z):
        return df(f(z))
    called_on_output.__name__ = f"{df.__name__}(l1)"
    return called_on_output


def show_derivatives():
    """Both hand-written derivatives against the derived ones, as written and as backward() calls them."""
    print("1. The derivatives, checked against the ones microgradnp derives:")
    reports = {}
    checks = [("sigmoid_deriv", sigmoid, sigmoid_deriv),
              ("sigmoid_deriv(l1)", sigmoid, as_called_on_output(sigmoid, sigmoid_deriv)),
              ("leaky_deriv", leaky, leaky_deriv),
              ("leaky_deriv(l1)", leaky, as_called_on_output(leaky, leaky_deriv))]
    for name, f, df in checks:
        reports[name] = report = mg.autograd.check_derivative(f, df)
        lines = str(report).splitlines()
        print("   " + "\n   ".join(lines[:2] if not report.ok else lines[:1]))
    print("   x * (1 - x) is the sigmoid's derivative in terms of its output, and backward() calls it on the")
    print("   output l1: right where it is used. The leaky ReLU's derivative is right either way. So the")
    print("   derivatives are not what fails.")
    return reports


def derived_weight_gradient(network):
    """|dE/dW| for E = 0.5 * sum((y - l1)**2): the post's own forward pass, run on tensors."""
    W = mg.tensor(network.W, requires_grad=True)
    l1 = network.nonlin(np.dot(network.X, W + network.b))
    error = 0.5 * ((network.y - l1) ** 2).sum()
    error.backward()
    return float(np.linalg.norm(W.grad.numpy()))


def show_training(seed, epochs):
    """Train the post's network with each output activation; for the leaky one, look at the gradient."""
    print(f"\n2. The post's network trained as posted, {epochs} epochs, step size 1:")
    runs = {}
    for cls, name in ((NN, "sigmoid"), (LeakyNN, "leaky ReLU")):
        np.random.seed(seed)
        network = cls(X, y)
        start_gradient = derived_weight_gradient(network)
        errors = []
        progress = Progress(epochs, label=f"{name} epoch")
        for epoch in range(1, epochs + 1):
            network.train(1)
            errors.append(float(np.mean(network.errors ** 2)))
            progress(epoch, mean_squared_error=errors[-1])
        network.forward()
        outputs = network.l1.ravel()
        runs[name] = {"outputs": outputs, "errors": errors, "start_gradient": start_gradient,
                      "end_gradient": derived_weight_gradient(network),
                      "pre_activations": np.dot(X, network.W + network.b).ravel()}
        print(f"   {name:<10} outputs {[round(float(o), 4) for o in outputs]} (targets {y.ravel().tolist()}), "
              f"mean squared error {errors[-1]:.4f}")
    leaky_run = runs["leaky ReLU"]
    negative = int((leaky_run["pre_activations"] <= 0).sum())
    print(f"   With the leaky ReLU, {negative} of 4 pre-activations end on the x/100 side, outputs "
          f"{leaky_run['outputs'].min():.3f} to {leaky_run['outputs'].max():.3f}: not in [0, 1].")
    print(f"   The gradient microgradnp derives for W: |dE/dW| = {leaky_run['start_gradient']:.3g} at the start, "
          f"{leaky_run['end_gradient']:.3g} now.")
    print("   A sigmoid's slope is at most 1/4 and it saturates toward 0 and 1; the leaky ReLU's slope is 1, so")
    print("   a step of 1 overshoots onto the flat side and the network crawls from there.")
    return runs


def show_bce_refuses(outputs):
    """nn.BCELoss on the leaky-ReLU outputs."""
    print("\n3. A 0/1 target wants a probability. nn.BCELoss on the leaky-ReLU outputs:")
    try:
        nn.BCELoss()(mg.tensor(outputs[:, None]), mg.tensor(y, dtype=mg.float64))
    except ValueError as error:
        print(f"   ValueError: {error}")
        return str(error)
    print("   (accepted: these outputs happen to lie in [0, 1])")
    return None


# ---- the fix --------------------------------------------------------------------------------------------

def train_fixed(seed, epochs):
    """Leaky ReLU in a hidden layer, sigmoid on the output, nn.BCELoss, SGD with the post's step size 1."""
    mg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.01), nn.Linear(4, 1), nn.Sigmoid())
    optimizer = nn.optim.SGD(model.parameters(), lr=1.0)
    loss_fn = nn.BCELoss()
    inputs, targets = mg.tensor(X, dtype=mg.float32), mg.tensor(y, dtype=mg.float32)
    history = []
    progress = Progress(epochs)
    for epoch in range(1, epochs + 1):
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        history.append(loss.item())
        progress(epoch, loss=history[-1])
    return model, history


def main(argv=None):
    """Run both parts; returns the numbers the printout shows, for tests and notebooks."""
    args = parse_args(argv, __doc__, "leaky_relu_output_layer", epochs=200)
    print(f"The post's data: 4 samples, 3 inputs (the last a constant 1), 0/1 targets; seed {args.seed}.")

    banner("WHAT WENT WRONG")
    reports = show_derivatives()
    runs = show_training(args.seed, args.epochs)
    refusal = show_bce_refuses(runs["leaky ReLU"]["outputs"])

    banner("THE FIX: leaky ReLU in a hidden layer, sigmoid output, written with microgradnp")
    model, history = train_fixed(args.seed, args.epochs)
    inputs = mg.tensor(X, dtype=mg.float32)
    with mg.no_grad():
        probabilities = model(inputs).numpy().ravel()
    accuracy = float(((probabilities > 0.5) == y.ravel()).mean())
    print(f"  final loss {history[-1]:.4f}, probabilities {[round(float(p), 4) for p in probabilities]}, "
          f"accuracy {accuracy:.0%}")
    graph = write_graph(nn.BCELoss()(model(inputs), mg.tensor(y, dtype=mg.float32)), args.out,
                        "leaky_relu_output_graph", params=model)
    plot = plot_curves(os.path.join(args.out, "leaky_relu_output_error.png"),
                       {"post, sigmoid output": runs["sigmoid"]["errors"],
                        "post, leaky ReLU output": runs["leaky ReLU"]["errors"]},
                       "The post's single layer: mean squared error", ylabel="mean squared error")
    return {
        "derivatives_ok": {name: report.ok for name, report in reports.items()},
        "sigmoid_outputs": runs["sigmoid"]["outputs"].tolist(),
        "leaky_outputs": runs["leaky ReLU"]["outputs"].tolist(),
        "leaky_gradient_start": runs["leaky ReLU"]["start_gradient"],
        "leaky_gradient_end": runs["leaky ReLU"]["end_gradient"],
        "bce_refusal": refusal,
        "final_loss": history[-1],
        "probabilities": probabilities.tolist(),
        "accuracy": accuracy,
        "graph": graph,
        "plots": [plot] if plot else [],
    }


if __name__ == "__main__":
    main()
