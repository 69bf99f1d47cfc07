"""Recap of the failed and errored tests in JUnit XML reports, for the end of a test run.

    python tests/junit_recap.py reports/*.xml reports/backend/junit.xml

A long run's log is often read from its end (CI pages show its head and tail): this prints,
per failed test, its id, the error's message and the last lines of its traceback, where the
cause is. Missing or unreadable reports are named, not fatal. Prints nothing when all passed.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

TAIL_LINES = 12
MESSAGE_CHARS = 600


def failures(report: Path) -> list[str]:
    """One block of text per failed or errored test case of `report`."""
    blocks = []
    for case in ET.parse(report).getroot().iter("testcase"):
        for problem in (*case.findall("failure"), *case.findall("error")):
            name = f"{case.get('classname', '')}::{case.get('name', '')}"
            message = (problem.get("message") or "").strip()[:MESSAGE_CHARS]
            tail = (problem.text or "").rstrip().splitlines()[-TAIL_LINES:]
            blocks.append("\n".join([f"- {problem.tag} {name}", f"  {message}", *("    " + line for line in tail)]))
    return blocks


def main(paths: list[str]) -> int:
    out = []
    for path in map(Path, paths):
        if not path.is_file():
            continue
        try:
            out += failures(path)
        except ET.ParseError as error:
            out.append(f"- {path}: not readable as JUnit XML ({error})")
    if out:
        print(f"\n##### recap: {len(out)} failed test(s), the end of each traceback\n" + "\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
