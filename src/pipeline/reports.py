"""Summaries of pipeline steps (lint, test, scan, ci) and the release report.

Plain Python: the Dagger functions collect `StepResult`s and write what these return.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

OUTPUT_TAIL_LINES = 40


@dataclass(frozen=True)
class StepResult:
    name: str
    ok: bool
    detail: str = ""  # tail of the output, or the error

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.name}"


def tail(text: str, lines: int = OUTPUT_TAIL_LINES) -> str:
    kept = text.strip().splitlines()[-lines:]
    return "\n".join(kept)


def summary_text(title: str, results: list[StepResult]) -> str:
    """Readable summary: one line per step, then the output of each failed step."""
    failed = [r for r in results if not r.ok]
    head = f"{title}: {len(results) - len(failed)}/{len(results)} passed"
    lines = [head, *(r.line() for r in results)]
    for r in failed:
        lines.extend(["", f"--- {r.name} ---", r.detail or "(no output)"])
    return "\n".join(lines)


def summary_markdown(title: str, results: list[StepResult]) -> str:
    failed = [r for r in results if not r.ok]
    lines = [
        f"## {title}: {'PASSED' if not failed else 'FAILED'}",
        "",
        "| Step | Result |",
        "|---|---|",
        *(f"| {r.name} | {'pass' if r.ok else '**FAIL**'} |" for r in results),
    ]
    for r in failed:
        lines.extend(
            ["", f"<details><summary>{r.name}</summary>", "", "```", r.detail, "```", "</details>"]
        )
    return "\n".join(lines) + "\n"


def summary_json(title: str, results: list[StepResult]) -> str:
    return json.dumps(
        {
            "title": title,
            "passed": all(r.ok for r in results),
            "steps": [asdict(r) for r in results],
        },
        indent=2,
    )


@dataclass
class ReleaseReport:
    project: str
    revision: str
    version: str
    images: dict[str, str]  # app -> repository@sha256:digest
    tags: dict[str, list[str]]
    scan: dict[str, Any]
    sbom: dict[str, str]  # app -> file name in the report directory
    signatures: dict[str, str] = field(
        default_factory=lambda: dict[str, str]()
    )  # app -> how it was signed
    attestations: dict[str, str] = field(default_factory=lambda: dict[str, str]())

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    def to_markdown(self) -> str:
        lines = [
            f"# Release {self.version or self.revision[:12]} of {self.project}",
            "",
            f"- Revision: `{self.revision}`",
            f"- Version: `{self.version or '-'}`",
            f"- Scan: {'passed' if self.scan.get('passed') else 'FAILED'}",
            "",
            "| App | Image (by digest) | Tags | SBOM | Signature |",
            "|---|---|---|---|---|",
        ]
        for app, ref in sorted(self.images.items()):
            lines.append(
                f"| {app} | `{ref}` | {', '.join(self.tags.get(app, []))} | "
                f"{self.sbom.get(app, '-')} | {self.signatures.get(app, 'not signed')} |"
            )
        return "\n".join(lines) + "\n"
