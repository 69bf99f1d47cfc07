"""How many CPUs this process may use: its CPU affinity, capped by its cgroup's CPU limit.

`os.cpu_count()` is the host's count: inside a container limited to one CPU on a 64-core node it
still says 64. The kernel enforces two things instead: the affinity mask (cpusets, `taskset`)
and the CFS bandwidth limit of the cgroup (`docker --cpus`, Kubernetes `limits.cpu`), found in
cgroup v2's `cpu.max` or cgroup v1's `cpu.cfs_quota_us` / `cpu.cfs_period_us`. Limits of parent
cgroups apply too, so every level from the process's cgroup up to the mount is read.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

PROC_SELF = Path("/proc/self")


@dataclass(frozen=True)
class _Mount:
    fstype: str  # "cgroup2" or "cgroup"
    root: str  # the cgroup path that this mount shows at its mount point
    mount_point: Path
    controllers: frozenset[str]


def affinity_cpus() -> int:
    """CPUs in this process's affinity mask (the host count where the OS has no such call)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _mounts(mountinfo: str, root: Path) -> list[_Mount]:
    mounts = []
    for line in mountinfo.splitlines():
        # id parent major:minor root mount-point options [optional fields] - fstype source super-options
        before, separator, after = line.partition(" - ")
        if not separator:
            continue
        fields, tail = before.split(), after.split()
        if len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        mount_point = root / fields[4].replace("\\040", " ").lstrip("/")
        mounts.append(_Mount(tail[0], fields[3], mount_point, frozenset(tail[2].split(","))))
    return mounts


def _memberships(cgroup: str) -> list[tuple[str, frozenset[str], str]]:
    """Lines of /proc/self/cgroup: (hierarchy kind, controllers, path)."""
    out = []
    for line in cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            hierarchy, controllers, path = parts
            kind = "cgroup2" if hierarchy == "0" and controllers == "" else "cgroup"
            out.append((kind, frozenset(controllers.split(",")), path))
    return out


def _levels(mount: _Mount, path: str) -> list[Path]:
    """The process's cgroup directory under this mount and each parent up to the mount point."""
    relative = os.path.relpath(path, mount.root) if path.startswith(mount.root) else "."
    # A cgroup namespace or a bind mount of a subtree may hide the path: use the mount point.
    parts = [] if relative in (".", "") or relative.startswith("..") else Path(relative).parts
    return [mount.mount_point.joinpath(*parts[:depth]) for depth in range(len(parts), -1, -1)]


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _v2_limit(directory: Path) -> float | None:
    text = _read(directory / "cpu.max")  # "max 100000" or "<quota> <period>"
    if not text:
        return None
    quota, _, period = text.partition(" ")
    if quota == "max":
        return None
    try:
        return int(quota) / int(period or "100000")
    except (ValueError, ZeroDivisionError):
        return None


def _v1_limit(directory: Path) -> float | None:
    quota, period = _read(directory / "cpu.cfs_quota_us"), _read(directory / "cpu.cfs_period_us")
    try:
        quota_us, period_us = int(quota or "-1"), int(period or "0")
    except ValueError:
        return None
    if quota_us <= 0 or period_us <= 0:  # -1: no limit
        return None
    return quota_us / period_us


def cgroup_cpu_limit(proc_self: Path = PROC_SELF, root: Path = Path("/")) -> float | None:
    """The tightest CFS bandwidth limit over this process's cgroups, in CPUs; None if unlimited.

    `root` is prepended to mount points (tests point it at a fake tree)."""
    cgroup, mountinfo = _read(proc_self / "cgroup"), _read(proc_self / "mountinfo")
    if cgroup is None or mountinfo is None:
        return None
    limits: list[float] = []
    mounts = _mounts(mountinfo, root)
    for kind, controllers, path in _memberships(cgroup):
        if kind == "cgroup" and "cpu" not in controllers:
            continue
        for mount in mounts:
            if mount.fstype != kind or (kind == "cgroup" and "cpu" not in mount.controllers):
                continue
            read = _v2_limit if kind == "cgroup2" else _v1_limit
            limits.extend(limit for limit in map(read, _levels(mount, path)) if limit is not None)
    return min(limits) if limits else None


def usable_cpus(proc_self: Path = PROC_SELF, root: Path = Path("/"), affinity: int | None = None) -> int:
    """Whole CPUs this process can keep busy: min(affinity, ceil(cgroup limit)), at least 1."""
    count = affinity if affinity is not None else affinity_cpus()
    limit = cgroup_cpu_limit(proc_self, root)
    if limit is not None:
        count = min(count, math.ceil(limit))
    return max(1, count)
