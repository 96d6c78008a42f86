"""Post 001: "my XOR network works with the logistic function and tanh, but not with a leaky ReLU."

The post's leaky ReLU is ``np.maximum(epsilon * data, data)`` with epsilon = 0.1, trained with SGD and
back-propagation on XOR. Its first derivative ``relu_prime`` returns one number for the whole array; the
"corrected" one in the post's EDIT compares with epsilon instead of 0. The post does not show the rest of
its network; here it is 2 -> 4 leaky ReLU -> 1 sigmoid with the squared error, trained one sample at a
time with learning rate 0.5, a common from-scratch XOR setup.

WHAT WENT WRONG, shown with microgradnp's tools:
  1. ``mg.autograd.check_derivative(relu, relu_prime)`` for both of the post's versions: it derives the
     true derivative from ``relu`` itself and names each mistake (a scalar returned for an array; a
     threshold at epsilon instead of 0, wrong on (0, 0.1)).
  2. The hand-written backward pass with each ``relu_prime``, compared with the gradients microgradnp
     derives for the same weights, and the XOR outputs each one trains to.

THE FIX: the same network with the post's own ``relu`` as its forward pass, run on microgradnp tensors;
its derivative is derived, never written. From the same initial weights and the same sample order it
trains exactly like the hand-written network with the right derivative, and solves XOR.

    python examples/leaky_relu_derivative_xor.py [--epochs 2000] [--seed 0] [--out out/leaky_relu_derivative_xor]
"""
import os

import numpy as np

import microgradnp as mg
from microgradnp import nn

from _support import Progress, banner, compare_gradients, parse_args, plot_curves, write_graph

X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
Y = np.array([[0.], [1.], [1.], [0.]])
HIDDEN = 4
LEARNING_RATE = 0.5
SOLVED = 0.25  # XOR counts as solved when every output is within this of its 0/1 target


# ---- the post's own code -------------------------------------------------------------------------------

def relu(data, epsilon=0.1):
    return np.maximum(epsilon * data, data)


def relu_prime(data, epsilon=0.1):
    if 1. * np.all(epsilon < data):
        return 1
    return epsilon


def relu_prime_edit(data, epsilon=0.1):
    """The post's EDIT: "the correct code should be"."""
    gradients = 1. * (data > epsilon)
    gradients[gradients == 0] = epsilon
    return gradients


def relu_prime_right(data, epsilon=0.1):
    """What the derivative should be: 1 where data > 0, epsilon elsewhere (for comparison only)."""
    return np.where(data > 0, 1.0, epsilon)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


# ---- the hand-written network around them --------------------------------------------------------------

def initial_weights(seed):
    """W1 (2, 4), b1 (4,), W2 (4, 1), b2 (1,), all uniform in [-1, 1).

    Zero biases would put the input [0, 0] exactly on the kink of relu, where np.maximum's derivative is
    a matter of convention (microgradnp splits a tie evenly, 0.55; relu_prime_right says 0.1); random
    biases keep every pre-activation off it, so the two runs below can agree exactly.
    """
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, (2, HIDDEN)), rng.uniform(-1, 1, HIDDEN), rng.uniform(-1, 1, (HIDDEN, 1)),
            rng.uniform(-1, 1, 1)]


def sample_orders(seed, epochs):
    """The shuffled sample order of every epoch (shared by the hand-written and the microgradnp runs)."""
    rng = np.random.default_rng(seed + 1000)
    return [rng.permutation(len(X)) for _ in range(epochs)]


def hand_written_gradients(weights, x, y, derivative):
    """Back-propagation by hand for the squared error 0.5 * (out - y)**2 of one sample."""
    W1, b1, W2, b2 = weights
    z1 = x @ W1 + b1
    a1 = relu(z1)
    out = sigmoid(a1 @ W2 + b2)
    d_out = (out - y) * out * (1 - out)
    d_hidden = d_out @ W2.T * derivative(z1)
    return [x.T @ d_hidden, d_hidden.sum(axis=0), a1.T @ d_out, d_out.sum(axis=0)]


def train_hand_written(derivative, seed, epochs, label):
    """SGD, one sample at a time, with the given relu_prime; returns the outputs and the loss history."""
    weights = [w.copy() for w in initial_weights(seed)]
    history = []
    progress = Progress(epochs, label=f"{label} epoch")
    for epoch, order in enumerate(sample_orders(seed, epochs), start=1):
        for i in order:
            grads = hand_written_gradients(weights, X[i:i + 1], Y[i:i + 1], derivative)
            weights = [w - LEARNING_RATE * g for w, g in zip(weights, grads)]
        W1, b1, W2, b2 = weights
        outputs = sigmoid(relu(X @ W1 + b1) @ W2 + b2)
        history.append(float(0.5 * ((outputs - Y) ** 2).sum()))
        progress(epoch, loss=history[-1])
    return outputs.ravel(), history


# ---- what went wrong -----------------------------------------------------------------------------------

def show_check_derivative():
    """Both of the post's derivatives, and the right one, checked against the derived derivative."""
    print("1. check_derivative(relu, df): microgradnp traces relu and compares df with the true derivative.\n")
    reports = {}
    for df in (relu_prime, relu_prime_edit, relu_prime_right):
        reports[df.__name__] = report = mg.autograd.check_derivative(relu, df)
        print("   " + str(report).replace("\n", "\n   ") + "\n")
    return reports


def derived_gradients(weights, x, y):
    """The same forward pass and loss on tensors: the post's relu, unchanged; gradients derived."""
    params = [mg.tensor(w, requires_grad=True) for w in weights]
    W1, b1, W2, b2 = params
    out = mg.sigmoid(relu(mg.tensor(x) @ W1 + b1) @ W2 + b2)
    (0.5 * ((out - mg.tensor(y)) ** 2).sum()).backward()
    return [p.grad.numpy() for p in params]


def show_gradient_tables(seed):
    """For one sample with a hidden pre-activation in (0, 0.1), each relu_prime's gradients against the
    derived ones (weights scaled so that such a pre-activation exists)."""
    weights = initial_weights(seed)
    x, y = X[3:4], Y[3:4]
    # put one hidden pre-activation at 0.05, inside (0, epsilon), where the EDIT's threshold is wrong
    z1 = x @ weights[0] + weights[1]
    weights[1] = weights[1] + (0.05 - z1[0, 0]) * np.eye(HIDDEN)[0]
    derived = derived_gradients(weights, x, y)
    print(f"2. The hand-written backward pass for sample {x.ravel().tolist()} -> {y.item():g}, hidden pre-activations "
          f"{np.round(x @ weights[0] + weights[1], 3).ravel().tolist()}:")
    verdicts = {}
    for df in (relu_prime, relu_prime_edit, relu_prime_right):
        hand = hand_written_gradients(weights, x, y, df)
        print(f"\n   with {df.__name__}:")
        verdicts[df.__name__] = compare_gradients(
            [(name, h, d) for name, h, d in zip(("W1", "b1", "W2", "b2"), hand, derived)])
    return verdicts


def show_training(seed, epochs):
    """Train the hand-written network with each relu_prime from the same start."""
    print(f"\n3. The hand-written network trained {epochs} epochs from the same weights with each relu_prime:")
    runs = {}
    for df in (relu_prime, relu_prime_edit, relu_prime_right):
        outputs, history = train_hand_written(df, seed, epochs, df.__name__)
        runs[df.__name__] = (outputs, history)
        worst = float(np.abs(outputs - Y.ravel()).max())
        print(f"   {df.__name__:<17} outputs {[round(float(o), 4) for o in outputs]}  worst error {worst:.3f}  "
              f"{'solves XOR' if worst < SOLVED else 'does NOT solve XOR'}")
    print("   relu_prime's single number treats the hidden layer as linear on the way back, so the network")
    print("   cannot bend XOR's corners apart. The EDIT's threshold error is small on this data (it bites only")
    print("   while a pre-activation sits in (0, 0.1)), but check_derivative finds it anyway.")
    return runs


# ---- the fix ---------------------------------------------------------------------------------------------

class LeakyReluNet(nn.Module):
    """2 -> 4 -> 1 with the post's relu as the hidden activation: a forward pass, nothing else."""

    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(2, HIDDEN)
        self.output = nn.Linear(HIDDEN, 1)

    def forward(self, x):
        """relu from the post works on tensors unchanged; its derivative is derived."""
        return mg.sigmoid(self.output(relu(self.hidden(x))))


def train_fixed(seed, epochs):
    """SGD one sample at a time from the hand-written run's initial weights and sample order."""
    W1, b1, W2, b2 = initial_weights(seed)
    model = LeakyReluNet().to(mg.float64)
    with mg.no_grad():
        model.hidden.weight.copy_(mg.tensor(W1.T))
        model.hidden.bias.copy_(mg.tensor(b1))
        model.output.weight.copy_(mg.tensor(W2.T))
        model.output.bias.copy_(mg.tensor(b2))
    optimizer = nn.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    inputs, targets = mg.tensor(X), mg.tensor(Y)
    history = []
    progress = Progress(epochs)
    for epoch, order in enumerate(sample_orders(seed, epochs), start=1):
        for i in order:
            optimizer.zero_grad()
            loss = 0.5 * ((model(inputs[i:i + 1]) - targets[i:i + 1]) ** 2).sum()
            loss.backward()
            optimizer.step()
        with mg.no_grad():
            history.append(float(0.5 * ((model(inputs) - targets) ** 2).sum().item()))
        progress(epoch, loss=history[-1])
    return model, history


def main(argv=None):
    """Run both parts; returns the numbers the printout shows, for tests and notebooks."""
    args = parse_args(argv, __doc__, "leaky_relu_derivative_xor", epochs=2000)
    print(f"XOR with a leaky ReLU (epsilon 0.1) hidden layer, seed {args.seed}.")

    banner("WHAT WENT WRONG")
    reports = show_check_derivative()
    verdicts = show_gradient_tables(args.seed)
    runs = show_training(args.seed, args.epochs)

    banner("THE FIX: the post's relu as a forward pass on microgradnp tensors, derivative derived")
    model, history = train_fixed(args.seed, args.epochs)
    inputs = mg.tensor(X)
    with mg.no_grad():
        outputs = model(inputs).numpy().ravel()
    accuracy = float(((outputs > 0.5) == Y.ravel()).mean())
    worst = float(np.abs(outputs - Y.ravel()).max())
    same = float(np.max(np.abs(outputs - runs["relu_prime_right"][0])))
    print(f"  final loss {history[-1]:.5f}, outputs {[round(float(o), 4) for o in outputs]}, accuracy {accuracy:.0%}")
    print(f"  largest difference from the hand-written run with the right derivative: {same:.1e}")
    graph = write_graph(0.5 * ((model(inputs) - mg.tensor(Y)) ** 2).sum(), args.out, "leaky_relu_xor_graph",
                        params=model)
    plot = plot_curves(os.path.join(args.out, "leaky_relu_xor_loss.png"),
                       {"relu_prime (scalar)": runs["relu_prime"][1], "relu_prime (EDIT)": runs["relu_prime_edit"][1],
                        "microgradnp (derived)": history}, "XOR with a leaky ReLU: training loss")
    return {
        "reports": {name: (report.ok, report.diagnosis) for name, report in reports.items()},
        "gradients_match": {name: all(v.values()) for name, v in verdicts.items()},
        "hand_written_outputs": {name: run[0].tolist() for name, run in runs.items()},
        "final_loss": history[-1],
        "outputs": outputs.tolist(),
        "accuracy": accuracy,
        "worst_error": worst,
        "difference_from_right_derivative": same,
        "graph": graph,
        "plots": [plot] if plot else [],
    }


if __name__ == "__main__":
    main()
