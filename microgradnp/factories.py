"""Functions that make new tensors."""
import warnings

import numpy as np

from . import dtypes
from .capture import replayable
from .devices import check_device
from .random import get_generator, samples
from .tensor import Tensor, as_array


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(int(s) for s in size)


def _made(make, args, dtype, requires_grad):
    """A Tensor of ``make(*args)`` (cast to ``dtype`` unless None). A compiled step's replay makes the array
    again at every call (``replayable``): a fresh one, as eager makes, and fresh samples for the random
    factories, rather than the captured array."""
    return Tensor(replayable(_made_array, make, args, dtype), requires_grad=requires_grad)


def _made_array(make, args, dtype):
    array = make(*args)
    return array if dtype is None else array.astype(dtype, copy=False)


def tensor(data, dtype=None, requires_grad=False, device=None):
    """A new tensor (a copy of ``data``): Python floats become the default dtype, arrays keep theirs.

    The copy records no graph: a list holding tensors that require grad is refused (``mg.stack`` joins
    them and keeps their gradients), and copying such a tensor warns, as in PyTorch.
    """
    check_device(device, "tensor")
    if isinstance(data, (list, tuple)):
        _refuse_tensors_with_graph(data)
    elif isinstance(data, Tensor) and data.requires_grad:
        warnings.warn("To copy construct from a tensor, it is recommended to use sourceTensor.clone().detach() "
                      "or sourceTensor.clone().detach().requires_grad_(True), rather than mg.tensor(sourceTensor); "
                      "the copy does not record the graph", UserWarning, stacklevel=2)
    data = data._array if isinstance(data, Tensor) else data  # (a computed tensor's values, read at each replay)
    return Tensor(replayable(_copied, data, dtype), requires_grad=requires_grad)


def _copied(data, dtype):
    return np.array(as_array(data, dtype), copy=True)


def _refuse_tensors_with_graph(items):
    for item in items:
        if isinstance(item, Tensor):
            if item.requires_grad:
                raise TypeError("tensor: the list holds tensors that require grad, and mg.tensor(...) copies values "
                                "without the graph, so no gradient would reach them; use mg.stack([...]) (or "
                                "mg.cat) to join tensors and keep their gradients, or detach() them first")
        elif isinstance(item, (list, tuple)):
            _refuse_tensors_with_graph(item)


def from_numpy(array):
    """A tensor sharing memory with ``array`` (its dtype kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor(array)


def zeros(*size, dtype=None, requires_grad=False, device=None):
    """A tensor of zeros."""
    check_device(device, "zeros")
    return _made(np.zeros, (_shape(size), dtype or dtypes.get_default_dtype()), None, requires_grad)


def ones(*size, dtype=None, requires_grad=False, device=None):
    """A tensor of ones."""
    check_device(device, "ones")
    return _made(np.ones, (_shape(size), dtype or dtypes.get_default_dtype()), None, requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    """A tensor filled with ``fill_value``."""
    check_device(device, "full")
    return _made(np.full, (tuple(size), fill_value, dtype or as_array(fill_value).dtype), None, requires_grad)


def empty(*size, dtype=None, requires_grad=False, device=None):
    """An uninitialised tensor."""
    check_device(device, "empty")
    return _made(np.empty, (_shape(size), dtype or dtypes.get_default_dtype()), None, requires_grad)


def _like(t):
    return t._array if isinstance(t, Tensor) else np.asarray(t)


def zeros_like(t, dtype=None, requires_grad=False, device=None):
    """Zeros with the shape and dtype of ``t``."""
    check_device(device, "zeros_like")
    return _made(np.zeros_like, (_like(t), dtype), None, requires_grad)


def ones_like(t, dtype=None, requires_grad=False, device=None):
    """Ones with the shape and dtype of ``t``."""
    check_device(device, "ones_like")
    return _made(np.ones_like, (_like(t), dtype), None, requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False, device=None):
    """``fill_value`` with the shape and dtype of ``t``."""
    check_device(device, "full_like")
    return _made(np.full_like, (_like(t), fill_value, dtype), None, requires_grad)


def empty_like(t, dtype=None, requires_grad=False, device=None):
    """An uninitialised tensor with the shape and dtype of ``t``."""
    check_device(device, "empty_like")
    return _made(np.empty_like, (_like(t), dtype), None, requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    """Evenly spaced values in [start, end); integers stay int64, floats use the default dtype."""
    check_device(device, "arange")
    if end is None:
        start, end = 0, start
    if dtype is None and np.issubdtype(np.result_type(start, end, step), np.floating):
        dtype = dtypes.get_default_dtype()
    return _made(np.arange, (start, end, step), dtype, requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None):
    """``steps`` evenly spaced values from start to end inclusive."""
    check_device(device, "linspace")
    return _made(np.linspace, (start, end, steps), dtype or dtypes.get_default_dtype(), requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    """An identity matrix."""
    check_device(device, "eye")
    return _made(np.eye, (n, m), dtype or dtypes.get_default_dtype(), requires_grad)


def rand(*size, dtype=None, requires_grad=False, generator=None, device=None):
    """Uniform samples in [0, 1)."""
    check_device(device, "rand")
    return _made(samples, (generator, "random", _shape(size)), dtype or dtypes.get_default_dtype(), requires_grad)


def randn(*size, dtype=None, requires_grad=False, generator=None, device=None):
    """Standard normal samples."""
    check_device(device, "randn")
    return _made(samples, (generator, "standard_normal", _shape(size)), dtype or dtypes.get_default_dtype(),
                 requires_grad)


def randint(low, high=None, size=None, dtype=None, generator=None, requires_grad=False, device=None):
    """Integers in [low, high) (int64 unless ``dtype`` says otherwise): ``randint(high, size)`` or
    ``randint(low, high, size)``, as in PyTorch."""
    check_device(device, "randint")
    if size is None and isinstance(high, (tuple, list)):  # randint(high, size)
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing its size: randint(high, size) or randint(low, high, size)")
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    return _made(samples, (generator, "integers", low, high, _shape((size,))), dtype or np.int64, requires_grad)


def randperm(n, generator=None, device=None):
    """A random permutation of 0..n-1 (int64)."""
    check_device(device, "randperm")
    return _made(samples, (generator, "permutation", n), np.int64, False)


def _floating_like(input, dtype, name):
    dtype = np.dtype(dtype) if dtype is not None else _like(input).dtype
    if not dtypes.is_floating(dtype):
        raise RuntimeError(f"{name}: expected a floating point dtype, got {dtype} (pass dtype=mg.float32)")
    return dtype


def rand_like(input, dtype=None, requires_grad=False, generator=None, device=None):
    """Uniform samples in [0, 1) with the shape (and, unless ``dtype`` is given, the dtype) of ``input``."""
    check_device(device, "rand_like")
    dtype = _floating_like(input, dtype, "rand_like")
    return _made(samples, (generator, "random", _like(input).shape), dtype, requires_grad)


def randn_like(input, dtype=None, requires_grad=False, generator=None, device=None):
    """Standard normal samples with the shape (and, unless ``dtype`` is given, the dtype) of ``input``."""
    check_device(device, "randn_like")
    dtype = _floating_like(input, dtype, "randn_like")
    return _made(samples, (generator, "standard_normal", _like(input).shape), dtype, requires_grad)


def randint_like(input, low=0, high=None, dtype=None, requires_grad=False, generator=None, device=None):
    """Integers in [low, high) with the shape and dtype of ``input``: ``randint_like(x, high)`` or
    ``randint_like(x, low, high)``."""
    check_device(device, "randint_like")
    if high is None:
        low, high = 0, low
    return _made(samples, (generator, "integers", low, high, _like(input).shape), dtype or _like(input).dtype,
                 requires_grad)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, requires_grad=False, device=None):
    """Normal samples: ``normal(mean_tensor, std_tensor)`` (one per element, broadcast), a tensor with a
    number, or ``normal(mean, std, size)`` with numbers, as in PyTorch."""
    check_device(device, "normal")
    mean_array, std_array = _like(mean), _like(std)
    if size is None and mean_array.ndim == 0 and std_array.ndim == 0 and not (
            isinstance(mean, Tensor) or isinstance(std, Tensor)):
        raise TypeError("normal(): with a number for both mean and std, give the size: normal(mean, std, size)")
    if (std_array < 0).any():
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std_array.min()}")
    shape = _shape((size,)) if size is not None else np.broadcast_shapes(mean_array.shape, std_array.shape)
    if dtype is None:
        tensors = [a.dtype for a, v in ((mean_array, mean), (std_array, std)) if isinstance(v, Tensor)]
        dtype = np.result_type(*tensors) if tensors else dtypes.get_default_dtype()
    return _made(samples, (generator, "normal", mean_array, std_array, shape), dtype, requires_grad)


def bernoulli(input, p=None, *, generator=None):
    """0 or 1 for each element, 1 with probability ``input`` (or ``p``), in ``input``'s dtype."""
    return _made(_bernoulli_draws, (_like(input), None if p is None else _like(p), generator), None, False)


def _bernoulli_draws(input, p, generator):
    probs = input if p is None else np.broadcast_to(np.asarray(p, dtype=np.float64), input.shape)
    if ((probs < 0) | (probs > 1)).any() or np.isnan(probs).any():
        raise RuntimeError("bernoulli: expected all probabilities in [0, 1]")
    draws = get_generator(generator).random(probs.shape) < probs
    return draws.astype(input.dtype)


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Indices drawn from the categories of each row of ``input`` (weights, not necessarily normalised).

    1-D input gives ``num_samples`` indices, 2-D input a row of them per row; without replacement a
    category is drawn at most once (once the categories of nonzero weight are used up, the others follow,
    as in PyTorch). int64.
    """
    return _made(_multinomial_draws, (_like(input), num_samples, replacement, generator), None, False)


def _multinomial_draws(weights, num_samples, replacement, generator):
    if weights.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {tuple(weights.shape)}")
    if not dtypes.is_floating(weights.dtype):
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got {weights.dtype}")
    categories = weights.shape[-1]
    if num_samples <= 0:
        raise RuntimeError(f"multinomial: cannot sample n_sample <= 0 samples, got {num_samples}")
    if not replacement and num_samples > categories:
        raise RuntimeError(f"multinomial: cannot sample n_sample > prob_dist.size(-1) samples without "
                           f"replacement ({num_samples} > {categories})")
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or element < 0")
    rows = np.asarray(weights, dtype=np.float64).reshape(-1, categories)
    totals = rows.sum(axis=1)
    if (totals <= 0).any():
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of probabilities <= 0)")
    rng = get_generator(generator)
    if replacement:
        cdf = np.cumsum(rows, axis=1) / totals[:, None]
        uniform = rng.random((rows.shape[0], num_samples))
        drawn = np.stack([np.searchsorted(c, u, side="right") for c, u in zip(cdf, uniform)])
        drawn = np.minimum(drawn, categories - 1)  # u just below 1 against a cdf rounded below 1
    else:
        # PyTorch's way: the largest weight / Exp(1) keys; categories of weight 0 come last, as there
        keys = rows / rng.exponential(1.0, rows.shape)
        drawn = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    return drawn.astype(np.int64).reshape(weights.shape[:-1] + (num_samples,))
