#!/usr/bin/env python3
"""Turn the reports exported by `dagger call ci|release ... export --path DIR` into the
GitHub job summary and the job's verdict. Standard library only (runs on any runner).

  ci_summary.py summary DIR   Markdown: the pipeline summary, JUnit totals, coverage, SARIF
  ci_summary.py verdict DIR   exit 1 when DIR/summary.json says a step failed (or is missing)
  ci_summary.py release DIR   validate DIR/release.json (every image by digest), print
                              release.md, and write backend/frontend image outputs to
                              $GITHUB_OUTPUT when set
  ci_summary.py sarif DIR [PREFIX]
                              give every SARIF run under DIR its own category
                              (runAutomationDetails.id = PREFIX/<file>[/<n>]/: code scanning
                              rejects several runs of one tool in one category) and print
                              found=true|false for $GITHUB_OUTPUT
  ci_summary.py outcome DIR ACTION ENV
                              read the `outcome` of DIR/ACTION-ENV.json (the report of
                              `dagger call deploy|promote|abort|rollback ... export`), write
                              outcome=... and exit-code=... to $GITHUB_OUTPUT when set, say
                              what happened, and exit with the documented code of that
                              outcome (docs/deploy.md): `dagger call` itself exits 1 for
                              every failure, so the workflows decide on this, not on it
"""

from __future__ import annotations

import json
import os
import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

DIGEST_REF = re.compile(r"^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$")
APPS = ("backend", "frontend")
MAX_MARKDOWN = 60_000  # characters of one extra Markdown report in the job summary


class ReportError(Exception):
    """The reports are missing or malformed; the message says which file and why."""


@dataclass
class JUnitTotals:
    file: str
    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    seconds: float = 0.0

    @property
    def passed(self) -> int:
        return self.tests - self.failures - self.errors - self.skipped


def _xml_root(path: Path) -> ET.Element | None:
    try:
        return ET.parse(path).getroot()
    except (ET.ParseError, OSError):
        return None


def junit_totals(path: Path, root: ET.Element) -> JUnitTotals:
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    totals = JUnitTotals(file=path.as_posix())
    for suite in suites:
        totals.tests += int(suite.get("tests", 0) or 0)
        totals.failures += int(suite.get("failures", 0) or 0)
        totals.errors += int(suite.get("errors", 0) or 0)
        totals.skipped += int(suite.get("skipped", suite.get("disabled", 0)) or 0)
        totals.seconds += float(suite.get("time", 0) or 0)
    return totals


def coverage_percent(path: Path, root: ET.Element | None) -> float | None:
    """Line coverage from Cobertura XML, coverage.py JSON or Istanbul json-summary."""
    if root is not None:
        if root.tag == "coverage" and root.get("line-rate") is not None:
            return round(float(root.get("line-rate", 0)) * 100, 1)
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return None
    if not isinstance(data, dict):
        return None
    totals = data.get("totals")
    if isinstance(totals, dict) and "percent_covered" in totals:
        return round(float(totals["percent_covered"]), 1)
    total = data.get("total")
    if isinstance(total, dict) and isinstance(total.get("lines"), dict):
        return round(float(total["lines"].get("pct", 0)), 1)
    return None


def sarif_counts(path: Path) -> dict[str, int]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return {}
    counts: dict[str, int] = {}
    for run in data.get("runs", []) if isinstance(data, dict) else []:
        for result in run.get("results", []) or []:
            level = result.get("level", "warning")
            counts[level] = counts.get(level, 0) + 1
    return counts


def summary_markdown(reports: Path) -> str:
    if not reports.is_dir():
        return (
            f"## Pipeline reports missing\n\nNo `{reports}` directory was exported: the "
            "`dagger call` step failed before writing reports. Reproduce it locally with the "
            "same command and `-i` for a shell at the failing step (docs/ci.md).\n"
        )
    out: list[str] = []
    head = reports / "summary.md"
    if head.is_file():
        out.append(head.read_text(encoding="utf-8").rstrip() + "\n")
    # Other top-level reports (findings.md of a scan, load-test.md, ...), each bounded so the
    # job summary stays under GitHub's 1 MiB limit.
    for extra in sorted(reports.glob("*.md")):
        if extra.name != "summary.md":
            text = extra.read_text(encoding="utf-8", errors="replace")
            if len(text) > MAX_MARKDOWN:
                text = (
                    text[:MAX_MARKDOWN]
                    + f"\n\n… truncated; the full `{extra.name}` is in the artifact.\n"
                )
            out.append(text.rstrip() + "\n")
    junit: list[JUnitTotals] = []
    coverage: list[tuple[str, float]] = []
    for path in sorted(reports.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(reports)
        if path.suffix == ".xml":
            root = _xml_root(path)
            if root is None:
                continue
            if root.tag in ("testsuites", "testsuite"):
                junit.append(junit_totals(rel, root))
                continue
        elif path.suffix == ".json" and "coverage" in path.name:
            root = None
        else:
            continue
        if (pct := coverage_percent(path, root)) is not None:
            coverage.append((rel.as_posix(), pct))
    if junit:
        out += [
            "## Tests",
            "",
            "| Report | Passed | Failed | Errors | Skipped | Time |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for t in junit:
            out.append(
                f"| `{t.file}` | {t.passed} | {t.failures} | {t.errors} | {t.skipped} "
                f"| {t.seconds:.1f}s |"
            )
        failed = sum(t.failures + t.errors for t in junit)
        total = sum(t.tests for t in junit)
        out += [
            "",
            f"**{total - failed} of {total} tests passed**"
            + (f", **{failed} failed**" if failed else "")
            + ".",
            "",
        ]
    if coverage:
        out += ["## Coverage", "", "| Report | Lines |", "|---|---:|"]
        out += [f"| `{name}` | {pct:.1f}% |" for name, pct in coverage]
        out.append("")
    sarif = sorted(reports.rglob("*.sarif"))
    if sarif:
        out += [
            "## Code scanning (SARIF)",
            "",
            "| File | Errors | Warnings | Notes |",
            "|---|---:|---:|---:|",
        ]
        for path in sarif:
            c = sarif_counts(path)
            out.append(
                f"| `{path.relative_to(reports).as_posix()}` | {c.get('error', 0)} "
                f"| {c.get('warning', 0)} | {c.get('note', 0)} |"
            )
        out.append("")
    return "\n".join(out) + "\n"


def verdict(reports: Path) -> tuple[bool, str]:
    summary = reports / "summary.json"
    if not summary.is_file():
        return False, f"{summary} is missing: the pipeline did not finish (see the step log)"
    try:
        data = json.loads(summary.read_text(encoding="utf-8"))
    except ValueError as exc:
        return False, f"{summary} is not JSON: {exc}"
    if not isinstance(data, dict) or not isinstance(data.get("passed"), bool):
        return False, f"{summary}: needs a boolean 'passed'"
    failed = [s.get("name", "?") for s in data.get("steps", []) if not s.get("ok", False)]
    if data["passed"]:
        return True, f"{data.get('title', 'pipeline')}: passed"
    return False, f"{data.get('title', 'pipeline')}: failed steps: {', '.join(failed) or '?'}"


def release_images(report_dir: Path) -> dict[str, str]:
    """The image reference of each app from release.json; each must be pinned by digest."""
    path = report_dir / "release.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise ReportError(f"{path}: missing; `dagger call release ... export` wrote none") from None
    except ValueError as exc:
        raise ReportError(f"{path}: not JSON ({exc})") from None
    images = data.get("images") if isinstance(data, dict) else None
    if not isinstance(images, dict):
        raise ReportError(f"{path}: 'images' must be an object keyed by app name")
    refs: dict[str, str] = {}
    for app in APPS:
        value = images.get(app)
        ref = value.get("ref") if isinstance(value, dict) else value
        if not isinstance(ref, str) or not DIGEST_REF.match(ref):
            raise ReportError(
                f"{path}: images.{app} = {ref!r} is not an image reference by digest "
                "(<repository>@sha256:<64 hex>); promotion needs immutable digests"
            )
        refs[app] = ref
    return refs


# Outcomes of a deploy/promote/abort/rollback report (src/pipeline/deploy/report.py) and the
# exit code docs/deploy.md documents for each.
OUTCOME_CODES = {
    "succeeded": 0,
    "awaiting-promotion": 0,
    "dry-run": 0,
    "rolled-back": 1,
    "refused": 2,
    "failed": 3,
}
OUTCOME_HINTS = {
    "awaiting-promotion": "the rollout is paused: `dagger call promote` (or `abort`) continues",
    "rolled-back": "verification failed; the previous revision serves again (verified)",
    "refused": "nothing was applied",
    "failed": "NOT restored: act now (`dagger call status`, then `rollback`)",
}


@dataclass(frozen=True)
class Outcome:
    outcome: str
    code: int
    message: str


def deploy_outcome(reports: Path, action: str, env: str) -> Outcome:
    """The outcome recorded in REPORTS/ACTION-ENV.json, with its documented exit code."""
    path = reports / f"{action}-{env}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise ReportError(
            f"{path}: missing; `dagger call {action}` failed before it exported its report "
            "(its log above says why); the state of the environment is unknown: "
            f"`dagger call status --env {env}`"
        ) from None
    except ValueError as exc:
        raise ReportError(f"{path}: not JSON ({exc})") from None
    outcome = data.get("outcome") if isinstance(data, dict) else None
    if outcome not in OUTCOME_CODES:
        raise ReportError(f"{path}: outcome {outcome!r} is not one of {', '.join(OUTCOME_CODES)}")
    message = data.get("message", "")
    # The report's own exit code where it is a documented one (status/diff record a
    # `failed` read as 2), else the code documented for the outcome.
    code = data.get("exit_code")
    if not isinstance(code, int) or isinstance(code, bool) or code not in (0, 1, 2, 3):
        code = OUTCOME_CODES[str(outcome)]
    return Outcome(str(outcome), code, str(message))


def workflow_command_text(text: str) -> str:
    """Escape a message for a ::notice::/::error:: workflow command (one line)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def write_outputs(values: dict[str, str]) -> None:
    if output := os.environ.get("GITHUB_OUTPUT"):
        with open(output, "a", encoding="utf-8") as fh:
            fh.writelines(f"{key}={value}\n" for key, value in values.items())


def outcome_command(reports: Path, action: str, env: str) -> int:
    title = workflow_command_text(f"{action} {env}").replace(":", "%3A").replace(",", "%2C")
    try:
        result = deploy_outcome(reports, action, env)
    except ReportError as exc:
        write_outputs({"outcome": "unknown", "exit-code": "1"})
        print(f"::error title={title}::{workflow_command_text(f'no report: {exc}')}")
        return 1
    write_outputs({"outcome": result.outcome, "exit-code": str(result.code)})
    hint = OUTCOME_HINTS.get(result.outcome, "")
    text = "; ".join(part for part in (result.message, hint) if part)
    level = "notice" if result.code == 0 else "error"
    line = f"{result.outcome}: {text}" if text else result.outcome
    print(f"::{level} title={title}::{workflow_command_text(line)}")
    return result.code


def categorize_sarif(reports: Path, prefix: str) -> list[str]:
    """Set a distinct automation id (the code-scanning category) on every SARIF run."""
    ids: list[str] = []
    for path in sorted(reports.rglob("*.sarif")) if reports.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ReportError(f"{path}: not JSON ({exc})") from None
        runs = data.get("runs") if isinstance(data, dict) else None
        if not isinstance(runs, list):
            raise ReportError(f"{path}: no 'runs' list; not a SARIF log")
        stem = path.relative_to(reports).with_suffix("").as_posix()
        for index, run in enumerate(runs):
            suffix = f"/{index + 1}" if len(runs) > 1 else ""
            run_id = f"{prefix}/{stem}{suffix}/"
            run["automationDetails"] = {**(run.get("automationDetails") or {}), "id": run_id}
            ids.append(run_id)
        path.write_text(json.dumps(data), encoding="utf-8")
    return ids


def main(argv: list[str]) -> int:
    if argv[:1] == ["sarif"] and len(argv) in (2, 3):
        try:
            ids = categorize_sarif(Path(argv[1]), argv[2] if len(argv) == 3 else "dagger")
        except ReportError as exc:
            print(f"::error::{exc}", file=sys.stderr)
            return 1
        print(f"found={'true' if ids else 'false'}")
        return 0
    if argv[:1] == ["outcome"] and len(argv) == 4:
        return outcome_command(Path(argv[1]), argv[2], argv[3])
    if len(argv) != 2 or argv[0] not in ("summary", "verdict", "release"):
        print(__doc__, file=sys.stderr)
        return 2
    command, reports = argv[0], Path(argv[1])
    if command == "summary":
        sys.stdout.write(summary_markdown(reports))
        return 0
    if command == "verdict":
        ok, message = verdict(reports)
        print(message if ok else f"::error::{message}")
        return 0 if ok else 1
    try:
        refs = release_images(reports)
    except ReportError as exc:
        print(f"::error::{exc}")
        return 1
    markdown = reports / "release.md"
    if markdown.is_file():
        sys.stdout.write(markdown.read_text(encoding="utf-8").rstrip() + "\n")
    else:
        sys.stdout.write("".join(f"- {app}: `{ref}`\n" for app, ref in refs.items()))
    write_outputs({f"{app}-image": ref for app, ref in refs.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
