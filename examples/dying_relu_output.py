"""Post 004: "my network adds two numbers; with ReLU the error sometimes never goes down."

The post's network is Dense(2, 4) ReLU Dense(4, 4) ReLU Dense(4, 1) ReLU, trained on six (a, b) -> a + b
pairs with the squared error, one sample at a time, learning rate 0.01, 5000 epochs. Its layers carry
hand-written backward passes.

WHAT WENT WRONG, shown with microgradnp's tools:
  1. The bias "gradient" is the bias itself (``self.biases -= lr * self.biases``): the post's own
     forward pass, run on microgradnp tensors, derives the true gradients for the same weights, and the
     table shows which rows of the hand-written backward pass are wrong. (It also shows a second, smaller
     slip: ``Dense.backward`` passes the error back through the weights it has just updated.)
  2. The ReLU on the output dies: when its input is negative for all six samples, the network predicts 0
     and no gradient reaches any weight, forever. Over 20 seeds of the post's initialisation, with
     derived (correct) gradients, most runs with the output ReLU end stuck; the same runs without it
     do not. ``mg.viz.explain_zero_grad`` names the op that blocks the gradient, and the graph drawing
     marks the dead path.

THE FIX: the same layers written with microgradnp (``nn.Linear``, ``nn.ReLU`` as forward passes, gradients
derived), with a linear output, trained with SGD at the post's lr 0.01 for the post's 5000 epochs. Each
epoch takes one step on the summed squared error of the six samples: the post's six per-sample steps
added up at one point, which is what they amount to while lr is small (the 20-seed runs above are
trained the same way, six times cheaper than sample by sample). It learns to add: the post's test
input 0.1 + 0.5 comes out close to 0.6.

    python examples/dying_relu_output.py [--epochs 5000] [--seed 0] [--out out/dying_relu_output]
"""
import copy
import os
import warnings

import numpy as np

import microgradnp as mg
from microgradnp import nn

from _support import Progress, banner, compare_gradients, parse_args, plot_curves, write_graph

X = np.reshape([[0.1, 0.2], [0.5, 0.3], [0.2, 0.4], [0.3, 0.7], [0.5, 0.5], [0.4, 0.3]], (6, 2, 1))
Y = np.reshape([[0.3], [0.8], [0.6], [1.0], [1.0], [0.7]], (6, 1, 1))
LEARNING_RATE = 0.01
SEEDS = 20
SOLVED = 1e-3  # a run "works" when its mean squared error ends below this


# ---- the post's own code, as posted (its empty base-class methods hold a docstring instead of `pass`) ----

class Layer:
    def __init__(self):
        self.inputs = None

    def forward(self, inputs):
        """Overridden by each layer."""

    def backward(self, error_gradient, lr):
        """Overridden by each layer."""


class Dense(Layer):
    def __init__(self, n_inputs, n_neurons):
        self.weights = np.random.randn(n_neurons, n_inputs)
        self.biases = np.random.randn(n_neurons, 1)
        super().__init__()

    def forward(self, inputs):
        self.inputs = inputs
        return np.dot(self.weights, self.inputs) + self.biases

    def backward(self, error_gradient, lr):
        weight_deriv = np.dot(error_gradient, self.inputs.T)
        self.weights -= lr * weight_deriv
        self.biases -= lr * self.biases
        return np.dot(self.weights.T, error_gradient)


class Activation(Layer):
    def __init__(self, activation, actiovation_prime):
        self.activation = activation
        self.activation_prime = actiovation_prime
        super().__init__()

    def forward(self, inputs):
        self.inputs = inputs
        return self.activation(self.inputs)

    def backward(self, error_gradient, lr):
        return np.multiply(error_gradient, self.activation_prime(self.inputs))


class ReLU(Activation):
    def __init__(self):
        super().__init__(lambda x: np.maximum(0, x), lambda y: np.where(y > 0, 1, 0))


def mse(y_pred, y_true):
    return np.power(y_true - y_pred, 2)


def mse_prime(y_pred, y_true):
    return 2 * (y_pred - y_true)


def run(nn, inputs):
    out = inputs
    for layer in nn:
        out = layer.forward(out)
    return out


def post_network(seed):
    """The post's network, initialised by its own code under ``np.random.seed(seed)``."""
    np.random.seed(seed)
    return [Dense(2, 4), ReLU(), Dense(4, 4), ReLU(), Dense(4, 1), ReLU()]


# ---- 1. the hand-written backward pass against the derived one -------------------------------------

def dense_layers(network):
    """(name, layer) for each Dense layer, named like PyTorch's Sequential would name it."""
    return [(f"dense{k}", layer) for k, layer in enumerate(x for x in network if isinstance(x, Dense))]


def hand_written_gradients(network, x, y, lr):
    """What the post's backward pass uses as gradients, read off the change it makes to each weight."""
    network = copy.deepcopy(network)
    before = {name: (layer.weights.copy(), layer.biases.copy()) for name, layer in dense_layers(network)}
    output_gradient = mse_prime(run(network, x), y)
    for layer in reversed(network):
        output_gradient = layer.backward(output_gradient, lr)
    return {name: ((before[name][0] - layer.weights) / lr, (before[name][1] - layer.biases) / lr)
            for name, layer in dense_layers(network)}


def derived_gradients(network, x, y):
    """The post's own forward pass and loss, run on tensors: microgradnp derives the gradients."""
    network = copy.deepcopy(network)
    for _, layer in dense_layers(network):
        layer.weights = mg.tensor(layer.weights, requires_grad=True)
        layer.biases = mg.tensor(layer.biases, requires_grad=True)
    loss = mse(run(network, mg.tensor(x)), mg.tensor(y)).sum()
    loss.backward()
    return {name: (layer.weights.grad.numpy(), layer.biases.grad.numpy()) for name, layer in dense_layers(network)}


def alive_network(seed, x, y):
    """The post's network for the first seed from ``seed`` on in which every weight gets a nonzero
    gradient from sample ``x`` (where a ReLU is off for the sample, both sides agree on 0: nothing to see),
    with that seed and the derived gradients."""
    while True:
        network = post_network(seed)
        derived = derived_gradients(network, x, y)
        if all(np.any(weights) for weights, _ in derived.values()):
            return network, seed, derived
        seed += 1


def show_bias_gradient(seed):
    """Compare, for one sample and the same weights, the post's gradients with the derived ones."""
    x, y = X[1], Y[1]
    network, seed, derived = alive_network(seed, x, y)
    print(f"  The post's network with seed {seed}, the first from --seed on in which this sample reaches every layer:")
    verdicts = {}
    for lr, why in ((LEARNING_RATE, "the post's learning rate"),
                    (1e-9, "a learning rate so small that updating the weights first changes nothing")):
        print(f"\n  Sample {x.ravel().tolist()} -> {y.item()}, {why} (lr = {lr:g}):")
        hand = hand_written_gradients(network, x, y, lr)
        rows = []
        for name in derived:
            rows.append((f"{name}.weights", hand[name][0], derived[name][0]))
            rows.append((f"{name}.biases", hand[name][1], derived[name][1]))
        verdicts[lr] = compare_gradients(rows, rtol=1e-6, atol=1e-9)
    biases_are_biases = all(np.allclose(hand[name][1], layer.biases) for name, layer in dense_layers(network))
    print(f"\n  Every hand-written bias 'gradient' equals the bias itself: {biases_are_biases}. The derived one is")
    print("  the error reaching the layer: without it the biases only shrink toward 0 and never learn.")
    print("  At lr = 0.01 the weight rows of the lower layers are wrong too: Dense.backward returns")
    print("  np.dot(self.weights.T, error_gradient) after updating self.weights, so the layers below get an")
    print("  error computed with the new weights. At lr = 1e-9 that slip vanishes; the bias rows stay wrong.")
    return verdicts, biases_are_biases


# ---- 2. the dying output ReLU, over 20 seeds -----------------------------------------------------------

class Ensemble:
    """Many copies of one network shape trained at once: parameter k of every copy is stacked into one
    tensor of shape (copies, ...), so one forward/backward pass trains all of them independently.

    ``layers[i]`` is a list of (weight, bias) arrays, one per Dense layer, in the post's layout:
    weight (n_neurons, n_inputs), bias (n_neurons, 1).
    """

    def __init__(self, layers):
        self.params = []
        for k in range(len(layers[0])):
            self.params.append(mg.tensor(np.stack([copy_[k][0] for copy_ in layers]), requires_grad=True))
            self.params.append(mg.tensor(np.stack([copy_[k][1] for copy_ in layers]), requires_grad=True))

    def forward(self, x, output_relu):
        """Column-vector layout as in the post: x is (2, samples); returns the prediction (copies, 1,
        samples) and the three layers' pre-activations."""
        w0, b0, w1, b1, w2, b2 = self.params
        z0 = w0 @ x + b0
        z1 = w1 @ mg.relu(z0) + b1
        z2 = w2 @ mg.relu(z1) + b2
        return (mg.relu(z2) if output_relu else z2), (z0, z1, z2)

    def train(self, epochs, output_relu, label):
        """Full-batch SGD on the summed squared error: the post's six per-sample steps added up at one point.

        Returns each copy's final mean squared error, whether its output ReLU is dead (negative input
        for every sample) and whether a whole hidden layer is dead.
        """
        x, y = mg.tensor(X[:, :, 0].T), mg.tensor(Y[:, :, 0].T)
        optimizer = nn.optim.SGD(self.params, lr=LEARNING_RATE)
        progress = Progress(epochs, label=f"{label} epoch")
        for epoch in range(1, epochs + 1):
            optimizer.zero_grad()
            prediction, _ = self.forward(x, output_relu)
            loss = ((prediction - y) ** 2).sum()
            loss.backward()
            optimizer.step()
            progress(epoch, mean_squared_error=loss.item() / (len(X) * len(self.params[0])))
        with mg.no_grad():
            prediction, (z0, z1, z2) = self.forward(x, output_relu)
        errors = ((prediction - y) ** 2).mean(dim=(1, 2)).numpy()
        output_dead = (z2.numpy() <= 0).all(axis=(1, 2)) if output_relu else np.zeros(len(errors), bool)
        hidden_dead = (z0.numpy() <= 0).all(axis=(1, 2)) | (z1.numpy() <= 0).all(axis=(1, 2))
        return {"errors": errors, "solved": errors < SOLVED, "output_dead": output_dead,
                "hidden_dead": hidden_dead & ~output_dead}


def post_layers(network):
    """(weight, bias) arrays of the post's Dense layers."""
    return [(layer.weights, layer.biases) for _, layer in dense_layers(network)]


def default_init_layers(seed):
    """(weight, bias) arrays of the same layers as nn.Linear initialises them (PyTorch's default)."""
    mg.manual_seed(seed)
    linears = [nn.Linear(2, 4), nn.Linear(4, 4), nn.Linear(4, 1)]
    return [(layer.weight.numpy().astype(np.float64), layer.bias.numpy().astype(np.float64)[:, None])
            for layer in linears]


def show_success_rate(epochs, seed):
    """Train 20 seeds with and without the output ReLU (and with nn.Linear's init); count the outcomes."""
    seeds = list(range(seed, seed + SEEDS))
    runs = [("ReLU, post init", [post_layers(post_network(s)) for s in seeds], True),
            ("linear, post init", [post_layers(post_network(s)) for s in seeds], False),
            ("linear, nn.Linear init", [default_init_layers(s) for s in seeds], False)]
    outcomes = {}
    for name, layers, output_relu in runs:
        outcomes[name] = Ensemble(layers).train(epochs, output_relu, name)
    n = len(seeds)
    print(f"\n  {n} seeds, derived gradients, {epochs} epochs; how each run ends:")
    print(f"  {'output, init':<24} {'solved':>8} {'output ReLU dead':>17} {'hidden layer dead':>18} {'other':>6}")
    for name, _, _ in runs:
        o = outcomes[name]
        other = int((~o["solved"] & ~o["output_dead"] & ~o["hidden_dead"]).sum())
        print(f"  {name:<24} {int(o['solved'].sum()):>5}/{n:<2} "
              f"{int(o['output_dead'].sum()):>14}/{n:<2} {int(o['hidden_dead'].sum()):>15}/{n:<2} {other:>6}")
    print(f"  solved: mean squared error below {SOLVED:g}. A dead output predicts 0 for every input, so its error")
    print(f"  stays at mean(y^2) = {float(np.mean(Y ** 2)):.4f} and no gradient reaches any weight, for good.")
    print(f"  A dead hidden layer (4 units, all off for every sample) predicts one constant: error >= var(y) = "
          f"{float(np.var(Y)):.4f}.")
    print("  So the output ReLU is what makes the post's runs fail; tiny 4-unit ReLU layers can still die, and")
    print("  the initialisation (the post's guess) changes how often.")
    return seeds, outcomes


def show_dead_output(seed, out_dir):
    """Rebuild a seed whose output ReLU dies with nn layers, and ask microgradnp why its weights get no
    gradient (its output ReLU is dead from the start: the initial weights are all it takes)."""
    network = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 1), nn.ReLU())
    post = post_network(seed)
    with mg.no_grad():
        for linear, (_, dense) in zip((network[0], network[2], network[4]), dense_layers(post)):
            linear.weight.copy_(mg.tensor(dense.weights, dtype=mg.float32))
            linear.bias.copy_(mg.tensor(dense.biases[:, 0], dtype=mg.float32))
    x, y = mg.tensor(X[:, :, 0], dtype=mg.float32), mg.tensor(Y[:, :, 0], dtype=mg.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loss = nn.MSELoss()(network(x), y)
    print(f"\n  Seed {seed}, the post's network as nn.Sequential with the same initial weights: loss {loss.item():.4f}")
    report = mg.viz.explain_zero_grad(loss, network[0].weight, params=network)
    print("  mg.viz.explain_zero_grad(loss, network[0].weight):")
    print("    " + str(report).replace("\n", "\n    "))
    for warning in caught:
        print(f"  nn.MSELoss warned ({type(warning.message).__name__}): {warning.message}")
    graph = write_graph(loss, out_dir, "dead_output_graph", params=network)
    return report, graph, [str(w.message) for w in caught], network


def monitor_dead_output(network, steps=100):
    """Train the dead network for a few steps under ``mg.viz.Monitor``: it names the dead output ReLU."""
    x, y = mg.tensor(X[:, :, 0], dtype=mg.float32), mg.tensor(Y[:, :, 0], dtype=mg.float32)
    optimizer = nn.optim.SGD(network.parameters(), lr=LEARNING_RATE)
    loss_fn = nn.MSELoss(reduction="sum")
    with warnings.catch_warnings(), mg.viz.Monitor(network) as monitor:
        warnings.simplefilter("ignore")  # nn.MSELoss's warning about a ReLU output, shown above
        for _ in range(steps):
            optimizer.zero_grad()
            loss_fn(network(x), y).backward()
            optimizer.step()
    print(f"\n  The same network trained for {steps} steps under mg.viz.Monitor:")
    print("    " + monitor.findings_text().replace("\n", "\n    "))
    return monitor


# ---- the fix -----------------------------------------------------------------------------------------------

def train_fixed(epochs, seed):
    """The post's layers with a linear output, SGD(lr=0.01), derived gradients. Each epoch is one step on
    the summed squared error: the post's six per-sample steps added up at one point, at a sixth of the cost.
    ``mg.viz.Monitor`` watches every 10th step."""
    mg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 1))
    optimizer = nn.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    loss_fn = nn.MSELoss(reduction="sum")
    x, y = mg.tensor(X[:, :, 0], dtype=mg.float32), mg.tensor(Y[:, :, 0], dtype=mg.float32)
    progress = Progress(epochs)
    history = []
    with mg.viz.Monitor(model, every=10) as monitor:
        for epoch in range(1, epochs + 1):
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            history.append(loss.item() / len(X))
            progress(epoch, mean_squared_error=history[-1])
    return model, history, monitor


def main(argv=None):
    """Run both parts; returns the numbers the printout shows, for tests and notebooks."""
    args = parse_args(argv, __doc__, "dying_relu_output", epochs=5000)
    print("Six (a, b) -> a + b pairs; the post's network Dense(2,4) ReLU Dense(4,4) ReLU Dense(4,1) ReLU.")

    banner("WHAT WENT WRONG")
    print("1. The hand-written backward pass against the gradients microgradnp derives")
    verdicts, biases_are_biases = show_bias_gradient(args.seed)
    print("\n2. The ReLU on the output dies")
    seeds, outcomes = show_success_rate(args.epochs, args.seed)
    dead_seeds = [s for s, dead in zip(seeds, outcomes["ReLU, post init"]["output_dead"]) if dead]
    report, dead_graph, misuse, dead_network = (show_dead_output(dead_seeds[0], args.out) if dead_seeds
                                                else (None, None, [], None))
    dead_monitor = None if dead_network is None else monitor_dead_output(dead_network)

    banner("THE FIX: the same layers in microgradnp, linear output, gradients derived")
    model, history, monitor = train_fixed(args.epochs, args.seed)
    with mg.no_grad():
        test = model(mg.tensor([[0.1, 0.5]])).item()
        fitted = model(mg.tensor(X[:, :, 0], dtype=mg.float32)).numpy().ravel()
    print(f"  final mean squared error {history[-1]:.2e}")
    for (a, b), prediction in zip(X[:, :, 0], fitted):
        print(f"  {a:.1f} + {b:.1f} = {a + b:.1f}   predicted {prediction:.4f}")
    print(f"  the post's test: 0.1 + 0.5 -> {test:.4f}")
    print("  " + monitor.findings_text())

    x, y = mg.tensor(X[:, :, 0], dtype=mg.float32), mg.tensor(Y[:, :, 0], dtype=mg.float32)
    graph = write_graph(nn.MSELoss()(model(x), y), args.out, "fixed_graph", params=model)
    plot = plot_curves(os.path.join(args.out, "dying_relu_loss.png"), {"linear output (fixed)": history},
                       "Adding two numbers: training error", ylabel="mean squared error")
    with_relu, linear, nn_init = (outcomes[k] for k in ("ReLU, post init", "linear, post init",
                                                         "linear, nn.Linear init"))
    return {
        "bias_gradient_is_bias": biases_are_biases,
        "bias_rows_match": any(v for k, v in verdicts[1e-9].items() if k.endswith("biases")),
        "weight_rows_match_at_tiny_lr": all(v for k, v in verdicts[1e-9].items() if k.endswith("weights")),
        "weight_rows_match_at_post_lr": all(v for k, v in verdicts[LEARNING_RATE].items() if k.endswith("weights")),
        "seeds": len(seeds),
        "solved_with_output_relu": int(with_relu["solved"].sum()),
        "dead_with_output_relu": int(with_relu["output_dead"].sum()),
        "solved_linear_output": int(linear["solved"].sum()),
        "solved_linear_output_nn_init": int(nn_init["solved"].sum()),
        "dead_output_explanation": None if report is None else report.kinds,
        "misuse_warnings": misuse,
        "dead_monitor_findings": [] if dead_monitor is None else dead_monitor.findings,
        "fixed_monitor_findings": monitor.findings,
        "final_error": history[-1],
        "test_prediction": test,
        "predictions": fitted.tolist(),
        "graphs": [g for g in (dead_graph, graph) if g],
        "plots": [plot] if plot else [],
    }


if __name__ == "__main__":
    main()
