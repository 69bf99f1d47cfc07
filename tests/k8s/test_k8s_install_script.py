"""scripts/install-k8s-tools.sh: idempotent, prints the bin dir, refuses unknown flags."""

from __future__ import annotations

import subprocess

from k8s_support import REPO, tools_bin

SCRIPT = REPO / "scripts" / "install-k8s-tools.sh"


def test_rerun_is_idempotent_and_prints_the_bin_dir(helm: str) -> None:
    # The session's helm fixture already required the tools; a second run must not reinstall.
    proc = subprocess.run(
        ["bash", str(SCRIPT)], check=False, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == str(tools_bin())
    assert "already installed" in proc.stderr
    version = subprocess.run(
        [str(tools_bin() / "kubectl"), "version", "--client"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "v1.35." in version.stdout


def test_unknown_flag_is_refused() -> None:
    proc = subprocess.run(
        ["bash", str(SCRIPT), "--with-chekov"],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "unknown argument '--with-chekov'" in proc.stderr
