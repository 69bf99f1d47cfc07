"""Summaries of pipeline steps (lint, test, scan, ci) and the release report.

Plain Python: the Dagger functions collect `StepResult`s and write what these return.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pipeline.config import APP_NAMES, PipelineConfig
from pipeline.plans import BuildInputs, image_plans, sbom_file
from pipeline.policy import PolicyResult

OUTPUT_TAIL_LINES = 40
ERROR_TAIL_LINES = 20  # of stderr and of stdout each, when a command failed
# ANSI escape sequences (colours, cursor moves) that tools print to a terminal-like output
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
# what the engine appends to an error message: a trace id, no use to the reader
_TRACEPARENT = re.compile(r"\s*\[traceparent:[^\]]*\]")


@dataclass(frozen=True)
class StepResult:
    name: str
    ok: bool
    detail: str = ""  # tail of the output, or the error

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.name}"


def strip_ansi(text: str) -> str:
    """Text without terminal colour codes (summary.json and .md are read in files, not a tty)."""
    return _ANSI.sub("", text)


def tail(text: str, lines: int = OUTPUT_TAIL_LINES) -> str:
    kept = strip_ansi(text).strip().splitlines()[-lines:]
    return "\n".join(kept)


def error_message(text: str) -> str:
    """An engine error message without its trace id and colour codes."""
    return tail(_TRACEPARENT.sub("", text))


def run_detail(command: list[str], exit_code: int, output: str) -> str:
    """What a step shows of a command it ran: the output tail, and on failure what failed."""
    if exit_code == 0:
        return tail(output)
    head = f"command failed with exit code {exit_code}: {shlex.join(command)}"
    return "\n".join([head, tail(output) or "(the command printed nothing)"])


def exec_error_detail(command: list[str], exit_code: int, stdout: str, stderr: str) -> str:
    """Why a command failed: the command, its exit code and the tail of stderr and stdout."""
    lines = [f"command failed with exit code {exit_code}: {shlex.join(command)}"]
    for name, text in (("stderr", stderr), ("stdout", stdout)):
        kept = tail(text, ERROR_TAIL_LINES)
        if kept:
            lines.extend([f"--- {name} (last {ERROR_TAIL_LINES} lines) ---", kept])
    if not stdout.strip() and not stderr.strip():
        lines.append("(the command printed nothing)")
    return "\n".join(lines)


def summary_text(title: str, results: list[StepResult]) -> str:
    """Readable summary: one line per step, then the output of each failed step."""
    failed = [r for r in results if not r.ok]
    head = f"{title}: {len(results) - len(failed)}/{len(results)} passed"
    lines = [head, *(r.line() for r in results)]
    for r in failed:
        lines.extend(["", f"--- {r.name} ---", strip_ansi(r.detail) or "(no output)"])
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
            [
                "",
                f"<details><summary>{r.name}</summary>",
                "",
                "```",
                strip_ansi(r.detail),
                "```",
                "</details>",
            ]
        )
    return "\n".join(lines) + "\n"


# What CI reads from an exported summary.json: `dagger call` exits 1 for every failure, so the
# outcome is in the report, not in the exit code (docs/ci.md).
Outcome = Literal["passed", "failed"]


def outcome(results: list[StepResult]) -> Outcome:
    return "passed" if all(r.ok for r in results) else "failed"


def summary_json(title: str, results: list[StepResult]) -> str:
    return json.dumps(
        {
            "title": title,
            "outcome": outcome(results),
            "passed": all(r.ok for r in results),
            "steps": [{**asdict(r), "detail": strip_ansi(r.detail)} for r in results],
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


def release_report(
    config: PipelineConfig,
    inputs: BuildInputs,
    refs: dict[str, str],
    policy: PolicyResult,
    signed: dict[str, dict[str, str]],
) -> ReleaseReport:
    """The release report from what the release has in hand: digests, verdict, signatures."""
    plans = image_plans(config, inputs)
    return ReleaseReport(
        project=config.project,
        revision=inputs.revision,
        version=inputs.version,
        images=dict(refs),
        tags={app: plans[app].tags for app in APP_NAMES},
        scan={"passed": policy.passed, "counts": policy.counts},
        sbom={app: f"sbom/{sbom_file(app, config.sbom.format)}" for app in APP_NAMES},
        signatures={app: s["signature"] for app, s in signed.items()},
        attestations={app: s.get("attestation", "") for app, s in signed.items()},
    )
