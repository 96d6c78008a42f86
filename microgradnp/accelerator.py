"""``mg.accelerator``: PyTorch's device-agnostic accelerator queries, answered for a CPU-only library."""


def is_available():
    """False: microgradnp computes with NumPy on the CPU."""
    return False


def current_accelerator(check_available=False):
    """None: there is no accelerator."""
    return None


def device_count():
    """0: there are no accelerators."""
    return 0
