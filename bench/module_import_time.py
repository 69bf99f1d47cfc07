"""Import-time benchmark of the Dagger module (goal: <= 100 ms, excluding dagger-io).

    .venv/bin/python bench/module_import_time.py [--runs 7]

Prints, as medians over fresh interpreters (`python -X importtime`):
  * `import pipeline`: the package itself (Pipeline is loaded lazily);
  * loading `Pipeline` as the Dagger runtime does, after `import dagger`: everything the
    module adds on top of the SDK (its own files and whatever they import at import time);
  * `import dagger` alone, for scale (not counted against the goal).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_MS = 100.0


def importtime(code: str) -> list[tuple[int, int, str]]:
    """(self us, cumulative us, module) per import, in the order Python reports them."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONDONTWRITEBYTECODE": ""}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    rows: list[tuple[int, int, str]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|")
        rows.append((int(self_us), int(cumulative_us), name.rstrip()[1:]))  # nesting kept
    return rows


def total_ms(rows: list[tuple[int, int, str]]) -> float:
    return sum(r[0] for r in rows) / 1000


def cumulative_ms(rows: list[tuple[int, int, str]], name: str) -> float:
    return next(r[1] for r in rows if r[2] == name) / 1000


def after_dagger_ms(rows: list[tuple[int, int, str]]) -> tuple[float, list[str]]:
    """Self time of every import after `import dagger` finished (the module's own cost)."""
    end = next(i for i, r in enumerate(rows) if r[2] == "dagger")  # top-level line comes last
    tail = rows[end + 1 :]
    heavy = sorted(tail, key=lambda r: r[0], reverse=True)[:5]
    return total_ms(tail), [f"{r[2].strip()} {r[0] / 1000:.1f} ms" for r in heavy]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    importtime("import dagger; from pipeline import Pipeline")  # warm bytecode caches

    package, module, sdk = [], [], []
    heaviest: list[str] = []
    for _ in range(args.runs):
        package.append(cumulative_ms(importtime("import pipeline"), "pipeline"))
        rows = importtime("import dagger; from pipeline import Pipeline")
        own, heaviest = after_dagger_ms(rows)
        module.append(own)
        sdk.append(cumulative_ms(importtime("import dagger"), "dagger"))

    own_median = statistics.median(module)
    print(f"runs: {args.runs} (medians; self times summed from python -X importtime)")
    print(f"import pipeline (package, Pipeline lazy):        {statistics.median(package):7.1f} ms")
    print(
        f"load Pipeline on top of dagger-io (the goal):    {own_median:7.1f} ms  (goal <= {GOAL_MS:.0f} ms)"
    )
    print(f"import dagger (SDK, for scale, not counted):     {statistics.median(sdk):7.1f} ms")
    print("heaviest imports added by the module: " + ", ".join(heaviest))
    print("result: " + ("PASS" if own_median <= GOAL_MS else "OVER GOAL"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
