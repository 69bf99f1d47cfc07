"""Availability prober: GET each URL every 100 ms, bounded in count and time.

    python tests/rehearsal/prober.py OUT.csv MAX_SECONDS URL...   (stop early: touch OUT.csv.stop)

Only loopback / cluster-internal addresses are probed (the rehearsal passes Service IPs of its
own cluster). A request counts as served when it answers 2xx-4xx with a body; 5xx, timeouts and
refused connections count as failed. `summary` prints availability and the longest gap.
"""

from __future__ import annotations

import csv
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

INTERVAL_S = 0.1


def probe(url: str) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return bool(r.read(1)) or r.status < 300, str(r.status)
    except urllib.error.HTTPError as e:
        return e.code < 500, str(e.code)
    except OSError as e:
        return False, type(e).__name__


def run(out: Path, max_seconds: float, urls: list[str]) -> None:
    stop = out.with_suffix(out.suffix + ".stop")
    end = time.monotonic() + max_seconds
    with out.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["t", "url", "ok", "status"])
        while time.monotonic() < end and not stop.exists():
            for url in urls:
                ok, status = probe(url)
                writer.writerow([f"{time.time():.3f}", url, int(ok), status])
            f.flush()
            time.sleep(INTERVAL_S)


def summary(path: Path, exclude: tuple[float, float] | None = None) -> str:
    rows = list(csv.DictReader(path.open()))
    lines = []
    for url in sorted({r["url"] for r in rows}):
        mine = [r for r in rows if r["url"] == url]
        if exclude:
            mine = [r for r in mine if not exclude[0] <= float(r["t"]) <= exclude[1]]
        failed = [r for r in mine if r["ok"] != "1"]
        gap, last_ok = 0.0, None
        for r in mine:
            if r["ok"] == "1":
                t = float(r["t"])
                if last_ok is not None:
                    gap = max(gap, t - last_ok)
                last_ok = t
        share = 100.0 * (len(mine) - len(failed)) / len(mine) if mine else 0.0
        lines.append(
            f"{url}: {len(mine)} requests, {len(failed)} failed, availability {share:.3f} %, longest gap {gap:.2f} s"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1] == "summary":
        print(summary(Path(sys.argv[2])))
    else:
        run(Path(sys.argv[1]), float(sys.argv[2]), sys.argv[3:])
