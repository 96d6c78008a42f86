"""``mg.cuda``: what PyTorch's ``torch.cuda`` answers on a machine without a GPU.

``is_available()`` is False, so ``"cuda" if mg.cuda.is_available() else "cpu"`` picks the CPU; seeding
is accepted and does nothing (there is no CUDA generator), as in PyTorch without CUDA. Anything that
needs a GPU raises, saying that microgradnp computes with NumPy on the CPU.
"""
from .devices import check_device


def is_available():
    """False: microgradnp computes with NumPy on the CPU."""
    return False


def device_count():
    """0: there are no CUDA devices here."""
    return 0


def manual_seed(seed):
    """Accepted and ignored, as PyTorch does without CUDA (seed the CPU with ``mg.manual_seed``)."""


def manual_seed_all(seed):
    """Accepted and ignored, as PyTorch does without CUDA (seed the CPU with ``mg.manual_seed``)."""


def synchronize(device=None):
    """Nothing to wait for: every computation here has finished when its call returns."""


def empty_cache():
    """Nothing to free: there is no GPU memory cache."""


def current_device():
    """Raises: there is no current CUDA device."""
    check_device("cuda", "cuda.current_device")
