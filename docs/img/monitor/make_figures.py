"""Make the figures of docs/guide/watching-training.md (not run by the tests).

    python docs/img/monitor/make_figures.py

A 2 -> 64 Tanh -> 64 ReLU -> 3 network on the cs231n spiral, its first layer's initial weights scaled by
10 (so its tanh saturates), SGD lr 0.5, 400 steps, watched by mg.viz.Monitor every 2nd step. Writes the
PNG figures next to this script and prints the findings.
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", ".."))

import microgradnp as mg  # noqa: E402
from microgradnp import nn  # noqa: E402


def spiral(points=100, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = np.zeros((points * classes, 2), dtype=np.float32)
    y = np.repeat(np.arange(classes), points)
    for j in range(classes):
        r = np.linspace(0.0, 1, points)
        t = np.linspace(j * 4, (j + 1) * 4, points) + rng.standard_normal(points) * 0.2
        x[j * points:(j + 1) * points] = np.c_[r * np.sin(t), r * np.cos(t)]
    return mg.tensor(x), mg.tensor(y)


def main():
    mg.manual_seed(0)
    x, y = spiral()
    model = nn.Sequential(nn.Linear(2, 64), nn.Tanh(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))
    with mg.no_grad():
        model[0].weight.mul_(10.0)
    optimizer = nn.optim.SGD(model.parameters(), lr=0.5)
    loss_fn = nn.CrossEntropyLoss()
    with mg.viz.Monitor(model, every=2) as monitor:
        for _ in range(400):
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
    print(monitor)
    for path in monitor.plot(HERE, formats=("png",)):
        print("wrote", os.path.relpath(path))


if __name__ == "__main__":
    main()
