"""A character-level name model, makemore style: an embedding table, a tanh MLP, cross-entropy, sampling.

The network of the second makemore lecture, written as a PyTorch user writes it, with only the import
changed: each training example is three characters of context and the character that follows; the
context's characters are looked up in an embedding table, concatenated, passed through a tanh hidden layer
and turned into logits over the alphabet; the loss is the cross-entropy of the next character. New names are
sampled one character at a time with ``mg.multinomial`` from the softmax of the logits, drawn from a seeded
``mg.Generator`` so that a run repeats exactly. The words are ``examples/data/names.txt`` (848 given names).

It prints the training and validation loss against the loss of guessing uniformly, the names sampled
before and after training, and writes the graph of one training step and the loss curve.

    python examples/char_model.py [--epochs 4000] [--seed 0] [--out out/char_model]
"""
import math
import os

import microgradnp as mg
import microgradnp.nn.functional as F
from microgradnp import nn

from _support import Progress, banner, parse_args, plot_curves, write_graph

WORDS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "names.txt")
BLOCK_SIZE = 3   # characters of context
EMBEDDING = 10   # size of each character's embedding
HIDDEN = 200     # tanh units
BATCH = 32


def read_words(path=WORDS):
    """The word list, one lower-case word a line."""
    with open(path, encoding="utf-8") as handle:
        return [line.strip() for line in handle if line.strip()]


def build_dataset(words, stoi):
    """(contexts, next characters): every position of every word, '.' (index 0) padding and ending it."""
    contexts, targets = [], []
    for word in words:
        context = [0] * BLOCK_SIZE
        for ch in word + ".":
            contexts.append(context)
            targets.append(stoi[ch])
            context = context[1:] + [stoi[ch]]
    return mg.tensor(contexts), mg.tensor(targets)


class NameModel(nn.Module):
    """Embedding table -> concatenated context -> tanh hidden layer -> logits over the alphabet."""

    def __init__(self, vocab_size):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, EMBEDDING)
        self.hidden = nn.Linear(BLOCK_SIZE * EMBEDDING, HIDDEN)
        self.output = nn.Linear(HIDDEN, vocab_size)

    def forward(self, contexts):
        """Logits of the next character for each row of ``contexts`` (batch, BLOCK_SIZE)."""
        emb = self.embedding(contexts)                     # (batch, BLOCK_SIZE, EMBEDDING)
        h = mg.tanh(self.hidden(emb.view(emb.shape[0], -1)))
        return self.output(h)


@mg.no_grad()
def sample(model, itos, count, generator):
    """``count`` names drawn one character at a time from the model's softmax."""
    model.eval()
    names = []
    for _ in range(count):
        context, out = [0] * BLOCK_SIZE, []
        while True:
            probs = F.softmax(model(mg.tensor([context])), dim=1)
            ix = mg.multinomial(probs, num_samples=1, generator=generator).item()
            if ix == 0 or len(out) >= 20:
                break
            out.append(itos[ix])
            context = context[1:] + [ix]
        names.append("".join(out))
    model.train()
    return names


def main(argv=None):
    """Train, sample, report; returns the numbers the printout shows, for tests and notebooks."""
    args = parse_args(argv, __doc__, "char_model", epochs=4000)
    words = read_words()
    chars = sorted(set("".join(words)))
    stoi = {ch: i + 1 for i, ch in enumerate(chars)}
    stoi["."] = 0
    itos = {i: ch for ch, i in stoi.items()}
    vocab_size = len(stoi)

    generator = mg.Generator().manual_seed(args.seed)
    order = mg.randperm(len(words), generator=generator).tolist()
    split = int(0.9 * len(words))
    Xtr, Ytr = build_dataset([words[i] for i in order[:split]], stoi)
    Xval, Yval = build_dataset([words[i] for i in order[split:]], stoi)

    banner(f"A makemore-style MLP on {len(words)} names: {Xtr.shape[0]} training and {Xval.shape[0]} "
           f"validation examples, {vocab_size} characters")
    mg.manual_seed(args.seed)
    model = NameModel(vocab_size)
    print(f"  {sum(p.nelement() for p in model.parameters())} parameters; uniform guessing scores "
          f"log({vocab_size}) = {math.log(vocab_size):.4f}")
    before = sample(model, itos, 5, mg.Generator().manual_seed(args.seed + 1))
    print(f"  sampled before training: {', '.join(before)}")

    optimizer = mg.optim.SGD(model.parameters(), lr=0.1)
    progress, losses, graph = Progress(args.epochs, label="step"), [], None
    for step in range(1, args.epochs + 1):
        ix = mg.randint(0, Xtr.shape[0], (BATCH,), generator=generator)
        loss = F.cross_entropy(model(Xtr[ix]), Ytr[ix])
        if graph is None:
            graph = write_graph(loss, args.out, "char_model_step", params=dict(model.named_parameters()))
        optimizer.zero_grad()
        loss.backward()
        if step == int(0.75 * args.epochs):
            for group in optimizer.param_groups:  # the lecture's learning-rate decay, late in training
                group["lr"] = 0.01
        optimizer.step()
        losses.append(loss.item())
        progress(step, loss=losses[-1])

    with mg.no_grad():
        train_loss = F.cross_entropy(model(Xtr), Ytr).item()
        val_loss = F.cross_entropy(model(Xval), Yval).item()
    banner("After training")
    print(f"  training loss {train_loss:.4f}, validation loss {val_loss:.4f} "
          f"(uniform guessing: {math.log(vocab_size):.4f})")
    after = sample(model, itos, 20, mg.Generator().manual_seed(args.seed + 1))
    print(f"  sampled: {', '.join(after)}")
    plot = plot_curves(os.path.join(args.out, "char_model_loss.png"), {"minibatch loss": losses},
                       "char_model: training loss", logy=False)
    return {"train_loss": train_loss, "val_loss": val_loss, "uniform_loss": math.log(vocab_size),
            "samples_before": before, "samples": after, "alphabet": set(chars), "words": set(words),
            "graph": graph, "plots": [plot] if plot else []}


if __name__ == "__main__":
    main()
