"""``mg.backends.cpu``: how the process's C allocator treats the memory a training step frees.

A recorded graph holds every op's output until ``backward`` frees it, so each step allocates and frees
the same tens of megabytes. With its default settings, glibc's ``malloc`` gives freed memory at the top
of its heap back to the operating system (and serves large arrays with fresh ``mmap`` calls), so the next
step takes every page back with a page fault: in a convolutional or recurrent network that can be half of
the step's time. ``keep_freed_memory()`` asks glibc to keep such memory for reuse instead, as PyTorch's
caching allocators do on GPUs. It changes the whole process (every NumPy array in it), so it is a choice
the program makes, never done on import; the process then keeps its largest step's memory until it ends.
"""
import ctypes
import ctypes.util

# glibc's mallopt parameters (malloc.h) and their defaults
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_DEFAULT_TRIM_THRESHOLD = 128 * 1024
_DEFAULT_MMAP_THRESHOLD = 128 * 1024
_KEPT_TRIM_THRESHOLD = 1 << 30        # keep up to 1 GiB of freed memory at the heap's top
_KEPT_MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest: arrays below it come from the (reused) heap


def _glibc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
    except OSError:
        return None
    # only glibc has gnu_get_libc_version; musl, macOS and Windows allocators take no such settings
    return libc if hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt") else None


def keep_freed_memory(enabled=True):
    """Keep memory freed by one step for the next (``True``), or return to glibc's defaults (``False``).

    Returns True when the setting was applied, False where the C library is not glibc (nothing changes
    there). See the module's docstring for what it costs and why it is not the default.
    """
    libc = _glibc()
    if libc is None:
        return False
    trim, mmap = ((_KEPT_TRIM_THRESHOLD, _KEPT_MMAP_THRESHOLD) if enabled
                  else (_DEFAULT_TRIM_THRESHOLD, _DEFAULT_MMAP_THRESHOLD))
    libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(libc.mallopt(_M_TRIM_THRESHOLD, trim)) and bool(libc.mallopt(_M_MMAP_THRESHOLD, mmap))
