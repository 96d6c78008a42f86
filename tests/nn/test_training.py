"""Training smoke tests: small networks written as a PyTorch user would must actually learn."""
import numpy as np

import microgradnp as mg
from microgradnp import nn


def spiral_data(points_per_class=100, classes=3, seed=0):
    """The cs231n spiral: ``classes`` interleaved arms in 2-D, ``points_per_class`` points each."""
    rng = np.random.default_rng(seed)
    x = np.zeros((points_per_class * classes, 2), dtype=np.float32)
    y = np.zeros(points_per_class * classes, dtype=np.int64)
    for j in range(classes):
        rows = slice(points_per_class * j, points_per_class * (j + 1))
        radius = np.linspace(0.0, 1, points_per_class)
        theta = np.linspace(j * 4, (j + 1) * 4, points_per_class) + rng.standard_normal(points_per_class) * 0.2
        x[rows] = np.c_[radius * np.sin(theta), radius * np.cos(theta)]
        y[rows] = j
    return x, y


def test_xor_with_leaky_relu_sigmoid_and_bce():
    # seeds 001 and 002: the network their authors could not get to learn XOR
    mg.manual_seed(0)
    x = mg.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = mg.tensor([[0.0], [1.0], [1.0], [0.0]])
    model = nn.Sequential(nn.Linear(2, 8), nn.LeakyReLU(), nn.Linear(8, 1), nn.Sigmoid())
    optimizer = nn.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    loss_fn = nn.BCELoss()
    for _ in range(500):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
    out = model(x).numpy().ravel()
    assert loss.item() < 0.01
    assert np.all(out[[0, 3]] < 0.05) and np.all(out[[1, 2]] > 0.95), out


def test_spiral_reaches_95_percent_training_accuracy():
    x, y = spiral_data()
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 100), nn.ReLU(), nn.Linear(100, 3))
    optimizer = nn.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    inputs, targets = mg.tensor(x), mg.tensor(y)
    for _ in range(1000):
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
    model.eval()
    with mg.no_grad():
        accuracy = (model(inputs).numpy().argmax(axis=1) == y).mean()
    assert accuracy >= 0.95, accuracy


def test_minibatch_training_with_data_loader_and_scheduler():
    x, y = spiral_data(points_per_class=60)
    mg.manual_seed(1)
    model = nn.Sequential(nn.Linear(2, 64), nn.Tanh(), nn.Linear(64, 3))
    optimizer = nn.optim.Adam(model.parameters(), lr=0.02)
    scheduler = nn.optim.lr_scheduler.StepLR(optimizer, step_size=40, gamma=0.5)
    loader = mg.utils.data.DataLoader(mg.utils.data.TensorDataset(mg.tensor(x), mg.tensor(y)), batch_size=32,
                                      shuffle=True, seed=0)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(120):
        for xb, yb in loader:
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()
        scheduler.step()
    with mg.no_grad():
        accuracy = (model(mg.tensor(x)).numpy().argmax(axis=1) == y).mean()
    assert accuracy >= 0.9, accuracy
