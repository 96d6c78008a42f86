"""Post 002: "my XOR network (ReLU hidden layer, sigmoid output, binary cross-entropy) outputs about 0.5
for every input."

The post's network: 2 inputs, one ReLU hidden layer, a sigmoid output, the binary cross-entropy, plain
gradient descent with learning rate 0.1, weights drawn with np.random.uniform and no biases. The post
does not give the hidden size or the number of epochs; this script uses 8 hidden units and --epochs.

WHAT WENT WRONG, shown with microgradnp's tools:
  1. The sigmoid's derivative is applied twice: ``d_sigmoid(y_pred)`` computes sigmoid(sigmoid(z))
     * (1 - sigmoid(sigmoid(z))), because ``y_pred`` is already the sigmoid's output. ``check_derivative``
     passes ``d_sigmoid`` itself and names the mistake in the way the backward pass calls it; the post's
     gradients, compared entry by entry with the ones microgradnp derives from the post's own forward
     pass, are wrong. With ``y_pred * (1 - y_pred)`` in its place they match, up to the factor 4 (the
     batch size) that the post's ``d_binary_cross_entropy`` leaves out of the mean.
  2. There are no biases, so the input [0, 0] reaches the output as sigmoid(0) = 0.5 whatever the
     weights: ``mg.autograd.grad`` shows that no weight can move that prediction.

THE FIX: the same network written with microgradnp: ``nn.Linear`` layers (with biases), ``nn.ReLU`` and
``nn.Sigmoid`` as forward passes, ``nn.BCELoss``, SGD with the post's learning rate 0.1, gradients
derived. It learns XOR.

    python examples/xor_sigmoid_derivative_twice.py [--epochs 2000] [--seed 0] [--out out/xor_sigmoid_derivative_twice]
"""
import copy
import os

import numpy as np

import microgradnp as mg
from microgradnp import nn

from _support import Progress, banner, compare_gradients, parse_args, plot_curves, write_graph

HIDDEN = 8

# ---- the post's own code, as posted (its progress printout moved out of train) ------------------------

X = np.array([[0, 0],
              [0, 1],
              [1, 0],
              [1, 1]])
y = np.array([[0],
              [1],
              [1],
              [0]])


def ReLU(x):
    return np.maximum(0, x)


def d_ReLU(x):
    return np.where(x > 0, 1, 0)


def sigmoid(x):
    return 1/(1 + np.exp(-x))


def d_sigmoid(x):
    return sigmoid(x) * (1 - sigmoid(x))


def binary_cross_entropy(y, y_pred):
    loss = np.mean(-(y * np.log(y_pred) + (1 - y) * np.log(1-y_pred)))
    return loss


def d_binary_cross_entropy(y, y_pred):
    loss = np.where(y == 1, -1/y_pred, 1/(1 - y_pred))
    return loss


class NeuralNetwork():
    def __init__(self, input_size, hidden_size, output_size, learning_rate=0.1):
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.learning_rate = learning_rate
        self.weights_hidden = np.random.uniform(size=(input_size, hidden_size))
        self.weights_output = np.random.uniform(size=(hidden_size, output_size))

    def forward_pass(self, X):
        self.output_hidden = ReLU(np.dot(X, self.weights_hidden))
        output = sigmoid(np.dot(self.output_hidden, self.weights_output))
        return output

    def backward_pass(self, X, y, y_pred):
        output_delta = d_binary_cross_entropy(y, y_pred) * d_sigmoid(y_pred)
        hidden_error = output_delta.dot(self.weights_output.T)
        hidden_delta = hidden_error * d_ReLU(self.output_hidden)
        self.weights_output -= self.learning_rate * self.output_hidden.T.dot(output_delta)
        self.weights_hidden -= self.learning_rate * X.T.dot(hidden_delta)

    def train(self, X, y, epochs):
        progress = Progress(epochs)
        for epoch in range(epochs):
            output = self.forward_pass(X)
            loss = binary_cross_entropy(y, output)
            self.backward_pass(X, y, output)
            progress(epoch + 1, loss=float(loss))
        return loss


class OutputFormFixed(NeuralNetwork):
    """The post's network with one change: the sigmoid's derivative in its output form, y * (1 - y)."""

    def backward_pass(self, X, y, y_pred):
        output_delta = d_binary_cross_entropy(y, y_pred) * (y_pred * (1 - y_pred))
        hidden_error = output_delta.dot(self.weights_output.T)
        hidden_delta = hidden_error * d_ReLU(self.output_hidden)
        self.weights_output -= self.learning_rate * self.output_hidden.T.dot(output_delta)
        self.weights_hidden -= self.learning_rate * X.T.dot(hidden_delta)


def post_network(seed, cls=NeuralNetwork):
    """The post's network, initialised by its own code under ``np.random.seed(seed)``."""
    np.random.seed(seed)
    return cls(2, HIDDEN, 1)


# ---- what went wrong ---------------------------------------------------------------------------------

def show_check_derivative():
    """d_sigmoid is right as a function of z; the backward pass feeds it sigmoid(z)."""
    print("1. check_derivative on d_sigmoid, and on d_sigmoid as backward_pass uses it (on y_pred):")
    as_written = mg.autograd.check_derivative(sigmoid, d_sigmoid)
    print("   " + str(as_written))

    def d_sigmoid_of_y_pred(z):
        return d_sigmoid(sigmoid(z))  # backward_pass calls d_sigmoid(y_pred), y_pred = sigmoid(z)

    as_used = mg.autograd.check_derivative(sigmoid, d_sigmoid_of_y_pred)
    print("   " + str(as_used).replace("\n", "\n   "))
    return as_written, as_used


def hand_written_gradients(network):
    """The gradients the post's backward pass uses, read off the change it makes to the weights."""
    network = copy.deepcopy(network)
    before = network.weights_hidden.copy(), network.weights_output.copy()
    network.backward_pass(X, y, network.forward_pass(X))
    lr = network.learning_rate
    return (before[0] - network.weights_hidden) / lr, (before[1] - network.weights_output) / lr


def derived_gradients(network):
    """The post's own forward pass and loss, run on tensors: microgradnp derives the gradients."""
    network = copy.deepcopy(network)
    network.weights_hidden = mg.tensor(network.weights_hidden, requires_grad=True)
    network.weights_output = mg.tensor(network.weights_output, requires_grad=True)
    loss = binary_cross_entropy(y, network.forward_pass(X))
    loss.backward()
    return network.weights_hidden.grad.numpy(), network.weights_output.grad.numpy()


def show_gradient_tables(seed):
    """The post's gradients, and the output-form variant's, against the derived ones."""
    derived = derived_gradients(post_network(seed))
    print("\n2. The post's backward pass against the gradients microgradnp derives (same weights):")
    post = hand_written_gradients(post_network(seed))
    as_posted = compare_gradients([("weights_hidden", post[0], derived[0]),
                                   ("weights_output", post[1], derived[1])])
    print("   With d_sigmoid(y_pred) replaced by y_pred * (1 - y_pred):")
    fixed = hand_written_gradients(post_network(seed, OutputFormFixed))
    compare_gradients([("weights_hidden", fixed[0], derived[0]), ("weights_output", fixed[1], derived[1])])
    factor = len(X)
    exact = all(np.allclose(f, factor * d, rtol=1e-10, atol=1e-12) for f, d in zip(fixed, derived))
    print(f"   The remaining factor {factor} is the batch size: binary_cross_entropy takes the mean over the 4")
    print("   samples, d_binary_cross_entropy does not divide by 4. That only rescales the learning rate.")
    print("   The doubled sigmoid does worse: the post's output delta is (y_pred - y) * s(1-s) / (y_pred(1-y_pred))")
    print("   with s = sigmoid(y_pred), a per-sample factor that grows without bound as y_pred nears 0 or 1")
    print(f"   (about {np.median(post[1] / derived[1]) / factor:.0f} for these first predictions), so the more "
          f"confident a prediction, the harder")
    print("   it is kicked back: the outputs end near 0.5.")
    return all(as_posted.values()), exact, factor


def show_missing_bias(seed):
    """No weight can move the prediction for [0, 0]: the gradient of that output is exactly 0."""
    network = copy.deepcopy(post_network(seed))
    network.weights_hidden = mg.tensor(network.weights_hidden, requires_grad=True)
    network.weights_output = mg.tensor(network.weights_output, requires_grad=True)
    output = network.forward_pass(X)
    grads = mg.autograd.grad(output[0, 0], [network.weights_hidden, network.weights_output])
    largest = max(float(np.abs(g.numpy()).max()) for g in grads)
    print("\n3. No biases: the input [0, 0] gives ReLU(0 @ W) = 0 in the hidden layer and sigmoid(0) = 0.5 out.")
    print(f"   prediction for [0, 0]: {output[0, 0].item():.4f}; largest |d prediction / d weight| over both "
          f"weight matrices: {largest:g}")
    print("   (mg.autograd.grad): no weight can move it, so XOR's 0 for [0, 0] is out of reach.")
    return output[0, 0].item(), largest


def show_post_training(seed, epochs):
    """The post's training run, as posted."""
    print(f"\n4. The post's network trained as posted ({epochs} epochs, learning rate 0.1):")
    network = post_network(seed)
    with np.errstate(all="ignore"):  # the run may reach log(0); the result shows it
        loss = network.train(X, y, epochs)
        predictions = network.forward_pass(X).ravel()
    print(f"   final loss {loss:.4f}, predictions {_rounded(predictions)} (target [0, 1, 1, 0])")
    return float(loss), predictions


def _rounded(values):
    return [round(float(v), 4) for v in values]


# ---- the fix -------------------------------------------------------------------------------------------

def train_fixed(epochs, seed):
    """2 -> 8 ReLU -> 1 sigmoid with biases, nn.BCELoss, SGD(lr=0.1), gradients derived."""
    mg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 1), nn.Sigmoid())
    optimizer = nn.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.BCELoss()
    inputs, targets = mg.tensor(X, dtype=mg.float32), mg.tensor(y, dtype=mg.float32)
    progress = Progress(epochs)
    history = []
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
    args = parse_args(argv, __doc__, "xor_sigmoid_derivative_twice", epochs=2000)
    print(f"XOR, the post's network with {HIDDEN} hidden units, seed {args.seed}.")

    banner("WHAT WENT WRONG")
    as_written, as_used = show_check_derivative()
    posted_match, output_form_match, factor = show_gradient_tables(args.seed)
    zero_input_prediction, zero_input_grad = show_missing_bias(args.seed)
    post_loss, post_predictions = show_post_training(args.seed, args.epochs)

    banner("THE FIX: the same network in microgradnp, with biases, gradients derived")
    model, history = train_fixed(args.epochs, args.seed)
    inputs, targets = mg.tensor(X, dtype=mg.float32), mg.tensor(y, dtype=mg.float32)
    with mg.no_grad():
        predictions = model(inputs).numpy().ravel()
    accuracy = float(((predictions > 0.5) == y.ravel()).mean())
    print(f"  final loss {history[-1]:.4f}, predictions {_rounded(predictions)}, accuracy {accuracy:.0%}")
    graph = write_graph(nn.BCELoss()(model(inputs), targets), args.out, "xor_graph", params=model)
    plot = plot_curves(os.path.join(args.out, "xor_loss.png"), {"microgradnp (fixed)": history},
                       "XOR: training loss", ylabel="binary cross-entropy")
    return {
        "d_sigmoid_ok": as_written.ok,
        "d_sigmoid_of_output_ok": as_used.ok,
        "d_sigmoid_of_output_diagnosis": as_used.diagnosis,
        "post_gradients_match": posted_match,
        "output_form_gradients_match": output_form_match,
        "output_form_factor": factor,
        "zero_input_prediction": zero_input_prediction,
        "zero_input_max_gradient": zero_input_grad,
        "post_loss": post_loss,
        "post_predictions": post_predictions.tolist(),
        "final_loss": history[-1],
        "predictions": predictions.tolist(),
        "accuracy": accuracy,
        "graph": graph,
        "plots": [plot] if plot else [],
    }


if __name__ == "__main__":
    main()
