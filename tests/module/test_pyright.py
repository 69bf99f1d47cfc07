"""pyright strict on src/pipeline: 0 errors (mypy misreads the SDK's decorators)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pyright() -> list[str]:
    exe = Path(sys.executable).with_name("pyright")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("pyright")
    assert found, "pyright is not installed: pip install pyright (it is in tests/requirements.txt)"
    return [found]


def test_pyright_strict_has_no_errors() -> None:
    done = subprocess.run(
        [*_pyright(), "--outputjson", "--pythonpath", sys.executable, "src/pipeline"],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.stdout, done.stderr
    report = json.loads(done.stdout)
    errors = [d for d in report["generalDiagnostics"] if d["severity"] == "error"]
    readable = "\n".join(
        f"{d['file']}:{d['range']['start']['line'] + 1}: {d['message']}" for d in errors
    )
    assert report["summary"]["filesAnalyzed"] >= 10
    assert errors == [], readable
    # strict mode really is on for these files (pyproject [tool.pyright])
    assert 'typeCheckingMode = "strict"' in (ROOT / "pyproject.toml").read_text()


def test_ruff_reports_nothing_on_the_module_and_its_tests() -> None:
    ruff = Path(sys.executable).with_name("ruff")
    assert ruff.exists() or shutil.which("ruff"), "ruff is not installed (tests/requirements.txt)"
    exe = str(ruff) if ruff.exists() else "ruff"
    paths = ["src/pipeline", "tests/module", "bench/module_import_time.py"]
    done = subprocess.run(
        [exe, "check", "--output-format", "concise", *paths],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
