"""One naming rule for the test suites' helper modules (tests/README.md).

Every importable helper, that is every `.py` directly in `tests/<folder>/` that is neither a
test module (`test_*.py`) nor `conftest.py`, is named `<folder>_<role>.py`. All folders share
one `pythonpath` (pyproject's pytest settings), so the folder prefix keeps the names unique;
the role says what the module holds.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"

ROLE = re.compile(r"[a-z0-9]+(_[a-z0-9]+)*")


def helper_modules(tests: Path) -> list[Path]:
    """The helper modules of every suite folder below `tests` (sub-folders are not on the path)."""
    return sorted(
        path
        for path in tests.glob("*/*.py")
        if not path.name.startswith("test_") and path.name != "conftest.py"
    )


def misnamed(tests: Path) -> list[str]:
    """One message per helper that breaks the rule, naming the fix."""
    problems = []
    for path in helper_modules(tests):
        folder, stem = path.parent.name, path.stem
        relative = f"tests/{folder}/{path.name}"
        role = stem.removeprefix(f"{folder}_")
        if role != stem and ROLE.fullmatch(role):
            continue
        problems.append(
            f"{relative}: helper modules are named <folder>_<role>.py; "
            f"`git mv` it to tests/{folder}/{folder}_<role>.py and update its imports"
        )
    return problems


def test_every_helper_module_is_named_folder_underscore_role() -> None:
    problems = misnamed(TESTS)
    assert problems == [], "\n".join(problems)


def test_every_folder_with_helpers_is_on_the_pytest_pythonpath() -> None:
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    pythonpath = set(settings["ini_options"]["pythonpath"])
    folders = {f"tests/{path.parent.name}" for path in helper_modules(TESTS)}
    assert folders - pythonpath == set(), "add these folders to pythonpath in pyproject.toml"


def test_the_rule_reports_a_misnamed_helper_and_accepts_the_named_ones(tmp_path: Path) -> None:
    for name in (
        "faults/faultlib.py",  # no folder prefix
        "images/images_.py",  # prefix without a role
        "images/images_Docker.py",  # not snake case
        "k8s/k8s_support.py",
        "k8s/test_k8s_render.py",
        "k8s/conftest.py",
        "cluster/real/never_ready.py",  # a sub-folder: not importable by name
        "rehearsal/rehearsal_prober.py",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    problems = misnamed(tmp_path)
    assert [p.split(":")[0] for p in problems] == [
        "tests/faults/faultlib.py",
        "tests/images/images_.py",
        "tests/images/images_Docker.py",
    ]
    assert "git mv" in problems[0] and "tests/faults/faults_<role>.py" in problems[0]
