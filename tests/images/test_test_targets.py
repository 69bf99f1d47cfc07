"""The `test` targets run the backend and frontend test suites inside the images and leave JUnit
(and, for the backend, coverage) reports; they are copied to reports/images/<app>-test/."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from images_docker import docker


def junit_totals(path: Path) -> dict[str, int]:
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    return {key: sum(int(s.get(key, 0)) for s in suites) for key in ("tests", "failures", "errors")}


@pytest.mark.parametrize("app", ["backend", "frontend"])
def test_test_target_passes_and_writes_reports(build_image, reports_dir: Path, app: str) -> None:
    out = reports_dir / f"{app}-test"
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    proc = docker("run", "--rm", "-v", f"{out}:/reports", build_image(app, "test"), check=False, timeout=900)
    (out / "output.log").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, f"{app} tests failed in the image:\n{(proc.stdout + proc.stderr)[-4000:]}"
    totals = junit_totals(out / "junit.xml")
    assert totals["tests"] > 0 and totals["failures"] == 0 and totals["errors"] == 0, totals
    if app == "backend":
        coverage = ET.parse(out / "coverage.xml").getroot()
        assert float(coverage.get("line-rate", 0)) > 0
