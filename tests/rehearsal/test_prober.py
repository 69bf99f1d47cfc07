"""The rehearsal's availability prober against a real HTTP server on loopback, and its goal:
no failed request outside drill a's window, >= 99.9 % of all requests served."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from rehearsal_prober import goal, run, summary


class Flaky(BaseHTTPRequestHandler):
    """200 with a body, except while the server's `failing` flag is set: 503."""

    def do_GET(self) -> None:
        status = 503 if self.server.failing.is_set() else 200  # type: ignore[attr-defined]
        body = b"ok" if status == 200 else b"down"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    httpd.failing = threading.Event()  # type: ignore[attr-defined]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def probe_with_a_failing_spell(server: ThreadingHTTPServer, out: Path) -> tuple[float, float]:
    """Probe 3 s; the server fails from +1 s to +1.6 s; returns that spell (epoch seconds)."""
    url = f"http://127.0.0.1:{server.server_address[1]}/api/health"
    prober = threading.Thread(target=run, args=(out, 3.0, [url]))
    prober.start()
    time.sleep(1.0)
    start = time.time()
    server.failing.set()  # type: ignore[attr-defined]
    time.sleep(0.6)
    server.failing.clear()  # type: ignore[attr-defined]
    end = time.time()
    prober.join(10)
    assert not prober.is_alive(), "the prober must stop by itself at its time bound"
    return start, end


def test_failures_inside_the_window_only_count_against_the_overall_share(
    server: ThreadingHTTPServer, tmp_path: Path
) -> None:
    out = tmp_path / "probe.csv"
    start, end = probe_with_a_failing_spell(server, out)
    text = summary(out, (start - 0.2, end + 0.2), "spell")
    assert "without the spell" in text and ", 0 failed, availability 100.000 %" in text, text
    met, verdict = goal(out, (start - 0.2, end + 0.2))
    # ~6 of ~30 requests failed: none outside the window, but far below 99.9 % overall.
    assert not met and "0 failed outside the window" in verdict and "MISSED" in verdict, verdict


def test_a_failure_outside_the_window_misses_the_goal(server: ThreadingHTTPServer, tmp_path: Path) -> None:
    out = tmp_path / "probe.csv"
    start, _ = probe_with_a_failing_spell(server, out)
    met, verdict = goal(out, (start - 10, start - 5))  # a window before the failing spell
    assert not met and "0 failed outside" not in verdict, verdict


def test_the_goal_is_met_at_99_9_percent_with_failures_inside_the_window(tmp_path: Path) -> None:
    out = tmp_path / "probe.csv"
    rows = ["t,url,ok,status,seconds"]
    rows += [f"{1000 + i / 10:.3f},http://127.0.0.1:1/,1,200,0.010" for i in range(1998)]
    rows += ["1100.000,http://127.0.0.1:1/,0,500,0.010", "1100.100,http://127.0.0.1:1/,0,500,0.010"]
    out.write_text("\n".join(rows) + "\n")
    met, verdict = goal(out, (1099.0, 1101.0))
    assert met and verdict == (
        "availability goal met: 0 failed outside the window (goal 0), 99.900 % of 2000 requests "
        "served overall (goal >= 99.9 %)"
    )
    assert goal(out, (1099.0, 1100.05))[0] is False  # the second failure falls outside
