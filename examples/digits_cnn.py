"""A small CNN on scikit-learn's 8x8 handwritten digits: convolutions, pooling, BatchNorm, mini-batches.

The first convolutional network of a PyTorch course, written as a PyTorch user writes it, with only the
imports changed: 1797 grey 8x8 images of the digits 0-9 (``sklearn.datasets.load_digits``, bundled with
scikit-learn, nothing downloaded), split 80/20 into training and test sets with a fixed seed and batched
by a ``DataLoader`` over a ``TensorDataset``. The network is

    Conv2d(1, 8, 3, padding=1, bias=False) -> BatchNorm2d(8) -> ReLU -> MaxPool2d(2)    8x8 -> 4x4
    Conv2d(8, 16, 3, padding=1) -> ReLU -> MaxPool2d(2)                                 4x4 -> 2x2
    flatten -> Linear(16 * 2 * 2, 10)

trained with SGD with momentum on the cross-entropy. The first convolution has no bias: the BatchNorm after
it subtracts each channel's mean, so a bias there would cancel out and get no gradient but float rounding
(the graph drawing marks it as vanishing).

It prints the training and test loss and the test accuracy after each epoch (each tenth of the epochs when
there are more than ten) and at the end (96-99% after the default 10 epochs, depending on the seed), and
writes the graph of one training step twice: every op, grouped in one cluster per layer (conv1, bn1,
pool1, conv2, pool2, fc), and folded to one box per layer; and the loss curves.

    python examples/digits_cnn.py [--epochs 10] [--seed 0] [--out out/digits_cnn]

It needs scikit-learn for the data set: pip install "microgradnp[examples]".
"""
import os

import microgradnp as mg
import microgradnp.nn.functional as F
from microgradnp import nn
from microgradnp.utils.data import DataLoader, TensorDataset

from _support import Progress, banner, parse_args, plot_curves, write_graph

try:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
except ImportError:  # checked in main(), so that --help works without it
    load_digits = train_test_split = None

NEEDS_SKLEARN = ("digits_cnn.py needs scikit-learn for its data set (sklearn.datasets.load_digits): "
                 "pip install 'microgradnp[examples]' (or pip install scikit-learn)")
BATCH = 32
LR = 0.05
MOMENTUM = 0.9


class DigitsCNN(nn.Module):
    """Two conv + pool stages, then a linear classifier over the 16 channels of 2x2 pixels."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, kernel_size=3, padding=1, bias=False)  # bn1 has the per-channel shift
        self.bn1 = nn.BatchNorm2d(8)
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, kernel_size=3, padding=1)
        self.pool2 = nn.MaxPool2d(2)
        self.fc = nn.Linear(16 * 2 * 2, 10)

    def forward(self, x):
        """Logits (N, 10) for a batch of images (N, 1, 8, 8)."""
        x = self.pool1(F.relu(self.bn1(self.conv1(x))))   # (N, 8, 4, 4)
        x = self.pool2(F.relu(self.conv2(x)))             # (N, 16, 2, 2)
        return self.fc(mg.flatten(x, 1))


def load_data(seed):
    """(train images, train labels, test images, test labels): pixels scaled to [0, 1], a stratified 80/20 split."""
    digits = load_digits()
    images = digits.images.reshape(-1, 1, 8, 8) / 16.0   # 0..16 grey levels -> [0, 1], one channel
    X_train, X_test, y_train, y_test = train_test_split(images, digits.target, test_size=0.2,
                                                        random_state=seed, stratify=digits.target)
    return (mg.tensor(X_train, dtype=mg.float32), mg.tensor(y_train),
            mg.tensor(X_test, dtype=mg.float32), mg.tensor(y_test))


@mg.no_grad()
def evaluate(model, images, labels):
    """(mean cross-entropy, accuracy) of the model in eval mode (BatchNorm with its running statistics)."""
    model.eval()
    logits = model(images)
    loss = F.cross_entropy(logits, labels).item()
    accuracy = (logits.argmax(dim=1) == labels).float().mean().item()
    model.train()
    return loss, accuracy


def draw_step(loss, model, out_dir):
    """The graph of one training step: every op in a cluster per layer, then one box per layer."""
    return [write_graph(loss, out_dir, "digits_cnn_step", params=model),
            write_graph(loss, out_dir, "digits_cnn_step_layers", params=model, max_depth=1)]


def main(argv=None):
    """Train and test the CNN; returns the numbers the printout shows, for tests and notebooks."""
    args = parse_args(argv, __doc__, "digits_cnn", epochs=10)
    if load_digits is None:
        raise SystemExit(NEEDS_SKLEARN)
    X_train, y_train, X_test, y_test = load_data(args.seed)
    train_loader = DataLoader(TensorDataset(X_train, y_train), batch_size=BATCH, shuffle=True,
                              generator=mg.Generator().manual_seed(args.seed))

    banner(f"A small CNN on {X_train.shape[0] + X_test.shape[0]} 8x8 digits: {X_train.shape[0]} for training, "
           f"{X_test.shape[0]} for testing, batches of {BATCH}")
    mg.manual_seed(args.seed)
    model = DigitsCNN()
    print(f"  {sum(p.numel() for p in model.parameters())} parameters; SGD lr {LR}, momentum {MOMENTUM}; "
          f"guessing scores 10% accuracy")
    optimizer = mg.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    progress, graphs = Progress(args.epochs), None
    losses, test_losses, accuracies = [], [], []
    for epoch in range(1, args.epochs + 1):
        model.train()
        total, seen = 0.0, 0
        for images, labels in train_loader:
            if graphs is None:  # the first step: record module scopes and source lines, and draw it
                with mg.autograd.graph.record():
                    loss = F.cross_entropy(model(images), labels)
                graphs = draw_step(loss, model, args.out)
            else:
                loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * labels.shape[0]
            seen += labels.shape[0]
        losses.append(total / seen)
        test_loss, accuracy = evaluate(model, X_test, y_test)
        test_losses.append(test_loss)
        accuracies.append(accuracy)
        progress(epoch, loss=losses[-1], test_loss=test_loss, test_accuracy=f"{accuracy:.2%}")

    wrong = round((1 - accuracies[-1]) * X_test.shape[0])
    banner("After training")
    print(f"  training loss {losses[-1]:.4f}, test loss {test_losses[-1]:.4f}")
    print(f"  test accuracy {accuracies[-1]:.2%} ({wrong} of {X_test.shape[0]} test digits misclassified)")
    plot = plot_curves(os.path.join(args.out, "digits_cnn_loss.png"),
                       {"training loss (epoch mean)": losses, "test loss": test_losses},
                       "digits_cnn: cross-entropy")
    return {"losses": losses, "test_losses": test_losses, "accuracies": accuracies,
            "test_accuracy": accuracies[-1], "graph": graphs[0], "graphs": graphs,
            "plots": [plot] if plot else []}


if __name__ == "__main__":
    # glibc keeps the memory one training step frees for the next (a whole-process setting: only when run
    # as a script, never when imported)
    mg.backends.cpu.keep_freed_memory()
    main()
