"""``mg.backends.mps``: Apple's GPU backend is not available here."""


def is_available():
    """False: microgradnp computes with NumPy on the CPU."""
    return False


def is_built():
    """False: microgradnp has no MPS backend."""
    return False
