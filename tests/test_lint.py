"""The linter configured in pyproject.toml ([tool.ruff]) passes on the whole project."""
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_ruff_passes():
    pytest.importorskip("ruff", reason="ruff is in the test extra: pip install -e '.[test]'")
    from ruff.__main__ import find_ruff_bin

    ruff = find_ruff_bin() if shutil.which("ruff") is None else shutil.which("ruff")
    result = subprocess.run([ruff, "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr

