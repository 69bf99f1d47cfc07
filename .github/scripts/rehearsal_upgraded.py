#!/usr/bin/env python3
"""Check that `dagger call deploy --env local ... export --path DIR` rehearsed an upgrade.

  rehearsal_upgraded.py DIR [ENV]     (ENV defaults to local)

On a first install Argo Rollouts skips every canary step and no analysis runs (issue 15, D6),
so a passing first install proves little. `deploy --env local` deploys a baseline and then the
release as an upgrade (src/pipeline/deploy/rehearse.py). This reads DIR/rehearsal-ENV.json and
the two deploy reports and exits 1, saying why, unless:
- the baseline (DIR/baseline/deploy-ENV.json) succeeded as a first install;
- the release (DIR/deploy-ENV.json) succeeded as an upgrade of the baseline's revision;
- with a canary or blueGreen strategy, the Argo Rollouts controller ran at least one
  AnalysisRun and every AnalysisRun it ran is Successful.
Standard library only (runs on any runner).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


class NotAnUpgrade(Exception):
    """The rehearsal did not exercise an upgrade; the message says what is missing."""


def _read(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise NotAnUpgrade(f"{path}: missing ({e.strerror}); the deploy wrote no report") from None
    except ValueError:
        raise NotAnUpgrade(f"{path}: not JSON") from None
    if not isinstance(data, dict):
        raise NotAnUpgrade(f"{path}: expected a JSON object")
    return data  # pyright: ignore[reportUnknownVariableType]


def check(reports: Path, env: str = "local") -> str:
    """What was rehearsed (one line), or NotAnUpgrade."""
    summary = _read(reports / f"rehearsal-{env}.json")
    baseline = _read(reports / "baseline" / f"deploy-{env}.json")
    if baseline.get("outcome") != "succeeded":
        raise NotAnUpgrade(
            f"the baseline install did not succeed ({baseline.get('outcome')}): "
            f"{baseline.get('message', '')}"
        )
    if baseline.get("revision_before") is not None:
        raise NotAnUpgrade("the baseline was not a first install on a fresh cluster")
    if not isinstance(summary.get("upgrade"), dict):
        raise NotAnUpgrade("the release was not deployed as an upgrade (the baseline failed)")
    upgrade = _read(reports / f"deploy-{env}.json")
    before, after = upgrade.get("revision_before"), baseline.get("revision_after")
    if before is None or before != after:
        raise NotAnUpgrade(
            f"the release did not upgrade the baseline: it found revision {before!r} serving, "
            f"the baseline installed {after!r}"
        )
    if upgrade.get("outcome") != "succeeded":
        raise NotAnUpgrade(
            f"the upgrade did not succeed ({upgrade.get('outcome')}): {upgrade.get('message', '')}"
        )
    strategy = str(summary.get("strategy", ""))
    runs = summary.get("analysis_runs")
    if strategy in ("canary", "blueGreen"):
        if not isinstance(runs, list) or not runs:
            error = summary.get("analysis_runs_error") or "none found"
            raise NotAnUpgrade(f"no AnalysisRun ran during the {strategy} upgrade ({error})")
        bad = [r for r in runs if not isinstance(r, dict) or r.get("phase") != "Successful"]
        if bad:
            raise NotAnUpgrade(f"AnalysisRuns not Successful: {json.dumps(bad)}")
        count = len(runs)
    else:
        count = 0
    return (
        f"{env}: baseline revision {after} upgraded to {upgrade.get('revision_after')} "
        f"({strategy}); {count} AnalysisRun(s) Successful"
    )


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print("usage: rehearsal_upgraded.py DIR [ENV]", file=sys.stderr)
        return 2
    try:
        print(check(Path(argv[0]), *argv[1:]))
    except NotAnUpgrade as e:
        print(f"::error::rehearsal was not an upgrade with analysis (D6): {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
