"""Delivery metrics (the four DORA keys) computed from an environment's deploy history.

Pure computation over `history.DeployRecord`s; the definitions (docs/deploy.md, "Delivery
metrics") are:

- **change**: a `deploy` that applied something (outcome succeeded, awaiting-promotion,
  rolled-back or failed; refused and dry runs changed nothing and are not recorded).
  What follows it until the next deploy (promote, abort, rollback) decides its fate.
- **live**: the change serves all traffic: the deploy succeeded, or (canary/blue-green) a
  later `promote` succeeded with the rollout fully promoted.
- **failed change**: the deploy was rolled back automatically (rolled-back) or could not be
  restored (failed), a promote of it failed verification, or an operator aborted it
  (`abort`: an aborted canary served users and was pulled, so it IS a failed change) or
  rolled it back (`rollback`) before the next deploy.
- **deployment frequency**: changes that went live in the window / days of the window.
- **lead time for changes**: live time - commit time, median over the live changes whose
  deploy carried `--commit-time`.
- **change failure rate**: failed changes / decided changes (a canary still paused at a
  promotion point is undecided and counted in neither).
- **time to restore**: from the moment the failing change reached users (automatic
  rollback: when `helm upgrade` started; operator abort/rollback: when the change went out)
  until a verified restore (the rollback's end; for a change that was not restored, the end
  of the next successful rollback or deploy), median over the restored failures.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from .history import DeployRecord, parse_time

APPLIED = ("succeeded", "awaiting-promotion", "rolled-back", "failed")


@dataclass
class Change:
    """One deploy and what became of it."""

    deploy: DeployRecord
    live_at: dt.datetime | None = None
    failed: bool = False
    failed_at: dt.datetime | None = None  # when the failing change reached users
    restored_at: dt.datetime | None = None
    decided: bool = True


@dataclass(frozen=True)
class Metrics:
    env: str
    days: int
    since: str
    until: str
    deployments: int  # changes that went live
    deployment_frequency_per_day: float
    lead_time_median_seconds: float | None
    lead_time_samples: int
    changes: int  # decided changes
    failed_changes: int
    change_failure_rate: float | None
    time_to_restore_median_seconds: float | None
    restore_samples: int
    unrestored_failures: int
    records: int
    without_commit_time: int
    notes: list[str] = field(default_factory=lambda: list[str]())

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def _time(text: str) -> dt.datetime:
    return parse_time(text, "record time")


def changes(records: Sequence[DeployRecord]) -> list[Change]:
    """Group records (any order) into changes, each deploy with its follow-up actions."""
    found: list[Change] = []
    for rec in sorted(records, key=lambda r: _time(r.finished)):
        end = _time(rec.finished)
        if rec.action == "deploy":
            if rec.outcome not in APPLIED:
                continue
            change = Change(rec)
            if rec.outcome == "succeeded":
                change.live_at = end
            elif rec.outcome == "awaiting-promotion":
                change.decided = False
            else:  # rolled-back | failed: verification failed after the apply
                change.failed = True
                change.failed_at = _time(rec.applied) if rec.applied else _time(rec.started)
                if rec.outcome == "rolled-back" and rec.restored:
                    change.restored_at = end
            if rec.outcome == "succeeded":  # an earlier failure not restored ends here
                _restore_open(found, end)
            found.append(change)
            continue
        if rec.action == "rollback" and rec.outcome == "succeeded":
            if found and not found[-1].failed and found[-1].decided:
                current = found[-1]
                current.failed = True
                current.failed_at = current.live_at or _time(current.deploy.finished)
            elif found and not found[-1].decided:
                _fail_paused(found[-1])
            _restore_open(found, end)
            continue
        if not found:
            continue  # a follow-up whose deploy is older than the history
        current = found[-1]
        if rec.action == "promote" and not current.failed:
            if rec.outcome == "succeeded":
                current.live_at, current.decided = end, True
            elif rec.outcome == "failed":
                _fail_paused(current)
        elif rec.action == "abort" and rec.outcome == "succeeded" and not current.failed:
            if current.decided:  # fully promoted, then pulled
                current.failed, current.failed_at = True, current.live_at
            else:
                _fail_paused(current)
            current.restored_at = end  # abort puts all traffic back on the stable version
    return found


def _fail_paused(change: Change) -> None:
    change.failed, change.decided = True, True
    change.live_at = None
    change.failed_at = _time(change.deploy.finished)  # the canary went out at the deploy's end


def _restore_open(found: list[Change], at: dt.datetime) -> None:
    for change in found:
        if change.failed and change.restored_at is None:
            change.restored_at = at


def compute(records: Sequence[DeployRecord], env: str, days: int, now: dt.datetime) -> Metrics:
    """The four metrics over changes whose deploy finished in (now - days, now]."""
    since = now - dt.timedelta(days=days)
    window = [c for c in changes(records) if since < _time(c.deploy.finished) <= now]
    went_live = [c for c in window if c.live_at is not None]
    leads = [
        (c.live_at - _time(c.deploy.commit_time)).total_seconds()
        for c in went_live
        if c.live_at is not None and c.deploy.commit_time
    ]
    decided = [c for c in window if c.decided]
    failed = [c for c in decided if c.failed]
    restores = [
        (c.restored_at - c.failed_at).total_seconds()
        for c in failed
        if c.restored_at is not None and c.failed_at is not None
    ]
    notes: list[str] = []
    undecided = len(window) - len(decided)
    if undecided:
        notes.append(f"{undecided} change(s) paused at a promotion point (undecided)")
    missing = sum(1 for c in went_live if not c.deploy.commit_time)
    if missing:
        notes.append(f"{missing} live change(s) without --commit-time (not in the lead time)")
    return Metrics(
        env=env,
        days=days,
        since=_iso(since),
        until=_iso(now),
        deployments=len(went_live),
        deployment_frequency_per_day=round(len(went_live) / days, 3),
        lead_time_median_seconds=_median(leads),
        lead_time_samples=len(leads),
        changes=len(decided),
        failed_changes=len(failed),
        change_failure_rate=round(len(failed) / len(decided), 4) if decided else None,
        time_to_restore_median_seconds=_median(restores),
        restore_samples=len(restores),
        unrestored_failures=len(failed) - len(restores),
        records=len(records),
        without_commit_time=missing,
        notes=notes,
    )


def _median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def duration(seconds: float | None) -> str:
    """`1 d 2 h`, `3 h 5 min`, `4 min 10 s`, `12 s`; `-` for no value."""
    if seconds is None:
        return "-"
    s = round(seconds)
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def to_markdown(m: Metrics) -> str:
    rate = "-" if m.change_failure_rate is None else f"{m.change_failure_rate * 100:.1f} %"
    lines = [
        f"# Delivery metrics `{m.env}`: last {m.days} days",
        "",
        f"{m.since} → {m.until}, {m.records} records in the deploy history.",
        "",
        "| metric | value | based on |",
        "|---|---|---|",
        (
            f"| deployment frequency | {m.deployment_frequency_per_day:g} per day"
            f" ({m.deployments * 7 / m.days:.1f} per week) | {m.deployments} live deployments |"
        ),
        (
            f"| median lead time for changes | {duration(m.lead_time_median_seconds)} |"
            f" {m.lead_time_samples} deployments with a commit time |"
        ),
        f"| change failure rate | {rate} | {m.failed_changes} failed of {m.changes} changes |",
        f"| median time to restore | {duration(m.time_to_restore_median_seconds)} |"
        f" {m.restore_samples} restored failures"
        + (f", {m.unrestored_failures} not restored" if m.unrestored_failures else "")
        + " |",
    ]
    if m.notes:
        lines += ["", *[f"- {n}" for n in m.notes]]
    return "\n".join(lines) + "\n"
