"""``mg.backends.cudnn``: the cuDNN flags scripts set for reproducibility; settable, and without effect here.

``deterministic``, ``benchmark`` and ``enabled`` are plain module attributes, as in PyTorch, so
``mg.backends.cudnn.deterministic = True`` works; NumPy on the CPU gives the same results either way.
"""
enabled = True
deterministic = False
benchmark = False
allow_tf32 = True


def is_available():
    """False: there is no cuDNN here."""
    return False


def version():
    """None: there is no cuDNN here."""
    return None
