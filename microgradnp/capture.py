"""The step capture in progress (``mg.compile``), read by the apply paths: one global test per op.

``capture_state.active`` is None outside a capture. While a compiled step's first call runs, it is the
capture's tape, and every apply path (``apply.apply``, ``hot_path.apply1/2/3``) hands it each forward
call: ``out = capture_state.active.record_op(prim, args, kwargs, out)``, which records the call and
returns ``out`` as an ndarray (the conversion the apply path would make). ``replayable`` records the
NumPy work that library code does itself.

It is one slot for all threads, tested once per op: a per-thread slot (``threading.local``) would cost
every eager op more than an attribute load. Instead the tape knows its thread, and while a capture is
active each tap lets the calls of other threads through unrecorded; ``mg.compile`` runs one capture at a
time. Outside a capture this costs nothing. ``mg.autograd.graph`` re-exports ``capture_state`` and
``replayable`` with ``capturing``. Kept in its own module, with no imports, so that the tensor, its
methods, the factories and the apply paths can import it.
"""


class _CaptureState:
    """The step capture in progress (``mg.compile``), or None."""

    __slots__ = ("active", "listeners")


capture_state = _CaptureState()
capture_state.active = None
capture_state.listeners = []
"""Functions called with True when a capture starts and False when it ends (``nn.Module`` takes its slow
call path during a capture, to note each module called: its own eager path then tests nothing)."""

hooks_changed = [0]
"""Bumped whenever a hook is registered or removed (a module's forward or backward hook, a tensor's
``register_hook``; ``graph.note_hooks_changed``). A compiled step compares it with the count it last saw,
once per call, and only when it moved looks for the hooks that a replay would skip."""


def replayable(fn, *args, specialize=None):
    """``fn(*args)``, recorded as one step of a compiled step's replay while one is being captured.

    For library code that computes with NumPy directly on a step's arrays (an optimizer's update, a
    dropout mask, a slope array): ``fn`` must be a function of ``args`` (arrays, numbers, objects it
    reads afresh each call) and of the state it owns, so that calling it again with the replay's arrays
    does what the eager call did. ``specialize``, if given, is called once at the end of the capture
    for a faster function to replay instead of ``fn`` (one that checks its own assumptions and falls
    back to ``fn`` when they fail), or None. Outside a capture this costs one call and one attribute test.
    """
    tape = capture_state.active
    if tape is None:
        return fn(*args)
    tape.before_call()
    out = fn(*args)
    tape.record_call(fn, args, out, specialize)
    return out
