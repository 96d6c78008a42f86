"""Random numbers: ``mg.Generator`` (PyTorch's generator object) and the global one behind ``manual_seed``.

A ``Generator`` draws from a NumPy ``PCG64`` bit generator, so a seed repeats exactly here, but the
numbers differ from PyTorch's (its generator is a Mersenne Twister with its own sampling methods).
Everywhere ``generator=`` is accepted, it takes a ``mg.Generator``, a ``numpy.random.Generator`` or an
int seed.
"""
import json
import secrets

import numpy as np

from .capture import replayable


class Generator:
    """PyTorch's ``Generator``: ``mg.Generator().manual_seed(42)`` gives a stream of its own.

    ``device`` may only be the CPU. ``get_state()`` / ``set_state()`` save and restore the stream (as a
    uint8 array of the NumPy bit generator's state, never pickled).
    """

    def __init__(self, device="cpu"):
        if str(device).partition(":")[0] != "cpu":
            raise RuntimeError(f"Generator: device {str(device)!r} is not available: microgradnp computes with "
                               f"NumPy on the CPU")
        self.device = device
        self.seed()

    def manual_seed(self, seed):
        """Restart the stream from ``seed`` (an int); returns the generator, so it can be chained."""
        seed = int(seed)
        self._initial_seed = seed
        self.numpy_generator = np.random.default_rng(seed % 2**64 if seed < 0 else seed)
        return self

    def seed(self):
        """Restart the stream from a fresh random seed, and return that seed."""
        self.manual_seed(secrets.randbits(63))
        return self._initial_seed

    def initial_seed(self):
        """The seed the current stream started from."""
        return self._initial_seed

    def get_state(self):
        """The stream's state, as a uint8 ``numpy.ndarray`` (``set_state`` takes it back)."""
        text = json.dumps({"seed": self._initial_seed, "state": self.numpy_generator.bit_generator.state})
        return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).copy()

    def set_state(self, state):
        """Restore a state returned by ``get_state`` (an array or a tensor of uint8); returns the generator."""
        data = json.loads(bytes(np.asarray(state, dtype=np.uint8)).decode("utf-8"))
        self._initial_seed = data["seed"]
        self.numpy_generator = np.random.default_rng()
        self.numpy_generator.bit_generator.state = data["state"]
        return self

    def __repr__(self):
        return f"<microgradnp.Generator, initial seed {self._initial_seed}>"


default_generator = Generator()


def manual_seed(seed):
    """Seed the global generator (behind ``rand``, ``randn``, initialisation, dropout, shuffling) so runs repeat.

    Returns ``mg.default_generator``, as PyTorch does.
    """
    return default_generator.manual_seed(seed)


def seed():
    """Seed the global generator from a fresh random seed, and return that seed."""
    return default_generator.seed()


def initial_seed():
    """The seed the global generator's current stream started from."""
    return default_generator.initial_seed()


def get_rng_state():
    """The global generator's state (``set_rng_state`` takes it back)."""
    return default_generator.get_state()


def set_rng_state(state):
    """Restore the global generator's state from ``get_rng_state()``."""
    default_generator.set_state(state)


def get_generator(generator=None):
    """The ``numpy.random.Generator`` to draw from: the global one for None, the stream of a ``mg.Generator``,
    a ``numpy.random.Generator`` itself, or a new one seeded with an int."""
    if generator is None:
        return default_generator.numpy_generator
    if isinstance(generator, Generator):
        return generator.numpy_generator
    if isinstance(generator, (int, np.integer)):
        return np.random.default_rng(int(generator))
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"generator: expected a mg.Generator, a numpy.random.Generator or an int seed, got "
                    f"{type(generator).__name__}")


def samples(generator, method, *parameters):
    """``get_generator(generator).method(*parameters)``: the generator looked up at each call (None: the
    global one, whose stream ``manual_seed`` restarts)."""
    return getattr(get_generator(generator), method)(*parameters)


def draw(generator, method, *parameters):
    """``samples(generator, method, *parameters)``, drawn again at every call of a compiled step's replay
    (the generator advancing as an eager step advances it), instead of kept as captured."""
    return replayable(samples, generator, method, *parameters)
