"""Integration smoke check: wait for each URL to answer 2xx, write a JUnit report.

Standard library only: `test` runs this file with the Python base image against the backend
and frontend services; it runs the same way on a laptop:

    python -m pipeline.smoke --reports reports/smoke http://localhost:8000/healthz ...
"""

from __future__ import annotations

import argparse
import time
import urllib.error
import urllib.request
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr


def check(url: str, deadline_seconds: float, interval: float = 1.0) -> tuple[bool, str, float]:
    """Poll `url` until it answers 2xx or the deadline passes: (ok, last outcome, seconds)."""
    start = time.monotonic()
    outcome = "not tried"
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                status = int(response.status)
                if 200 <= status < 300:
                    return True, f"HTTP {status}", time.monotonic() - start
                outcome = f"HTTP {status}"
        except urllib.error.HTTPError as e:
            outcome = f"HTTP {e.code}"
        except (urllib.error.URLError, OSError) as e:
            outcome = f"no answer ({getattr(e, 'reason', e)})"
        if time.monotonic() - start >= deadline_seconds:
            return False, outcome, time.monotonic() - start
        time.sleep(interval)


def junit(results: list[tuple[str, bool, str, float]]) -> str:
    failures = sum(1 for _, ok, _, _ in results if not ok)
    cases: list[str] = []
    for url, ok, outcome, seconds in results:
        body = "" if ok else f"<failure message={quoteattr(outcome)}>{escape(outcome)}</failure>"
        cases.append(
            f'  <testcase classname="smoke" name={quoteattr(url)} time="{seconds:.3f}">{body}</testcase>'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuite name="smoke" tests="{len(results)}" failures="{failures}">\n'
        + "\n".join(cases)
        + "\n</testsuite>\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("urls", nargs="+", help="URLs that must answer 2xx")
    parser.add_argument("--reports", default="reports", help="directory for smoke.xml")
    parser.add_argument("--deadline", type=float, default=120.0, help="seconds per URL")
    args = parser.parse_args(argv)
    results: list[tuple[str, bool, str, float]] = []
    for url in args.urls:
        ok, outcome, seconds = check(url, args.deadline)
        print(f"{'PASS' if ok else 'FAIL'} {url}: {outcome} after {seconds:.1f}s", flush=True)
        results.append((url, ok, outcome, seconds))
    out = Path(args.reports)
    out.mkdir(parents=True, exist_ok=True)
    (out / "smoke.xml").write_text(junit(results), encoding="utf-8")
    return 0 if all(ok for _, ok, _, _ in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
