"""The release report of one deploy/rollback/promote/abort: JSON for machines, Markdown for people.

Holds the environment, revisions before/after, digests, strategy, each phase with its timing,
the gates, the verification results and the rollback, if any. Never holds secrets: only names
of files, image references and tool messages.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

# Exit codes of the orchestrator CLI (documented in docs/deploy.md).
EXIT_OK = 0
EXIT_ROLLED_BACK = 1  # verification failed; the previous revision was restored and verified
EXIT_REFUSED = 2  # bad input, a gate refused, or the cluster could not be reached: nothing applied
EXIT_NOT_RESTORED = 3  # verification failed and the previous state could not be restored


@dataclass(frozen=True)
class PhaseRecord:
    name: str
    status: str  # ok | failed | skipped
    seconds: float
    detail: str = ""


@dataclass(frozen=True)
class CheckRecord:
    """One gate or verification check: passed, failed, or skipped (not run: never a pass)."""

    name: str
    passed: bool
    detail: str
    skipped: bool = False

    @classmethod
    def not_run(cls, name: str, why: str) -> CheckRecord:
        return cls(name, False, f"skipped: {why}", skipped=True)

    @property
    def failed(self) -> bool:
        return not self.passed and not self.skipped

    @property
    def mark(self) -> str:
        return "⏭️" if self.skipped else "✅" if self.passed else "❌"


@dataclass
class RollbackRecord:
    reason: str
    method: str  # e.g. "rollouts abort + helm rollback to revision 4"
    to_revision: int | None
    restored: bool
    detail: str


@dataclass
class DeployReport:
    action: str
    env: str
    namespace: str
    release: str
    strategy: str
    dry_run: bool = False
    images: dict[str, str] = field(default_factory=lambda: dict[str, str]())
    revision_before: int | None = None
    revision_after: int | None = None  # serving at the end (after a rollback: the restored one)
    revision_attempted: int | None = None  # what this deploy applied
    outcome: str = (
        "pending"  # succeeded | awaiting-promotion | refused | rolled-back | failed | dry-run
    )
    exit_code: int = EXIT_OK
    message: str = ""
    approved_by: str | None = None
    # Approval evidence as the caller stated it: {environment, run_url, actor} (not verified).
    approval: dict[str, str] | None = None
    gates: list[CheckRecord] = field(default_factory=lambda: list[CheckRecord]())
    phases: list[PhaseRecord] = field(default_factory=lambda: list[PhaseRecord]())
    verification: list[CheckRecord] = field(default_factory=lambda: list[CheckRecord]())
    rollback: RollbackRecord | None = None
    rendered: list[str] = field(default_factory=lambda: list[str]())
    details: str = ""  # status/diff text
    manifest: str = field(default="", repr=False)  # dry run: the rendered YAML (own file)
    total_seconds: float = 0.0

    def phase_seconds(self) -> float:
        return round(sum(p.seconds for p in self.phases), 3)


def to_json(report: DeployReport) -> dict[str, object]:
    data = asdict(report)
    del data["manifest"]
    data["phase_seconds_total"] = report.phase_seconds()
    return data


def to_markdown(report: DeployReport) -> str:
    r = report
    title = f"# {r.action} `{r.env}`: {r.outcome}"
    lines = [
        title,
        "",
        r.message,
        "",
        "| | |",
        "|---|---|",
        f"| environment | {r.env} (namespace `{r.namespace}`, release `{r.release}`) |",
        f"| strategy | {r.strategy} |",
        f"| revision | {_rev(r.revision_before)} → {_rev(r.revision_after)} |",
        *(
            [f"| revision attempted | {r.revision_attempted} (rolled back) |"]
            if r.rollback and r.revision_attempted
            else []
        ),
        f"| dry run | {'yes' if r.dry_run else 'no'} |",
        f"| total time | {r.total_seconds:.1f} s |",
        f"| exit code | {r.exit_code} |",
    ]
    if r.approved_by:
        lines.append(f"| approved by | {_cell(r.approved_by)} |")
    if r.approval:
        a = r.approval
        lines.append(
            f"| approval (as stated by the caller) | GitHub environment "
            f"`{_cell(a.get('environment', ''))}`, run {_cell(a.get('run_url', ''))}, "
            f"actor `{_cell(a.get('actor', ''))}` |"
        )
    for app, ref in r.images.items():
        lines.append(f"| {app} image | `{ref}` |")
    if r.gates:
        lines += ["", "## Gates", ""]
        lines += [f"- {g.mark} **{g.name}**: {g.detail}" for g in r.gates]
    if r.phases:
        lines += [
            "",
            "## Phases",
            "",
            "| phase | status | seconds | detail |",
            "|---|---|---:|---|",
        ]
        lines += [
            f"| {p.name} | {p.status} | {p.seconds:.2f} | {_cell(p.detail)} |" for p in r.phases
        ]
    if r.verification:
        lines += ["", "## Verification", ""]
        lines += [f"- {c.mark} **{c.name}**: {c.detail}" for c in r.verification]
        skipped = [c.name for c in r.verification if c.skipped]
        if skipped:
            lines += ["", f"**Not verified** (skipped): {', '.join(skipped)}"]
    if r.rollback:
        b = r.rollback
        lines += [
            "",
            "## Rollback",
            "",
            f"- reason: {b.reason}",
            f"- method: {b.method}",
            f"- restored: {'yes' if b.restored else 'NO'} (revision {_rev(b.to_revision)})",
            f"- detail: {b.detail}",
        ]
    if r.rendered:
        lines += ["", "## Rendered objects", ""] + [f"- {name}" for name in r.rendered]
    if r.details:
        lines += ["", "## Details", "", "```", r.details.rstrip(), "```"]
    return "\n".join(lines) + "\n"


def write(report: DeployReport, directory: str | Path) -> tuple[Path, Path]:
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{report.action}-{report.env}"
    json_path, md_path = out / f"{stem}.json", out / f"{stem}.md"
    json_path.write_text(json.dumps(to_json(report), indent=2) + "\n", encoding="utf-8")
    md_path.write_text(to_markdown(report), encoding="utf-8")
    if report.manifest:
        (out / f"{stem}.rendered.yaml").write_text(report.manifest, encoding="utf-8")
    return json_path, md_path


def _rev(value: int | None) -> str:
    return "none" if value is None else str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:300]
