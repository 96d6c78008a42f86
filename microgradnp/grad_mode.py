"""Thread-local grad mode: ``no_grad``, ``enable_grad`` and ``set_grad_enabled``.

Each works as a context manager and as a decorator, as in PyTorch.
"""
import functools
import threading


class _State(threading.local):
    enabled = True  # the class attributes are each thread's starting values
    inference = False


_state = _State()


def is_grad_enabled():
    """Return True when operations are being recorded for backward in this thread."""
    return _state.enabled


def set_enabled(enabled):
    """Switch recording on or off in this thread; returns the previous setting (to restore it after)."""
    previous = _state.enabled
    _state.enabled = enabled
    return previous


class _GradModeContext:
    """Base for grad-mode switches usable with ``with`` and as decorators."""

    _enabled = True

    def __enter__(self):
        self._previous = is_grad_enabled()
        set_enabled(self._enabled)
        return self

    def __exit__(self, *exc):
        set_enabled(self._previous)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradModeContext):
    """Context manager/decorator: record nothing, so tensors made inside carry no graph."""

    _enabled = False


class enable_grad(_GradModeContext):
    """Context manager/decorator: record operations even inside ``no_grad``."""

    _enabled = True


class set_grad_enabled(_GradModeContext):
    """Switch recording on or off; works as a plain call, a context manager and a decorator."""

    def __init__(self, mode):
        self._enabled = bool(mode)
        self._previous = is_grad_enabled()
        set_enabled(self._enabled)

    def __enter__(self):
        return self

    def __call__(self, fn):
        set_enabled(self._previous)
        mode = self._enabled

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


class inference_mode(_GradModeContext):
    """PyTorch's ``inference_mode``: here the same as ``no_grad`` (``mode=False`` leaves grad mode as it is).

    PyTorch's inference mode also skips version counting for the tensors made inside; microgradnp's
    ``no_grad`` is already as cheap as it gets, so the two are one. Works as ``with``, as
    ``@inference_mode()`` and as ``@inference_mode``.
    """

    def __new__(cls, mode=True):
        if callable(mode):  # used bare, as a decorator: @inference_mode
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode=True):
        self.mode = bool(mode)

    def __enter__(self):
        self._previous = is_grad_enabled()
        self._previous_inference = _state.inference
        if self.mode:
            set_enabled(False)
            _state.inference = True
        return self

    def __exit__(self, *exc):
        set_enabled(self._previous)
        _state.inference = self._previous_inference
        return False

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return fn(*args, **kwargs)

        return wrapper


def is_inference_mode_enabled():
    """True inside ``inference_mode()`` (where, as inside ``no_grad``, nothing is recorded)."""
    return _state.inference
