"""The project's promises about itself: CI runs what the README says, and the engine never needs nn."""
import ast
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _readme_commands():
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```bash\n(.*?)```", readme, re.S).group(1)
    return [line for line in first_block.splitlines() if line and not line.startswith("#")]


def test_readme_first_screen_has_a_demo_and_a_test_command():
    demo, tests = _readme_commands()
    assert "examples/" in demo and "pip install" in demo
    assert "pytest" in tests and "pip install" in tests


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
    code = "import sys, microgradnp; assert 'nn' not in sys.modules, 'nn was imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_nn_is_the_same_module_through_both_names():
    import microgradnp as mg
    import nn

    assert mg.nn is nn
    assert mg.optim is nn.optim
