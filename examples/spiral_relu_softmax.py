"""Post 003: "I switched my hidden layer from sigmoid to ReLU and accuracy fell from 90% to 30-40%."

The post's network has one hidden layer, a softmax output and a hand-written backward pass; its author
swapped the sigmoid for a (leaky) ReLU after a cs231n lecture. The post gives no data, so this script
uses the lecture's spiral data set: 3 classes of 100 points in 2-D that no straight line separates.

WHAT WENT WRONG, shown with microgradnp's tools:
  1. ``reluGrad`` overwrites its argument in place (``check_derivative`` names it).
  2. The cost is the *binary* cross-entropy applied to softmax outputs, but the backward pass
     (``sigma3 = a3 - output``) is the gradient of the *categorical* cross-entropy: the number printed
     is not the number minimised. The gradients microgradnp derives for the same weights say which loss
     the hand-written backward belongs to, and ``nn.BCELoss`` warns about this misuse.
  3. The learning rate tuned for the sigmoid is too large for the ReLU, whose derivative is 1 instead of
     at most 1/4; the logits explode and the post's softmax, which subtracts the *global* maximum
     instead of each row's, turns them into 0/0 = NaN. ``argmax`` of a NaN row is 0, so every point is
     called class 0: exactly 1/3 accuracy, the post's "30-40%".

THE FIX: the same network (2 -> 100 ReLU -> 3) written with microgradnp: ReLU as a forward pass, the
softmax and its cross-entropy fused in ``nn.CrossEntropyLoss`` (stable for any logits), gradients
derived, SGD with the lecture's step size 1.0 and L2 strength 1e-3. It reaches >= 95% training
accuracy in a few seconds.

    python examples/spiral_relu_softmax.py [--epochs 2000] [--seed 0] [--out out/spiral_relu_softmax]
"""
import os
import warnings

import numpy as np

import microgradnp as mg
from microgradnp import nn

from _support import Progress, banner, compare_gradients, parse_args, plot_curves, pyplot, write_graph

HIDDEN = 100          # the lecture's hidden layer size
LAMB = 1e-3           # the post's L2 strength ``lamb`` (the lecture's ``reg``)
ALPHA_SIGMOID = 20.0  # a step size under which the post's sigmoid version trains well on this data


# ---- the post's own code, as posted -----------------------------------------------------------------

def relu(arg):  # I have tried both relu and leaky relu
    return 1*(arg<0)*0.0001*arg + (arg>=0)*arg


def reluGrad(arg):
    for i in range(arg.shape[0]):
        for j in range(arg.shape[1]):
            if arg[i][j]>0:
                arg[i][j]=1
            else:
                arg[i][j]=0
    return arg


def softmax(x):
    x = x.transpose()
    e_x = np.exp(x - np.max(x))
    return (e_x / e_x.sum(axis=0)).transpose()


def sigmoid(arg):
    """The activation of the post's previous, working version."""
    return 1 / (1 + np.exp(-arg))


def sigmoidGrad(arg):
    """Its derivative, as a function of the pre-activation (the call site passes z2)."""
    return sigmoid(arg) * (1 - sigmoid(arg))


def fast_reluGrad(arg):
    """The values ``reluGrad`` returns, vectorised and without the in-place write (the training loop
    below runs it thousands of times; the Python double loop would take minutes)."""
    return 1.0 * (arg > 0)


def post_step(theta1, theta2, data, output, lamb, activation=relu, activation_grad=reluGrad):
    """The post's forward prop, cost and backprop, unchanged but for the pluggable activation."""
    a1 = np.insert(data,0,np.ones(len(data)),1).astype(np.float64)
    z2 = a1.dot(theta1)
    a2 = activation(z2) #changed
    a2 = np.insert(a2,0,np.ones(len(a2)),1)
    z3 = a2.dot(theta2)
    a3 = softmax(z3) #changed

    cost = -(output*(np.log(a3))+(1-output)*(np.log(1-a3))).sum()
    cost = (1/len(data))*cost + (lamb/(2*len(data)))*((np.delete(theta1,0,0)**2).sum() + (np.delete(theta2,0,0)**2).sum())  # noqa: E501 - the post's line

    sigma3 = a3-output
    sigma2 = (sigma3.dot(np.transpose(theta2)))* activation_grad(np.insert(z2,0,np.ones(len(z2)),1)) #changed
    sigma2 = np.delete(sigma2,0,1)
    delta2 = (np.transpose(a2)).dot(sigma3)
    delta1 = (np.transpose(a1)).dot(sigma2)

    grad1 = delta1/len(data) + (lamb/len(data))*np.insert(np.delete(theta1,0,0),0,np.zeros(len(theta1[0])),0)
    grad2 = delta2/len(data) + (lamb/len(data))*np.insert(np.delete(theta2,0,0),0,np.zeros(len(theta2[0])),0)
    return cost, grad1, grad2, z3, a3


# ---- the data ----------------------------------------------------------------------------------------

def spiral_data(points_per_class=100, classes=3, seed=0):
    """The cs231n spiral: ``classes`` arms of ``points_per_class`` noisy 2-D points each (float64)."""
    rng = np.random.default_rng(seed)
    X = np.zeros((points_per_class * classes, 2))
    y = np.zeros(points_per_class * classes, dtype=np.int64)
    for j in range(classes):
        ix = slice(points_per_class * j, points_per_class * (j + 1))
        r = np.linspace(0.0, 1, points_per_class)
        t = np.linspace(j * 4, (j + 1) * 4, points_per_class) + rng.standard_normal(points_per_class) * 0.2
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        y[ix] = j
    return X, y


def initial_thetas(seed, hidden=HIDDEN):
    """Weights in the post's layout: row 0 of each theta multiplies the inserted bias column."""
    rng = np.random.default_rng(seed + 1)
    return rng.uniform(-1, 1, (3, hidden)), rng.uniform(-1, 1, (hidden + 1, 3))


# ---- what went wrong ---------------------------------------------------------------------------------

def show_in_place_relu_grad():
    """check_derivative on reluGrad, and what the in-place write does to the caller's array."""
    print("1. reluGrad, checked against the derivative microgradnp derives from relu:")
    report = mg.autograd.check_derivative(relu, reluGrad)
    print("   " + str(report).replace("\n", "\n   "))
    z2 = np.array([[-1.5, 0.3, 2.0]])
    before = z2.copy()
    reluGrad(z2)
    print(f"   z2 = {before.tolist()}; after reluGrad(z2), z2 = {z2.tolist()}: the pre-activations are gone.")
    print("   In the post np.insert(z2, ...) hands reluGrad a copy, which saves it there; call it on z2")
    print("   itself (or on a cached array) and every later use of z2 silently sees 0s and 1s.")
    return report


def derived_gradients(theta1, theta2, data, labels, loss_name):
    """The gradients microgradnp derives for the post's network, under the named loss."""
    t1 = mg.tensor(theta1, requires_grad=True)
    t2 = mg.tensor(theta2, requires_grad=True)
    n = len(data)
    a1 = mg.tensor(np.insert(data, 0, np.ones(n), 1))
    a2 = relu(a1 @ t1)  # the post's relu, unchanged: it works on tensors
    a2 = mg.cat([mg.ones(n, 1, dtype=mg.float64), a2], dim=1)
    z3 = a2 @ t2
    penalty = (LAMB / (2 * n)) * ((t1[1:] ** 2).sum() + (t2[1:] ** 2).sum())
    if loss_name == "binary":
        output = mg.tensor(np.eye(3)[labels])
        a3 = mg.softmax(z3, dim=1)
        loss = -(output * mg.log(a3) + (1 - output) * mg.log(1 - a3)).sum() / n + penalty
    else:
        loss = nn.CrossEntropyLoss()(z3, mg.tensor(labels)) + penalty
    loss.backward()
    return loss.item(), t1.grad.numpy(), t2.grad.numpy()


def show_cost_and_gradient_disagree(data, labels, seed):
    """The post's hand-written gradients against the derived gradients of two candidate losses."""
    print("\n2. The cost and the backward pass belong to different losses.")
    theta1, theta2 = initial_thetas(seed)
    output = np.eye(3)[labels]
    cost, grad1, grad2, _, probabilities = post_step(theta1, theta2, data, output, LAMB, relu, reluGrad)
    binary_cost, b1, b2 = derived_gradients(theta1, theta2, data, labels, "binary")
    categorical_cost, c1, c2 = derived_gradients(theta1, theta2, data, labels, "categorical")
    # reluGrad leaves out relu's 0.0001 leak (check_derivative's second finding above), which moves
    # theta1's gradient by about 1e-4 of its scale: differences that small count as agreement here
    tolerance = dict(rtol=1e-6, atol=2e-4 * max(np.abs(c1).max(), np.abs(c2).max()))
    print(f"   the post's cost (binary cross-entropy of the softmax) = {cost:.6f}; microgradnp's = "
          f"{binary_cost:.6f};")
    print("   its derived gradients against the post's backward pass:")
    binary = compare_gradients([("theta1", grad1, b1), ("theta2", grad2, b2)], **tolerance)
    print(f"   the categorical cross-entropy (nn.CrossEntropyLoss) = {categorical_cost:.6f}; its derived")
    print("   gradients against the same backward pass (to 2e-4 of the gradient's scale: reluGrad omits the leak):")
    categorical = compare_gradients([("theta1", grad1, c1), ("theta2", grad2, c2)], **tolerance)
    print("   So sigma3 = a3 - output descends the categorical cross-entropy while the post prints (and")
    print("   tries to keep finite) the binary one. nn.BCELoss, given the same softmax outputs, says so:")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nn.BCELoss()(mg.tensor(probabilities), mg.tensor(output))
    messages = [str(w.message) for w in caught]
    for message in messages:
        print("   nn.BCELoss warning: " + message)
    if not messages:
        print("   (nn.BCELoss gave no warning)")
    return all(binary.values()), all(categorical.values()), messages


def post_training(data, labels, activation, activation_grad, alpha, epochs, seed, label):
    """The post's training loop, stopped early once it can never recover: every weight NaN, or every
    hidden unit's input negative for every point (then only relu's 0.0001 leak passes any gradient)."""
    theta1, theta2 = initial_thetas(seed)
    output = np.eye(3)[labels]
    inputs = np.insert(data, 0, np.ones(len(data)), 1)
    run = {"costs": [], "nan_step": None, "logits": None, "infinite_cost_step": None, "dead_units": 0}
    progress = Progress(epochs, label=f"{label} epoch")
    with np.errstate(all="ignore"):  # the NaNs are the point here; they are counted, not warned about
        for step in range(1, epochs + 1):
            cost, grad1, grad2, z3, a3 = post_step(theta1, theta2, data, output, LAMB, activation, activation_grad)
            run["costs"].append(cost)
            run["accuracy"] = float((a3.argmax(1) == labels).mean())
            if run["infinite_cost_step"] is None and not np.isfinite(cost):
                run["infinite_cost_step"] = step
            if run["nan_step"] is None and np.isnan(a3).any():
                run["nan_step"], run["logits"] = step, z3
            if np.isfinite(theta1).all():
                run["dead_units"] = int((~((inputs @ theta1) > 0).any(axis=0)).sum())
            if np.isnan(theta1).all() and np.isnan(theta2).all():
                print(f"  {label} epoch {step}: every weight is NaN, so every later step is too; stopping")
                break
            if activation is relu and run["dead_units"] == theta1.shape[1]:
                print(f"  {label} epoch {step}: all {run['dead_units']} hidden ReLUs are dead (negative input "
                      f"for every point); stopping")
                break
            theta1 = theta1 - alpha * grad1
            theta2 = theta2 - alpha * grad2
            progress(step, cost=float(cost), accuracy=run["accuracy"])
    return run


def show_learning_rate_and_softmax(data, labels, epochs, seed):
    """The sigmoid version and the ReLU version under the same step size."""
    print(f"\n3. The post's training loop with the step size alpha = {ALPHA_SIGMOID:g}, first with the sigmoid")
    print("   of the previous version, then with relu/reluGrad:")
    before = post_training(data, labels, sigmoid, sigmoidGrad, ALPHA_SIGMOID, epochs, seed, "sigmoid")
    print(f"   sigmoid: training accuracy {before['accuracy']:.1%}")
    after = post_training(data, labels, relu, fast_reluGrad, ALPHA_SIGMOID, epochs, seed, "relu")
    print(f"   relu: training accuracy {after['accuracy']:.1%}; the cost is first inf/NaN at step "
          f"{after['infinite_cost_step']} (log of 0: what the post patched with a small value in the log).")
    print("   A sigmoid passes at most 1/4 of the gradient back, a ReLU all of it, so the alpha tuned for")
    print("   the sigmoid is a far bigger step here: the first steps throw the logits into the thousands.")
    print(f"   Then the hidden ReLUs die ({after['dead_units']} of {HIDDEN} end with a negative input for every "
          f"point, so the")
    print("   output hardly depends on the input), or the softmax divides 0 by 0 first.")
    if after["nan_step"] is not None:
        logits = after["logits"]
        with np.errstate(all="ignore"):
            nan_rows = int(np.isnan(softmax(logits)).any(axis=1).sum())
        stable = mg.softmax(mg.tensor(logits), dim=1).numpy()
        after["nan_rows"] = nan_rows
        after["mg_nan_rows"] = int(np.isnan(stable).any(axis=1).sum())
        print(f"   Here the softmax output holds NaN from step {after['nan_step']}: the logits span "
              f"{np.ptp(logits):.0f}, and the post's softmax")
        print(f"   subtracts the global max of all {logits.size} of them, so a row far below it underflows to "
              f"0/0: {nan_rows} of {len(logits)}")
        print(f"   rows are NaN. mg.softmax shifts each row by its own max: {after['mg_nan_rows']} NaN rows on "
              f"the same logits,")
        print(f"   every row sums to 1 (worst error {np.abs(stable.sum(axis=1) - 1).max():.1e}). A NaN row's "
              f"argmax is class 0.")
    print("   Either way the network stops telling the classes apart: about 1/3 accuracy, the post's \"30-40%\".")
    return before, after


class PostSoftmax(nn.Module):
    """The post's softmax as a layer: it subtracts the *global* maximum of the logits, not each row's."""

    def forward(self, logits):
        """exp(logits - max(logits)), each row divided by its sum."""
        e = mg.exp(logits - logits.max())
        return e / e.sum(dim=1, keepdim=True)


def monitor_post_learning_rate(data, labels, seed, steps=30):
    """The post's network in microgradnp's nn (2 -> 100 ReLU -> 3, the post's softmax, the log of its
    output as the loss) under the step size tuned for the sigmoid, watched by ``mg.viz.Monitor``."""
    mg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 3), PostSoftmax())
    optimizer = nn.optim.SGD(model.parameters(), lr=ALPHA_SIGMOID, weight_decay=LAMB)
    x, y = mg.tensor(data, dtype=mg.float32), mg.tensor(labels)
    with warnings.catch_warnings(), np.errstate(all="ignore"), mg.viz.Monitor(model) as monitor:
        warnings.simplefilter("ignore")  # the NaNs are what the monitor is for
        for _ in range(steps):
            optimizer.zero_grad()
            loss = nn.functional.nll_loss(mg.log(model(x)), y)
            loss.backward()
            optimizer.step()
    print(f"\n4. The same network in microgradnp's nn (the post's softmax as a layer, `3`), SGD lr = "
          f"{ALPHA_SIGMOID:g},")
    print(f"   {steps} steps under mg.viz.Monitor:")
    print("   " + monitor.findings_text().replace("\n", "\n   "))
    return monitor


# ---- the fix -----------------------------------------------------------------------------------------

def train_fixed(data, labels, epochs, seed):
    """2 -> 100 ReLU -> 3 with derived gradients, nn.CrossEntropyLoss and SGD(lr=1.0, weight_decay=1e-3),
    ``mg.viz.Monitor`` watching every 10th step."""
    mg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 3))
    loss_fn = nn.CrossEntropyLoss()
    # weight_decay adds lamb * w to each gradient: the L2 penalty's gradient (on the biases too, which
    # the post leaves out; it makes no difference here)
    optimizer = nn.optim.SGD(model.parameters(), lr=1.0, weight_decay=LAMB)
    x, y = mg.tensor(data, dtype=mg.float32), mg.tensor(labels)
    progress = Progress(epochs)
    losses = []
    with mg.viz.Monitor(model, every=10) as monitor:
        for epoch in range(1, epochs + 1):
            optimizer.zero_grad()
            logits = model(x)
            loss = loss_fn(logits, y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            progress(epoch, loss=losses[-1], accuracy=float((logits.argmax(dim=1).numpy() == labels).mean()))
    with mg.no_grad():
        predictions = model(x).argmax(dim=1).numpy()
    return model, losses, float((predictions == labels).mean()), monitor


def plot_boundary(path, model, data, labels):
    """The decision regions of the trained network with the training points on top."""
    plt = pyplot()
    if plt is None:
        return None
    xx, yy = np.meshgrid(np.linspace(-1.1, 1.1, 200), np.linspace(-1.1, 1.1, 200))
    grid = mg.tensor(np.c_[xx.ravel(), yy.ravel()], dtype=mg.float32)
    with mg.no_grad():
        regions = model(grid).argmax(dim=1).numpy().reshape(xx.shape)
    fig, ax = plt.subplots(figsize=(5, 5))
    # each class has one hue: a pale shade for its region, a strong one for its points
    from matplotlib.colors import ListedColormap
    point_colors = np.array(["#d62728", "#1f77b4", "#2ca02c"])
    region_colors = ListedColormap(["#f6c6c6", "#c6dbf2", "#c8ebc8"])
    ax.contourf(xx, yy, regions, levels=[-0.5, 0.5, 1.5, 2.5], cmap=region_colors)
    ax.scatter(data[:, 0], data[:, 1], c=point_colors[np.asarray(labels)], s=12, edgecolors="k", linewidths=0.3)
    ax.set_title("2-100-3 ReLU network: decision regions")
    ax.set_aspect("equal")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"  plot written to {path}")
    return path


def main(argv=None):
    """Run both parts; returns the numbers the printout shows, for tests and notebooks."""
    args = parse_args(argv, __doc__, "spiral_relu_softmax", epochs=2000)
    data, labels = spiral_data(seed=args.seed)
    print(f"Spiral data: {len(data)} points, 3 classes, 2-D (seed {args.seed}).")

    banner("WHAT WENT WRONG")
    report = show_in_place_relu_grad()
    binary_match, categorical_match, bce_warnings = show_cost_and_gradient_disagree(data, labels, args.seed)
    before, after = show_learning_rate_and_softmax(data, labels, args.epochs, args.seed)
    post_monitor = monitor_post_learning_rate(data, labels, args.seed)

    banner("THE FIX: the same network in microgradnp, gradients derived")
    model, losses, accuracy, monitor = train_fixed(data, labels, args.epochs, args.seed)
    print(f"  final loss {losses[-1]:.4f}, training accuracy {accuracy:.1%} "
          f"(the post's ReLU version: {after['accuracy']:.1%})")
    print("  " + monitor.findings_text())

    x, y = mg.tensor(data, dtype=mg.float32), mg.tensor(labels)
    loss = nn.CrossEntropyLoss()(model(x), y)
    graph = write_graph(loss, args.out, "spiral_graph", params=dict(model.named_parameters()))
    plots = [p for p in (
        plot_boundary(os.path.join(args.out, "spiral_boundary.png"), model, data, labels),
        plot_curves(os.path.join(args.out, "spiral_loss.png"),
                    {"microgradnp (cross-entropy)": losses, "post, sigmoid (its printed cost)": before["costs"]},
                    "Spiral: training loss"),
    ) if p]
    return {
        "reluGrad_ok": report.ok,
        "reluGrad_diagnosis": report.diagnosis,
        "post_gradients_match_binary_cost": binary_match,
        "post_gradients_match_categorical_cost": categorical_match,
        "bce_warnings": bce_warnings,
        "post_sigmoid_accuracy": before["accuracy"],
        "post_relu_accuracy": after["accuracy"],
        "post_relu_nan_step": after["nan_step"],
        "post_softmax_nan_rows": after.get("nan_rows"),
        "mg_softmax_nan_rows": after.get("mg_nan_rows"),
        "post_monitor_findings": post_monitor.findings,
        "post_monitor_nan_step": next((s for s, v in sorted(post_monitor.losses.items()) if not np.isfinite(v)), None),
        "fixed_monitor_findings": monitor.findings,
        "final_loss": losses[-1],
        "accuracy": accuracy,
        "graph": graph,
        "plots": plots,
    }


if __name__ == "__main__":
    main()
