"""tests/junit_recap.py (the end of tests/run-all.sh): the failed tests' causes, read from the
JUnit XML that a real pytest run wrote."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from workflows_dagger_calls import REPO

RECAP = REPO / "tests" / "junit_recap.py"


def recap(*paths: Path) -> str:
    done = subprocess.run(
        [sys.executable, str(RECAP), *map(str, paths)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def junit_of(tmp_path: Path, source: str) -> Path:
    (tmp_path / "test_sample.py").write_text(textwrap.dedent(source))
    report = tmp_path / "sample-junit.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "test_sample.py"),
         f"--junitxml={report}", "--rootdir", str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )
    assert report.is_file()
    return report


def test_a_fixture_error_and_a_failure_are_recapped_with_their_cause(tmp_path: Path) -> None:
    report = junit_of(tmp_path, """
        import pytest

        @pytest.fixture
        def indexed():
            status, body = 503, "elasticsearch timed out"
            assert status == 201, body

        def test_search(indexed):
            pass

        def test_passes():
            assert True

        def test_count():
            assert 1 + 1 == 3, "the arithmetic is off"
        """)
    text = recap(report, tmp_path / "missing-junit.xml")
    assert "2 failed test(s)" in text, text
    assert "- error test_sample::test_search" in text and "elasticsearch timed out" in text, text
    assert "- failure test_sample::test_count" in text and "the arithmetic is off" in text, text
    assert "test_passes" not in text and "missing-junit" not in text


def test_nothing_is_printed_when_every_test_passed(tmp_path: Path) -> None:
    report = junit_of(tmp_path, "def test_ok():\n    assert True\n")
    assert recap(report) == ""


def test_an_unreadable_report_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "broken-junit.xml"
    broken.write_text("<testsuite><testcase")
    assert f"- {broken}: not readable as JUnit XML" in recap(broken)
