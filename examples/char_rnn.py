"""A character-level LSTM language model (Karpathy's char-rnn, small): it reads Shakespeare and writes some.

Written as a PyTorch user writes it, with only the import changed: characters are looked up in an
``nn.Embedding`` table, an ``nn.LSTM`` reads them (``batch_first=True``), and an ``nn.Linear`` head turns each
step's hidden state into logits over the alphabet; the loss is the cross-entropy of the next character at every
step. Training draws random windows of the text from a seeded ``mg.Generator``, with Adam and gradient
clipping. The gradient through all the steps of a window (backpropagation through time) is the engine's: the
LSTM is written with microgradnp's ops, and ``loss.backward()`` runs back through every recorded step.

Text is then sampled one character at a time: the LSTM's state ``(h, c)`` is carried from step to step, and
each next character is drawn with ``mg.multinomial`` from ``softmax(logits / temperature)`` (a low temperature
picks the likeliest characters, 1.0 samples the model as it is). The text is the opening of Shakespeare's
*Coriolanus* (public domain), ``examples/data/shakespeare.txt``, the first 7,302 characters of the
tinyshakespeare file of Karpathy's char-rnn.

It prints the loss going down against the loss of guessing uniformly, samples before and after training, and
writes the graph of the model unrolled over three characters and the loss curve.

    python examples/char_rnn.py [--epochs 500] [--seed 0] [--out out/char_rnn]

(``--epochs`` is the number of training steps.)
"""
import math
import os

import microgradnp as mg
import microgradnp.nn.functional as F
from microgradnp import nn

from _support import Progress, banner, parse_args, plot_curves, write_graph

TEXT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "shakespeare.txt")
EMBEDDING = 32   # size of each character's embedding
HIDDEN = 128     # LSTM units
WINDOW = 32      # characters per training sequence
BATCH = 32       # sequences per step
PROMPT = "First Citizen:\n"


def read_text(path=TEXT):
    """The training text."""
    with open(path, encoding="utf-8") as handle:
        return handle.read()


class CharLSTM(nn.Module):
    """Embedding -> LSTM -> Linear: logits of the next character at every step."""

    def __init__(self, vocab_size):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, EMBEDDING)
        self.lstm = nn.LSTM(EMBEDDING, HIDDEN, batch_first=True)
        self.head = nn.Linear(HIDDEN, vocab_size)

    def forward(self, indices, state=None):
        """``indices`` (batch, steps) -> (logits (batch, steps, vocab), the LSTM's final ``(h, c)``)."""
        output, state = self.lstm(self.embedding(indices), state)
        return self.head(output), state


def windows(data, generator):
    """A batch of (inputs, targets): ``BATCH`` random windows of the text and the same shifted by one."""
    starts = mg.randint(0, data.shape[0] - WINDOW - 1, (BATCH,), generator=generator).tolist()
    inputs = mg.stack([data[s:s + WINDOW] for s in starts])
    targets = mg.stack([data[s + 1:s + WINDOW + 1] for s in starts])
    return inputs, targets


@mg.no_grad()
def sample(model, stoi, itos, length, temperature, generator, prompt=PROMPT):
    """``length`` characters after ``prompt``, drawn one at a time from softmax(logits / temperature)."""
    model.eval()
    logits, state = model(mg.tensor([[stoi[ch] for ch in prompt]]))
    out = []
    for _ in range(length):
        probs = F.softmax(logits[0, -1] / temperature, dim=-1)
        ix = mg.multinomial(probs, num_samples=1, generator=generator).item()
        out.append(itos[ix])
        logits, state = model(mg.tensor([[ix]]), state)  # one step, the state carried on
    model.train()
    return prompt + "".join(out)


@mg.no_grad()
def text_loss(model, data):
    """The mean cross-entropy of every next character of the whole text, read as one long sequence."""
    model.eval()
    logits, _ = model(data[:-1].view(1, -1))
    model.train()
    return F.cross_entropy(logits[0], data[1:]).item()


def _show(label, text):
    print(f"  {label}:")
    for line in text.splitlines() or [""]:
        print(f"    | {line}")


def main(argv=None):
    """Train, sample, report; returns the numbers the printout shows, for tests and notebooks."""
    args = parse_args(argv, __doc__.splitlines()[0], "char_rnn", epochs=500)
    text = read_text()
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    itos = {i: ch for ch, i in stoi.items()}
    data = mg.tensor([stoi[ch] for ch in text])
    uniform = math.log(len(chars))

    banner(f"A character-level LSTM on {len(text):,} characters of Coriolanus ({len(chars)} distinct)")
    mg.manual_seed(args.seed)
    model = CharLSTM(len(chars))
    print(f"  {sum(p.nelement() for p in model.parameters()):,} parameters; guessing uniformly scores "
          f"log({len(chars)}) = {uniform:.4f}")
    generator = mg.Generator().manual_seed(args.seed)
    before = sample(model, stoi, itos, 80, 1.0, mg.Generator().manual_seed(args.seed + 1))
    _show("sampled before training (temperature 1.0)", before)
    graph = write_graph(F.cross_entropy(model(data[:3].view(1, 3))[0][0], data[1:4]), args.out, "char_rnn_3_steps",
                        params=dict(model.named_parameters()))
    print("  (the drawing unrolls the LSTM over three characters; it marks the first step's forget gate, which gets\n"
          "  no gradient: it multiplies the initial cell state c_0, which is zero)")

    optimizer = nn.optim.Adam(model.parameters(), lr=0.01)
    banner(f"Training: {args.epochs} steps of {BATCH} windows of {WINDOW} characters")
    progress, losses = Progress(args.epochs, label="step"), []
    for step in range(1, args.epochs + 1):
        inputs, targets = windows(data, generator)
        logits, _ = model(inputs)
        loss = F.cross_entropy(logits.reshape(-1, len(chars)), targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
        progress(step, loss=losses[-1])

    final = text_loss(model, data)
    banner("After training")
    print(f"  loss on the whole text {final:.4f} (first training step {losses[0]:.4f}, uniform guessing "
          f"{uniform:.4f}); it is the text the model trained on, and a model of this size learns much of 7 KB by heart")
    samples = {}
    for temperature in (0.5, 1.0):
        samples[temperature] = sample(model, stoi, itos, 200, temperature, mg.Generator().manual_seed(args.seed + 1))
        _show(f"sampled at temperature {temperature}", samples[temperature])
    plot = plot_curves(os.path.join(args.out, "char_rnn_loss.png"), {"minibatch loss": losses},
                       "char_rnn: training loss", logy=False)
    return {"first_loss": losses[0], "final_loss": final, "last_losses": losses[-20:], "uniform_loss": uniform,
            "sample_before": before, "samples": samples, "alphabet": set(chars), "graph": graph,
            "plots": [plot] if plot else []}


if __name__ == "__main__":
    # glibc keeps the memory one training step frees for the next (a whole-process setting: only when run
    # as a script, never when imported)
    mg.backends.cpu.keep_freed_memory()
    main()
