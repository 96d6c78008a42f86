"""The global random generator behind rand/randn/randint, dropout and shuffling."""
import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed):
    """Seed the global generator so runs repeat exactly."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def default_generator():
    """The global ``numpy.random.Generator`` (replaced by ``manual_seed``)."""
    return _generator


def get_generator(generator=None):
    """``generator`` if given (a Generator or an int seed), else the global one."""
    if generator is None:
        return _generator
    if isinstance(generator, (int, np.integer)):
        return np.random.default_rng(int(generator))
    return generator
