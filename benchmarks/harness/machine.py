"""What the numbers were measured on, and the environment every benchmark child runs in."""
import datetime
import os
import platform
import subprocess
import sys

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# Set on some machines so that old OpenBLAS builds pick a safe kernel; they slow a current numpy, so the
# benchmark children run without them (both together) and report the kernel OpenBLAS then chooses.
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def child_environment():
    """The parent's environment with BLAS pinned to one thread and the OpenBLAS kernel overrides removed."""
    env = dict(os.environ)
    for name in THREAD_VARIABLES:
        env[name] = "1"
    for name in OPENBLAS_OVERRIDES:
        env.pop(name, None)
    return env


def openblas_overrides_in_parent():
    """``{name: value}`` of the OpenBLAS overrides set in this (the driver's) environment."""
    return {name: os.environ[name] for name in OPENBLAS_OVERRIDES if name in os.environ}


def limit_threads():
    """Pin every BLAS/OpenMP pool of this process to one thread (threadpoolctl when installed).

    Returns the threadpoolctl limiter (keep it alive) or None when threadpoolctl is missing; the
    environment variables set by ``child_environment`` already pin the pools at load time.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=1)


def blas_pools():
    """The BLAS/OpenMP pools loaded in this process, as threadpoolctl sees them (empty without it)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keys = ("internal_api", "version", "architecture", "num_threads", "threading_layer")
    return [{k: pool.get(k) for k in keys if pool.get(k) is not None} for pool in threadpool_info()]


def numpy_blas():
    """NumPy's BLAS as ``numpy.show_config`` reports it: name, version and its build configuration."""
    import numpy as np

    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except (TypeError, KeyError):  # numpy < 1.26 has no mode="dicts"
        return "unknown (numpy.show_config has no machine-readable form in this numpy)"
    text = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    config = blas.get("openblas configuration")
    return f"{text} ({config})" if config else text


def cpu_model():
    """The processor's model name and logical CPU count from /proc/cpuinfo (``platform`` as a fallback)."""
    try:
        with open("/proc/cpuinfo") as f:
            lines = f.read().splitlines()
    except OSError:
        return f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs"
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    flags = next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), [])
    vector = [f for f in ("avx512f", "avx2", "fma") if f in flags]
    name = names[0] if names else platform.machine()
    return f"{name}, {len(names) or os.cpu_count()} logical CPUs" + (f" ({', '.join(vector)})" if vector else "")


def describe():
    """Lines that say when and on what the benchmarks ran."""
    import numpy as np

    lines = [
        f"date:    {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"cpu:     {cpu_model()}",
        f"python:  {sys.version.split()[0]}   numpy: {np.__version__}   scipy: {_version('scipy')}   "
        f"torch: {_version('torch')}",
        f"blas:    {numpy_blas()}",
        f"code:    {source_revision()}",
    ]
    overrides = openblas_overrides_in_parent()
    if overrides:
        shown = ", ".join(f"{k}={v}" for k, v in overrides.items())
        lines.append(f"openblas overrides: {shown} set here; unset in the benchmark children")
    else:
        lines.append(f"openblas overrides: {' and '.join(OPENBLAS_OVERRIDES)} not set here (unset in the children "
                     f"in any case)")
    try:
        load = os.getloadavg()
        lines.append(f"load:    {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1/5/15 min) before the run")
    except OSError:
        pass
    return lines


def source_revision():
    """The git commit of the measured checkout, and whether the engine or nn had uncommitted changes."""
    def git(*args):
        return subprocess.run(["git", "-C", REPOSITORY, *args], capture_output=True, text=True, check=True).stdout

    try:
        commit = git("rev-parse", "--short", "HEAD").strip()
        changed = git("status", "--porcelain", "--", "microgradnp", "nn").strip()
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return f"commit {commit}" + (" + uncommitted changes in microgradnp/ or nn/" if changed else "")


def _version(package):
    # the version without importing the package here (torch's import takes seconds, and both load their
    # own thread pools); SciPy matters because microgradnp's optimizers use its BLAS when it is installed
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:
        return "unknown"
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"
