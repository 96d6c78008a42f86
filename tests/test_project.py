"""The project's promises about itself: CI runs what the README says, and the engine never needs nn."""
import ast
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _readme_commands():
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```bash\n(.*?)```", readme, re.S).group(1)
    return [line for line in first_block.splitlines() if line and not line.startswith("#")]


def test_readme_first_screen_has_a_demo_and_a_test_command():
    demo, tests = _readme_commands()
    assert "examples/" in demo and "pip install" in demo
    assert "pytest" in tests and "pip install" in tests


def test_readme_commands_each_make_their_own_fresh_environment():
    # run in the same folder one after the other, the second must not reuse the first one's venv
    demo, tests = _readme_commands()
    folders = [re.search(r"python3 -m venv (\S+)", command).group(1) for command in (demo, tests)]
    assert folders[0] != folders[1], folders
    assert all(f". {folder}/bin/activate" in command for folder, command in zip(folders, (demo, tests)))


def test_ci_runs_the_readme_install_step_and_test_command():
    _, tests = _readme_commands()
    steps = [s.strip() for s in tests.split("&&")]
    install = next(s for s in steps if s.startswith("pip install"))
    test_command = steps[-1]
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert install in ci_lines
    assert test_command in ci_lines
    assert ci_lines.index(install) < ci_lines.index(test_command)


def test_ci_also_runs_the_readme_demo_command_after_its_install_step():
    demo, _ = _readme_commands()
    steps = [s.strip() for s in demo.split("&&")]
    install = next(s for s in steps if s.startswith("pip install"))
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert install in ci_lines and steps[-1] in ci_lines
    assert ci_lines.index(install) < ci_lines.index(steps[-1])


def test_readme_demo_script_exists():
    demo, _ = _readme_commands()
    script = re.search(r"python (examples/\S+\.py)", demo).group(1)
    assert (ROOT / script).is_file()


def test_engine_never_imports_nn_at_module_level():
    offenders = []
    for path in (ROOT / "microgradnp").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in tree.body:  # module level only: lazy imports inside functions are allowed
            if isinstance(node, ast.Import) and any(a.name == "nn" or a.name.startswith("nn.") for a in node.names):
                offenders.append(str(path))
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "nn":
                offenders.append(str(path))
    assert offenders == []


def test_importing_the_engine_does_not_load_nn():
    code = "import sys, microgradnp; assert 'microgradnp.nn' not in sys.modules, 'nn was imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_nn_is_the_same_module_through_every_name():
    import microgradnp as mg
    import microgradnp.nn.functional as F
    import microgradnp.optim.lr_scheduler as lr_scheduler
    from microgradnp import nn
    from microgradnp.nn import Linear
    from microgradnp.optim import SGD
    from microgradnp.optim.lr_scheduler import StepLR
    from microgradnp.utils.data import DataLoader

    assert mg.nn is nn and nn.functional is F and Linear is nn.Linear and DataLoader is mg.utils.data.DataLoader
    assert SGD is nn.optim.SGD and mg.optim.SGD is SGD and StepLR is nn.optim.lr_scheduler.StepLR
    assert lr_scheduler.StepLR is StepLR and mg.optim.lr_scheduler.StepLR is StepLR
    assert set(mg.optim.__all__) == set(nn.optim.__all__)


IMPORTS_PYTORCH_USERS_TYPE = """
import microgradnp as mg
import microgradnp.nn.functional as F
from microgradnp import nn
from microgradnp.nn import Linear
from microgradnp.optim import SGD
from microgradnp.optim.lr_scheduler import StepLR
from microgradnp.utils.data import DataLoader
assert nn.Linear is Linear and isinstance(nn.ReLU(), nn.Module) and F.relu is nn.functional.relu
"""


def test_a_learners_own_nn_py_does_not_shadow_microgradnp_nn(tmp_path):
    (tmp_path / "nn.py").write_text("raise SystemExit('the learner nn.py was imported')\n")
    (tmp_path / "optim.py").write_text("raise SystemExit('the learner optim.py was imported')\n")
    result = subprocess.run([sys.executable, "-c", IMPORTS_PYTORCH_USERS_TYPE], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_imports_work_from_a_checkout_that_is_not_installed(tmp_path):
    # without the installed package's import hooks, only the checkout on sys.path
    code = ("import sys\n"
            "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in type(f).__module__.lower()]\n"
            "sys.path_hooks[:] = [h for h in sys.path_hooks if 'editable' not in getattr(h, '__module__', '')]\n"
            f"sys.path.insert(0, {str(ROOT)!r})\n"
            + IMPORTS_PYTORCH_USERS_TYPE
            + f"assert mg.__file__.startswith({str(ROOT)!r}) and nn.__file__.startswith({str(ROOT / 'nn')!r})\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_pyproject_installs_every_package_folder_under_microgradnp():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11 and later

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    def packages(pattern, prefix=""):
        return {prefix + str(p.parent.relative_to(ROOT)).replace("/", ".") for p in ROOT.glob(pattern)}

    folders = packages("microgradnp/**/__init__.py") | packages("nn/**/__init__.py", "microgradnp.")
    assert set(config["packages"]) == folders
    assert config["package-dir"] == {"microgradnp.nn": "nn"}


def test_nn_reads_no_private_tensor_attribute():
    # nn uses the engine's public API only: arrays and gradients through array_of / grad_of, not the slots
    offenders = []
    for path in sorted((ROOT / "nn").rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\.(_array|_grad)\b", line.split("#")[0]):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
