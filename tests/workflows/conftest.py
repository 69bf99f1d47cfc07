"""Fixtures of the workflow tests: the linters and helper scripts they run for real."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

INSTALL_HINT = "run scripts/install-workflow-linters.sh (installs into $TOOLS_DIR/bin)"


def find_tool(name: str, hint: str = INSTALL_HINT) -> str:
    """A tool from PATH or $TOOLS_DIR/bin; fails (never skips) when it is missing."""
    tools_bin = Path(os.environ.get("TOOLS_DIR", Path.home() / ".cache/blog-creator/tools")) / "bin"
    found = shutil.which(name) or shutil.which(name, path=str(tools_bin))
    if not found:
        pytest.fail(f"{name} is not installed: {hint}", pytrace=False)
    return found


@pytest.fixture(scope="session")
def actionlint() -> str:
    return find_tool("actionlint")


@pytest.fixture(scope="session")
def zizmor() -> str:
    return find_tool("zizmor")


@pytest.fixture(scope="session")
def shellcheck() -> str:
    return find_tool("shellcheck")


@pytest.fixture(scope="session")
def jq() -> str:
    return find_tool("jq", "apt-get install -y jq")


@pytest.fixture(scope="session")
def kubectl() -> str:
    return find_tool("kubectl", "run scripts/install-k8s-tools.sh")


@pytest.fixture(scope="session")
def strace() -> str:
    return find_tool("strace", "apt-get install -y strace")


@pytest.fixture(scope="session")
def yq() -> str:
    return find_tool("yq", "apt-get install -y yq")
