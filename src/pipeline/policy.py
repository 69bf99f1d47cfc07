"""The scan policy of pipeline.yaml applied to Trivy JSON reports.

Plain Python: `scan` feeds it the JSON that Trivy wrote (image, config and secret scans) and
gets back the findings that fail the policy, each named, plus a Markdown summary.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, cast

from pipeline.config import SEVERITIES, ScanPolicy


@dataclass(frozen=True)
class Finding:
    source: str  # which scan: "image backend", "config", "secrets"
    kind: str  # vulnerability | misconfiguration | secret
    id: str
    severity: str
    target: str
    title: str
    package: str = ""
    installed: str = ""
    fixed: str = ""

    def describe(self) -> str:
        what = f"{self.package} {self.installed}".strip()
        fix = f" (fixed in {self.fixed})" if self.fixed else ""
        subject = f"{what}{fix} in {self.target}" if what else self.target
        return f"{self.severity} {self.id} [{self.source}] {subject}: {self.title}"


@dataclass
class PolicyResult:
    violations: list[Finding] = field(default_factory=lambda: list[Finding]())
    allowed: list[Finding] = field(default_factory=lambda: list[Finding]())
    expired_allowlist: list[str] = field(default_factory=lambda: list[str]())
    counts: dict[str, dict[str, int]] = field(default_factory=lambda: dict[str, dict[str, int]]())

    @property
    def passed(self) -> bool:
        return not self.violations and not self.expired_allowlist

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "violations": [asdict(f) for f in self.violations],
            "allowed": [asdict(f) for f in self.allowed],
            "expired_allowlist": self.expired_allowlist,
            "counts": self.counts,
        }


class ReportError(ValueError):
    """A scanner wrote something that is not a Trivy JSON report."""


def _as_list(value: object) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    return [cast(dict[str, Any], v) for v in cast(list[object], value) if isinstance(v, dict)]


def parse_trivy(source: str, text: str) -> list[Finding]:
    """All findings of one Trivy JSON report (`trivy ... --format json`)."""
    try:
        data: object = json.loads(text)
    except json.JSONDecodeError as e:
        raise ReportError(f"{source}: Trivy report is not JSON ({e})") from None
    if not isinstance(data, dict):
        raise ReportError(f"{source}: Trivy report must be a JSON object")
    report = cast(dict[str, Any], data)
    findings: list[Finding] = []
    for result in _as_list(report.get("Results")):
        target = str(result.get("Target", ""))
        for v in _as_list(result.get("Vulnerabilities")):
            findings.append(
                Finding(
                    source,
                    "vulnerability",
                    str(v.get("VulnerabilityID", "?")),
                    str(v.get("Severity", "UNKNOWN")).upper(),
                    target,
                    str(v.get("Title", "")),
                    str(v.get("PkgName", "")),
                    str(v.get("InstalledVersion", "")),
                    str(v.get("FixedVersion", "")),
                )
            )
        for m in _as_list(result.get("Misconfigurations")):
            if str(m.get("Status", "FAIL")).upper() != "FAIL":
                continue
            findings.append(
                Finding(
                    source,
                    "misconfiguration",
                    str(m.get("ID") or m.get("AVDID") or "?"),
                    str(m.get("Severity", "UNKNOWN")).upper(),
                    target,
                    str(m.get("Title", "")),
                )
            )
        for s in _as_list(result.get("Secrets")):
            findings.append(
                Finding(
                    source,
                    "secret",
                    str(s.get("RuleID", "?")),
                    str(s.get("Severity", "UNKNOWN")).upper(),
                    f"{target}:{s.get('StartLine', '?')}",
                    str(s.get("Title", "")),
                )
            )
    return findings


def evaluate(findings: list[Finding], policy: ScanPolicy, today: dt.date) -> PolicyResult:
    """Apply the policy: failing severities (secrets always fail), allowlist with expiry."""
    entries = {entry.id: entry for entry in policy.allowlist}
    result = PolicyResult()
    result.expired_allowlist = sorted(e.id for e in policy.allowlist if e.expires < today)
    per_source: dict[str, Counter[str]] = {}
    for finding in findings:
        per_source.setdefault(finding.source, Counter())[finding.severity] += 1
        if finding.kind == "vulnerability" and policy.ignore_unfixed and not finding.fixed:
            continue
        if finding.kind != "secret" and finding.severity not in policy.fail_on:
            continue
        entry = entries.get(finding.id)
        if entry is not None and entry.expires >= today:
            result.allowed.append(finding)
        else:
            result.violations.append(finding)
    result.counts = {
        source: {sev: counter.get(sev, 0) for sev in reversed(SEVERITIES)}
        for source, counter in per_source.items()
    }
    return result


def render_markdown(result: PolicyResult, policy: ScanPolicy) -> str:
    """A Markdown summary for job summaries and the release report."""
    status = "PASSED" if result.passed else "FAILED"
    lines = [
        f"## Security scan: {status}",
        "",
        f"Policy: fail on {', '.join(policy.fail_on)}; secrets always fail"
        + ("; unfixed vulnerabilities ignored" if policy.ignore_unfixed else "")
        + ".",
        "",
    ]
    if result.counts:
        header = list(reversed(SEVERITIES))
        lines.append("| Scan | " + " | ".join(header) + " |")
        lines.append("|---" * (len(header) + 1) + "|")
        for source, counts in sorted(result.counts.items()):
            lines.append(f"| {source} | " + " | ".join(str(counts[s]) for s in header) + " |")
        lines.append("")
    if result.violations:
        lines.append(f"### Findings that fail the policy ({len(result.violations)})")
        lines.extend(f"- {f.describe()}" for f in result.violations)
        lines.append("")
    if result.expired_allowlist:
        lines.append("### Expired allowlist entries (renew or remove in pipeline.yaml)")
        lines.extend(f"- {entry_id}" for entry_id in result.expired_allowlist)
        lines.append("")
    if result.allowed:
        lines.append(f"### Allowed by the allowlist ({len(result.allowed)})")
        lines.extend(f"- {f.describe()}" for f in result.allowed)
        lines.append("")
    return "\n".join(lines)


def failure_message(result: PolicyResult) -> str:
    """One line per reason the policy failed (for the function's error)."""
    lines = [f"scan policy violated by {len(result.violations)} finding(s):"]
    lines.extend(f"  {f.describe()}" for f in result.violations)
    lines.extend(
        f"  allowlist entry {entry_id} expired: renew it or fix the finding"
        for entry_id in result.expired_allowlist
    )
    return "\n".join(lines)
