"""Availability prober: GET each URL every 100 ms, bounded in count and time.

    python tests/rehearsal/rehearsal_prober.py OUT.csv MAX_SECONDS URL...   (stop early: touch OUT.csv.stop)
    python tests/rehearsal/rehearsal_prober.py summary OUT.csv [WINDOW_START WINDOW_END [LABEL]]
    python tests/rehearsal/rehearsal_prober.py goal OUT.csv WINDOW_START WINDOW_END   (exit 1: missed)

Only loopback front doors of the rehearsal's own cluster are probed. Each URL has its own
thread (a slow or failing URL does not slow the others' rounds). A request counts as served
when it answers 2xx-4xx with a body; 5xx, timeouts and refused connections count as failed. `summary`
prints, per URL and for all URLs, requests, failures, availability and the longest gap between
two served requests, counted from the URL's first served request (a front door probed before
its environment's first install serves nothing yet); with a window (epoch seconds), also the
same figures without the requests inside it, and the failures inside it. `goal` judges the
rehearsal's availability goal (issue 15): no failed request outside the window, and at least
GOAL_PERCENT % of all requests served, the window included.
"""

from __future__ import annotations

import csv
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

INTERVAL_S = 0.1
# A request unanswered after TIMEOUT_S counts as failed; one answered after SLOW_S is counted
# as slow (on the shared 2-core machine the host itself stalls now and then).
TIMEOUT_S = 5
SLOW_S = 2
GOAL_PERCENT = 99.9


def probe(url: str) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as r:
            return r.status < 500 and bool(r.read()), str(r.status)
    except urllib.error.HTTPError as e:
        return e.code < 500 and bool(e.read()), str(e.code)
    except OSError as e:
        return False, type(e).__name__


def run(out: Path, max_seconds: float, urls: list[str]) -> None:
    stop = out.with_suffix(out.suffix + ".stop")
    end = time.monotonic() + max_seconds
    lock = threading.Lock()
    with out.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["t", "url", "ok", "status", "seconds"])

        def loop(url: str) -> None:
            while time.monotonic() < end and not stop.exists():
                started = time.time()
                ok, status = probe(url)
                took = time.time() - started
                with lock:
                    writer.writerow([f"{started:.3f}", url, int(ok), status, f"{took:.3f}"])
                    f.flush()
                time.sleep(INTERVAL_S)

        threads = [threading.Thread(target=loop, args=(url,), daemon=True) for url in urls]
        for t in threads:
            t.start()
        for t in threads:
            t.join(max_seconds + TIMEOUT_S + 1)


Rows = list[dict[str, str]]


def figures(segments: list[Rows]) -> tuple[int, int, int, float]:
    """(requests, failed, slow, longest gap s) of one URL: time-ordered segments of rows; a gap
    is between two served requests of the same segment (the window between segments is not one)."""
    n = failed = slow = 0
    gap = 0.0
    for rows in segments:
        n += len(rows)
        failed += sum(r["ok"] != "1" for r in rows)
        slow += sum(r["ok"] == "1" and float(r.get("seconds") or 0) > SLOW_S for r in rows)
        last_ok = None
        for r in rows:
            if r["ok"] == "1":
                t = float(r["t"])
                if last_ok is not None:
                    gap = max(gap, t - last_ok)
                last_ok = t
    return n, failed, slow, gap


def line(name: str, per_url: dict[str, list[Rows]]) -> str:
    per = [figures(segments) for segments in per_url.values()]
    n, failed, slow = (sum(p[i] for p in per) for i in range(3))
    share = 100.0 * (n - failed) / n if n else 0.0
    gap = max((p[3] for p in per), default=0.0)
    return (
        f"{name}: {n} requests, {failed} failed, availability {share:.3f} %, "
        f"longest gap {gap:.2f} s, {slow} slower than {SLOW_S} s"
    )


def read(path: Path) -> tuple[Rows, dict[str, Rows]]:
    """All rows in time order, and per URL the rows from its first served request on."""
    rows = sorted(csv.DictReader(path.open()), key=lambda r: float(r["t"]))
    by_url: dict[str, Rows] = {}
    for url in sorted({r["url"] for r in rows}):
        mine = [r for r in rows if r["url"] == url]
        first_ok = next((i for i, r in enumerate(mine) if r["ok"] == "1"), len(mine))
        by_url[url] = mine[first_ok:]
    return rows, by_url


def goal(path: Path, window: tuple[float, float]) -> tuple[bool, str]:
    """(met, one line): no failed request outside `window`, >= GOAL_PERCENT % served overall."""
    _, by_url = read(path)
    start, end = window
    counted = [r for rs in by_url.values() for r in rs]
    failed = [r for r in counted if r["ok"] != "1"]
    outside = sum(not start <= float(r["t"]) <= end for r in failed)
    share = 100.0 * (len(counted) - len(failed)) / len(counted) if counted else 0.0
    met = bool(counted) and outside == 0 and share >= GOAL_PERCENT
    return met, (
        f"availability goal {'met' if met else 'MISSED'}: {outside} failed outside the window "
        f"(goal 0), {share:.3f} % of {len(counted)} requests served overall (goal >= {GOAL_PERCENT} %)"
    )


def summary(path: Path, window: tuple[float, float] | None = None, label: str = "window") -> str:
    rows, by_url = read(path)
    out = [
        line(url, {url: [rs]}) if rs else f"{url}: never served ({sum(r['url'] == url for r in rows)} requests, all failed)"
        for url, rs in by_url.items()
    ]
    out.append(line("all URLs", {u: [rs] for u, rs in by_url.items()}))
    if window:
        start, end = window
        before = {u: [r for r in rs if float(r["t"]) < start] for u, rs in by_url.items()}
        inside = {u: [[r for r in rs if start <= float(r["t"]) <= end]] for u, rs in by_url.items()}
        after = {u: [r for r in rs if float(r["t"]) > end] for u, rs in by_url.items()}
        outside = {u: [before[u], after[u]] for u in by_url}
        out.append(f"without the {label} ({end - start:.1f} s):")
        out += ["  " + line(url, {url: segments}) for url, segments in outside.items()]
        out.append("  " + line("all URLs", outside))
        out.append(f"inside the {label}:")
        out.append("  " + line("all URLs", inside))
        failures = [r for rs in inside.values() for r in rs[0] if r["ok"] != "1"]
        if failures:
            first, last = float(failures[0]["t"]), float(failures[-1]["t"])
            out.append(f"  failed requests from +{first - start:.1f} s to +{last - start:.1f} s of the window")
    return "\n".join(out)


if __name__ == "__main__":
    if sys.argv[1] == "goal":
        met, verdict = goal(Path(sys.argv[2]), (float(sys.argv[3]), float(sys.argv[4])))
        print(verdict)
        sys.exit(0 if met else 1)
    elif sys.argv[1] == "summary":
        win = (float(sys.argv[3]), float(sys.argv[4])) if len(sys.argv) >= 5 else None
        print(summary(Path(sys.argv[2]), win, sys.argv[5] if len(sys.argv) > 5 else "window"))
    else:
        run(Path(sys.argv[1]), float(sys.argv[2]), sys.argv[3:])
