"""The arrows of ARCHITECTURE.md, enforced with import-linter."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_imports_follow_the_architecture():
    lint_imports = shutil.which("lint-imports") or str(
        Path(sys.executable).parent / "lint-imports"
    )
    result = subprocess.run(
        [lint_imports, "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_importing_the_app_and_the_cli_builds_nothing(tmp_path):
    """Settings, engines and apps are built by factories, never at import time: importing
    them in an empty folder leaves it empty (no data folder, no database, no key)."""
    code = "import datafactory.web.app, datafactory.cli.main, datafactory.migrations"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)
    assert list(tmp_path.iterdir()) == []
