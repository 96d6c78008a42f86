"""The ``blas_axpy`` fixture: SciPy's BLAS ``axpy`` as this process loaded it, and whether it rounds once.

``nn.optim.scaled_add`` computes ``p + alpha * g`` with it, to round each element once as PyTorch's
``add_(g, alpha=alpha)`` does. Whether it does depends on the BLAS kernel loaded at run time, not on SciPy:
OpenBLAS's SkylakeX kernel fuses every element, but its Haswell kernel (picked on many AVX2 CPUs, and
wherever ``OPENBLAS_CORETYPE=Haswell`` asks for it) fuses whole blocks of 32 floats or 16 doubles and
finishes the last, partial block with a separate multiply and add, which round twice. So the tests assert
bit-for-bit equality with the fused result (and with PyTorch) where ``rounds_once(dtype)`` says the kernel
fuses every element, and everywhere that the update is what the loaded ``axpy`` itself gives.
"""
import numpy as np
import pytest


class BlasAxpy:
    """SciPy's ``saxpy``/``daxpy``, called directly (not through the library under test)."""

    def __init__(self):
        try:
            from scipy.linalg.blas import daxpy, saxpy
        except ImportError:
            self._axpy = {}
        else:
            self._axpy = {np.dtype(np.float32): saxpy, np.dtype(np.float64): daxpy}
        self._rounds_once = {}

    @property
    def available(self):
        return bool(self._axpy)

    def add(self, x, y, alpha):
        """``x + alpha * y`` computed by the BLAS, as a new array laid out like ``x``."""
        out = x.copy(order="K")
        y_like_out = np.empty_like(out)  # axpy pairs elements in memory order: give y out's layout
        y_like_out[...] = y
        flat = out.ravel(order="K")
        result = self._axpy[out.dtype](y_like_out.ravel(order="K"), flat, flat.size, alpha)
        flat[...] = result
        return out

    def rounds_once(self, dtype):
        """Whether this BLAS's axpy rounds every element of ``dtype`` arrays once (a fused multiply-add)."""
        dtype = np.dtype(dtype)
        if dtype not in self._axpy:
            return False
        if dtype not in self._rounds_once:
            self._rounds_once[dtype] = self._probe(self._axpy[dtype], dtype)
        return self._rounds_once[dtype]

    @staticmethod
    def _probe(axpy, dtype):
        # y + a * x with a = x = 1 + 2**-k and y = -1, each pair scaled by its own sign and power of two:
        # the product 1 + 2**(1-k) + 2**-2k, rounded first, loses its last term, which the exact result
        # 2**(1-k) + 2**-2k keeps (it fits in the dtype), so every element tells one rounding from two
        k = np.finfo(dtype).nmant // 2 + 2
        alpha = 1.0 + 2.0 ** -k
        rng = np.random.default_rng(0)
        # every length up to 256 (every remainder a kernel working in blocks of up to 256 leaves to other
        # code), at several alignments, and long vectors, which a BLAS may split between threads
        for n in [*range(1, 257), 4099, 100_003]:
            scale = np.ldexp(rng.choice([-1.0, 1.0], n), rng.integers(-20, 21, n)).astype(dtype)
            want = scale * dtype.type(2.0 ** (1 - k) + 2.0 ** (-2 * k))
            for offset in range(4):  # the same pairs, with x and y at other distances from an alignment
                x, y = np.empty(n + 3, dtype)[3 - offset:3 - offset + n], np.empty(n + 3, dtype)[offset:offset + n]
                x[...], y[...] = scale * dtype.type(alpha), -scale
                if not np.array_equal(axpy(x, y, n, alpha), want):
                    return False
        return True


_BLAS_AXPY = BlasAxpy()


@pytest.fixture(scope="session")
def blas_axpy():
    return _BLAS_AXPY


def pytest_terminal_summary(terminalreporter):
    # say which assertions the SGD tests made here: bit for bit with PyTorch, or only with the BLAS
    probed = _BLAS_AXPY._rounds_once
    if probed:
        verdicts = ", ".join(f"{dtype}: {'yes' if probed[dtype] else 'no'}" for dtype in sorted(probed, key=str))
        terminalreporter.write_line(f"tests/nn: SciPy's BLAS axpy rounds every element once ({verdicts}); "
                                    "SGD is checked bit for bit against PyTorch only where it does")
