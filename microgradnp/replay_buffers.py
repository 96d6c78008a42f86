"""Which arrays of a compiled step's replay live in preallocated buffers, shared by liveness.

A replay runs the same steps on arrays of the same shapes at every call, so the memory each step's result
needs can be set aside once. ``plan_buffers`` walks the replay's steps in order, like a register
allocator: a step that can write into a given array (a ufunc, or a function with an ``out=`` variant)
takes a buffer of its result's shape, dtype and memory order from a pool; the buffer goes back to the pool
after the last step that reads the result, or any view of it, so a later step reuses it. The replay then
allocates nothing for those steps, and its working set stays small.

What never goes into a shared buffer: an array that leaves the replay (the step's result, a leaf's
gradient that is accumulated into), and an array handed to library code that may keep it (the arguments
of ``replayable`` steps, a leaf's new ``.grad``): those get a buffer of their own, or none.
"""
import numpy as np


class BufferStep:
    """One replay step that can write its outputs into given arrays.

    ``outputs`` are the arrays the step returned while captured (``None`` where an output cannot take a
    buffer); ``in_place`` says whether an output may share memory with an input that dies at this step
    (true of elementwise ufuncs, whose every element is computed from the same elements of the inputs).
    """

    __slots__ = ("outputs", "in_place")

    def __init__(self, outputs, in_place):
        self.outputs = outputs
        self.in_place = in_place


def _root(array):
    """The array that owns ``array``'s memory (``array`` itself unless it is a view)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _layout(array):
    return "C" if array.flags.c_contiguous else "F" if array.flags.f_contiguous else None


def plan_buffers(lines, steps, arrays, pinned, escaping):
    """Buffers for the outputs of ``steps``, shared between outputs whose lifetimes do not overlap.

    Args:
        lines: the replay's steps in order, each ``(targets, reads)`` (names).
        steps: line position -> ``BufferStep``, for the lines that can write into buffers.
        arrays: name -> the array it held while captured (views included: they keep their root alive).
        pinned: names read by code that may keep the array past the step (each gets a buffer of its own,
            never shared, or none).
        escaping: names whose arrays leave the replay (no buffer at all).

    Returns:
        ``({line position: tuple of buffers or None per output}, bytes allocated)``.
    """
    groups = {}  # id(root) -> the names holding its memory
    for name, array in arrays.items():
        if type(array) is np.ndarray:
            groups.setdefault(id(_root(array)), []).append(name)
    never_freed = set()
    forbidden = set()
    for root, names in groups.items():
        if any(n in escaping for n in names):
            forbidden.add(root)
        if any(n in pinned for n in names):
            never_freed.add(root)
    last_read = {}  # id(root) -> the last line position reading it
    for position, (_, reads) in enumerate(lines):
        for name in reads:
            array = arrays.get(name)
            if type(array) is np.ndarray:
                last_read[id(_root(array))] = position
    dies_at = {}  # line position -> the roots read there for the last time
    for root, position in last_read.items():
        if root not in never_freed:
            dies_at.setdefault(position, []).append(root)

    pool = {}  # (shape, dtype, layout) -> free buffers
    owned = {}  # id(root) -> its buffer
    allocated = 0
    plan = {}

    def release(position):
        for root in dies_at.get(position, ()):
            buffer = owned.pop(root, None)
            if buffer is not None:
                pool.setdefault((buffer.shape, buffer.dtype, _layout(buffer)), []).append(buffer)

    def acquire(output):
        nonlocal allocated
        root = id(output)
        layout = _layout(output)
        if (type(output) is not np.ndarray or output.base is not None or layout is None or root in forbidden
                or not output.flags.writeable or root in owned):
            return None
        free = None if root in never_freed else pool.get((output.shape, output.dtype, layout))
        if free:
            buffer = free.pop()
        else:
            buffer = np.empty_like(output)  # (the same memory order as the eager output)
            allocated += buffer.nbytes
        if root not in last_read and root not in never_freed:  # read by no later step: free again at once
            pool.setdefault((buffer.shape, buffer.dtype, layout), []).append(buffer)
        else:
            owned[root] = buffer
        return buffer

    for position in range(len(lines)):
        step = steps.get(position)
        if step is None:
            release(position)
            continue
        if step.in_place:
            release(position)
            plan[position] = tuple(None if o is None else acquire(o) for o in step.outputs)
        else:
            plan[position] = tuple(None if o is None else acquire(o) for o in step.outputs)
            release(position)
    return plan, allocated
