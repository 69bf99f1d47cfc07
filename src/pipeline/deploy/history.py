"""Delivery history: the key facts of every deploy/promote/abort/rollback, kept in the cluster.

Each of those actions appends one `DeployRecord` (commit, commit time, digests, strategy,
start/end, outcome, rolled back or not, restore time) to a ConfigMap in the environment's
namespace, `<release>-deploy-history`, key `records.json`: the next deploy and `metrics`
read it back without any extra service. The ConfigMap stays bounded: the newest
`limit` records, and never more than `MAX_BYTES` of JSON (a ConfigMap holds at most 1 MiB).

Writes are server-side applies carrying the resourceVersion that was read (optimistic
locking): two runs appending at once do not lose a record, the loser re-reads and retries.
Recording never changes a deploy's outcome: a failure is reported on stderr only.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import cast

from .kube import KUBECTL_TIMEOUT_S, as_dict
from .report import DeployReport
from .request import DeployInputError, DeployTarget, parse_json
from .tools import ClusterTools

DATA_KEY = "records.json"
FIELD_MANAGER = "pipeline-deploy-history"
DEFAULT_LIMIT = 200
MAX_LIMIT = 2000
# Half of the API server's 1 MiB object limit: metadata and managedFields fit beside it.
MAX_BYTES = 512 * 1024
RECORDED_ACTIONS = ("deploy", "promote", "abort", "rollback")
# Outcomes that applied nothing (no change, nothing to record).
NOT_APPLIED = ("refused", "dry-run", "pending")
WRITE_ATTEMPTS = 3


def configmap_name(release: str) -> str:
    return f"{release}-deploy-history"


@dataclass(frozen=True)
class DeployRecord:
    """What one action did, as the delivery metrics need it. Times are RFC 3339 UTC."""

    action: str  # deploy | promote | abort | rollback
    env: str
    outcome: str  # the report's: succeeded | awaiting-promotion | rolled-back | failed
    strategy: str
    started: str
    finished: str
    commit: str = ""
    commit_time: str = ""  # when the commit was made (lead time = live - commit_time)
    images: dict[str, str] = field(default_factory=lambda: dict[str, str]())  # app -> digest
    revision: int | None = None  # serving at the end
    revision_attempted: int | None = None
    rolled_back: bool = False  # this action's own automatic rollback ran
    restored: bool = False  # ... and restored the previous revision, verified
    applied: str = ""  # when `helm upgrade` started (the change reached the cluster)
    restore_seconds: float | None = None  # automatic rollback: applied -> restored

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: object, where: str) -> DeployRecord:
        raw = as_dict(data)  # unknown keys are ignored: newer writers may add some
        text: dict[str, str] = {}
        for name in ("action", "env", "outcome", "strategy", "started", "finished"):
            value = raw.get(name)
            if not isinstance(value, str) or not value:
                raise DeployInputError(f"{where}.{name}: missing (not a deploy history record)")
            text[name] = value
        for name in ("started", "finished"):
            parse_time(text[name], f"{where}.{name}")
        for name in ("commit", "commit_time", "applied"):
            value = raw.get(name, "")
            text[name] = value if isinstance(value, str) else ""
        seconds = raw.get("restore_seconds")
        return cls(
            **text,
            images={str(k): str(v) for k, v in as_dict(raw.get("images")).items()},
            revision=_int_or_none(raw.get("revision")),
            revision_attempted=_int_or_none(raw.get("revision_attempted")),
            rolled_back=raw.get("rolled_back") is True,
            restored=raw.get("restored") is True,
            restore_seconds=float(seconds)
            if isinstance(seconds, int | float) and not isinstance(seconds, bool)
            else None,
        )


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_time(text: str, where: str) -> dt.datetime:
    """An RFC 3339 / ISO 8601 time; without a zone it is taken as UTC."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise DeployInputError(
            f"{where}: {text!r} is not an RFC 3339 time like 2026-12-01T09:30:00Z"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _digest(ref: str) -> str:
    return ref.split("@", 1)[1] if "@" in ref else ref


def record_from_report(
    report: DeployReport, finished: dt.datetime, commit: str = "", commit_time: str = ""
) -> DeployRecord:
    """The record of a finished action. Wall-clock start = end - the report's total time;
    the change reached the cluster when the `apply` phase began (phases are in order)."""
    started = finished - dt.timedelta(seconds=report.total_seconds)
    applied = ""
    offset = 0.0
    for phase in report.phases:
        if phase.name == "apply":
            applied = iso(started + dt.timedelta(seconds=offset))
            break
        offset += phase.seconds
    rollback = report.rollback
    rolled_back = rollback is not None and rollback.method != "none"
    restored = bool(rollback and rollback.restored)
    restore_seconds = None
    if restored and applied:
        restore_seconds = round((finished - parse_time(applied, "applied")).total_seconds(), 3)
    if commit_time:
        commit_time = iso(parse_time(commit_time, "--commit-time"))
    return DeployRecord(
        action=report.action,
        env=report.env,
        outcome=report.outcome,
        strategy=report.strategy,
        started=iso(started),
        finished=iso(finished),
        commit=commit,
        commit_time=commit_time,
        images={app: _digest(ref) for app, ref in report.images.items()},
        revision=report.revision_after,
        revision_attempted=report.revision_attempted,
        rolled_back=rolled_back and report.action != "rollback",
        restored=restored,
        applied=applied,
        restore_seconds=restore_seconds,
    )


def should_record(report: DeployReport) -> bool:
    return (
        report.action in RECORDED_ACTIONS
        and not report.dry_run
        and report.outcome not in NOT_APPLIED
    )


def trim(
    records: Sequence[DeployRecord], limit: int, max_bytes: int = MAX_BYTES
) -> list[DeployRecord]:
    """The newest `limit` records whose JSON fits in `max_bytes` (oldest dropped first)."""
    kept = list(records)[-limit:] if limit > 0 else []
    while kept and len(encode(kept)) > max_bytes:
        kept = kept[max(1, len(kept) // 10) :]  # drop the oldest tenth (at least one)
    return kept


def encode(records: Sequence[DeployRecord]) -> bytes:
    return json.dumps([r.to_json() for r in records], separators=(",", ":")).encode()


def decode(text: str, where: str) -> list[DeployRecord]:
    data = parse_json(text, where)
    if not isinstance(data, list):
        raise DeployInputError(f"{where}: must be a JSON list of records")
    return [
        DeployRecord.from_json(item, f"{where}[{i}]")
        for i, item in enumerate(cast(list[object], data))
    ]


def load(tools: ClusterTools, namespace: str, release: str) -> tuple[list[DeployRecord], str, str]:
    """(records oldest first, resourceVersion or "" when absent, error or "")."""
    name = configmap_name(release)
    done = tools.run(
        "kubectl",
        ["get", "configmap", name, "--namespace", namespace, "--output", "json"],
        KUBECTL_TIMEOUT_S,
    )
    if not done.ok:
        if "notfound" in done.reason().lower().replace(" ", ""):
            return [], "", ""
        return [], "", f"cannot read configmap/{name} in {namespace}: {done.reason(3)}"
    obj = as_dict(parse_json(done.stdout, f"configmap/{name}"))
    version = str(as_dict(obj.get("metadata")).get("resourceVersion", ""))
    text = as_dict(obj.get("data")).get(DATA_KEY)
    if not isinstance(text, str) or not text.strip():
        return [], version, ""
    return decode(text, f"configmap/{name} {DATA_KEY}"), version, ""


def configmap(
    namespace: str, release: str, records: Sequence[DeployRecord], resource_version: str
) -> dict[str, object]:
    metadata: dict[str, object] = {
        "name": configmap_name(release),
        "namespace": namespace,
        "labels": {
            "app.kubernetes.io/managed-by": FIELD_MANAGER,
            "app.kubernetes.io/part-of": release,
        },
    }
    if resource_version:
        metadata["resourceVersion"] = resource_version  # optimistic lock
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata,
        "data": {DATA_KEY: encode(records).decode()},
    }


def append(
    tools: ClusterTools,
    target: DeployTarget,
    record: DeployRecord,
    limit: int = DEFAULT_LIMIT,
    max_bytes: int = MAX_BYTES,
) -> str:
    """Append `record` to the environment's history; returns "" or what went wrong."""
    error = ""
    for _ in range(WRITE_ATTEMPTS):
        records, version, error = load(tools, target.namespace, target.release)
        if error:
            return error
        kept = trim([*records, record], limit, max_bytes)
        error = _apply(tools, configmap(target.namespace, target.release, kept, version))
        if not error:
            return ""
        if "conflict" not in error.lower() and "modified" not in error.lower():
            return error
    return error


def _apply(tools: ClusterTools, manifest: dict[str, object]) -> str:
    # A file, not an argument: the records may exceed the kernel's 128 KiB per-argument limit.
    fd, path = tempfile.mkstemp(prefix="deploy-history-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(manifest, f)
        done = tools.run(
            "kubectl",
            ["apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "--force-conflicts"]
            + ["--filename", path],
            KUBECTL_TIMEOUT_S,
        )
    finally:
        os.unlink(path)
    return "" if done.ok else f"cannot write the deploy history: {done.reason(3)}"


def check_limit(value: int, where: str = "--history-limit") -> int:
    if not 1 <= value <= MAX_LIMIT:
        raise DeployInputError(f"{where}: {value} must be 1..{MAX_LIMIT} records")
    return value


def record(
    tools: ClusterTools,
    target: DeployTarget,
    report: DeployReport,
    *,
    commit: str = "",
    commit_time: str = "",
    limit: int = DEFAULT_LIMIT,
    now: dt.datetime | None = None,
) -> str:
    """The orchestrator's hook at the end of an action: record it when it changed something.

    Returns a line for stderr ("" when there was nothing to record)."""
    if not should_record(report):
        return ""
    entry = record_from_report(report, now or dt.datetime.now(dt.UTC), commit, commit_time)
    try:
        error = append(tools, target, entry, limit)
    except DeployInputError as e:  # an unreadable history is kept as it is, not overwritten
        error = str(e)
    name = f"configmap/{configmap_name(target.release)}"
    if error:
        return f"warning: {report.action} not recorded in {name}: {error}"
    return f"history: {report.action} {report.outcome} recorded in {name} ({target.namespace})"


def release_commit(path: str | None) -> str:
    """The commit (`revision`) a release report names, "" when absent or unreadable."""
    if not path:
        return ""
    try:
        with open(path, encoding="utf-8") as f:
            value = as_dict(json.load(f)).get("revision")
    except (OSError, ValueError):
        return ""  # the deploy's own --release-report check reports that
    return value if isinstance(value, str) else ""
