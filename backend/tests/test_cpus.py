"""Sizing of the argon2 pool: affinity and cgroup CPU limits (fake cgroup trees, and real ones)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cpus import affinity_cpus, cgroup_cpu_limit, usable_cpus

BACKEND = Path(__file__).resolve().parents[1]
V1_CPU_ROOT = Path("/sys/fs/cgroup/cpu")


def fake_tree(tmp_path: Path, cgroup: str, mountinfo: str, files: dict[str, str]) -> tuple[Path, Path]:
    """A fake /proc/self (cgroup, mountinfo) and a fake root holding the given cgroup files."""
    proc, root = tmp_path / "proc-self", tmp_path / "root"
    proc.mkdir()
    (proc / "cgroup").write_text(cgroup)
    (proc / "mountinfo").write_text(mountinfo)
    for name, content in files.items():
        path = root / name.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content + "\n")
    return proc, root


V2_NAMESPACED = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
# This build machine's layout: cgroup v1 hybrid, cpu and cpuacct as separate hierarchies.
V1_HYBRID = (
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
)


def test_cgroup_v2_cpu_max_caps_the_affinity(tmp_path: Path) -> None:
    proc, root = fake_tree(tmp_path, "0::/\n", V2_NAMESPACED, {"/sys/fs/cgroup/cpu.max": "150000 100000"})
    assert cgroup_cpu_limit(proc, root) == 1.5
    assert usable_cpus(proc, root, affinity=64) == 2  # 1.5 CPUs keep two threads partly busy
    assert usable_cpus(proc, root, affinity=1) == 1  # the affinity mask is tighter


def test_cgroup_v2_without_a_limit_leaves_the_affinity(tmp_path: Path) -> None:
    proc, root = fake_tree(tmp_path, "0::/\n", V2_NAMESPACED, {"/sys/fs/cgroup/cpu.max": "max 100000"})
    assert cgroup_cpu_limit(proc, root) is None
    assert usable_cpus(proc, root, affinity=6) == 6


def test_cgroup_v2_reads_every_level_up_to_the_mount(tmp_path: Path) -> None:
    # Kubernetes without a cgroup namespace: the pod's limit sits one level above the container's.
    proc, root = fake_tree(
        tmp_path,
        "0::/kubepods.slice/pod1/ctr\n",
        V2_NAMESPACED,
        {
            "/sys/fs/cgroup/kubepods.slice/cpu.max": "max 100000",
            "/sys/fs/cgroup/kubepods.slice/pod1/cpu.max": "50000 100000",
            "/sys/fs/cgroup/kubepods.slice/pod1/ctr/cpu.max": "400000 100000",
        },
    )
    assert cgroup_cpu_limit(proc, root) == 0.5
    assert usable_cpus(proc, root, affinity=16) == 1


def test_cgroup_v1_hybrid_quota_and_period(tmp_path: Path) -> None:
    proc, root = fake_tree(
        tmp_path,
        "4:memory:/\n2:cpuacct:/\n1:cpu:/kubepods/pod1/ctr\n0::/\n",
        V1_HYBRID,
        {
            "/sys/fs/cgroup/cpu/kubepods/pod1/ctr/cpu.cfs_quota_us": "-1",
            "/sys/fs/cgroup/cpu/kubepods/pod1/ctr/cpu.cfs_period_us": "100000",
            "/sys/fs/cgroup/cpu/kubepods/pod1/cpu.cfs_quota_us": "300000",
            "/sys/fs/cgroup/cpu/kubepods/pod1/cpu.cfs_period_us": "100000",
            # Hybrid mode: the unified hierarchy has no cpu controller, so no cpu.max anywhere.
        },
    )
    assert cgroup_cpu_limit(proc, root) == 3.0
    assert usable_cpus(proc, root, affinity=64) == 3


def test_cgroup_v1_docker_mount_shows_only_the_container(tmp_path: Path) -> None:
    # Docker on cgroup v1: /proc/self/cgroup names /docker/<id>, which is the mount's own root.
    mountinfo = "40 31 0:37 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro,nosuid - cgroup cgroup rw,cpu,cpuacct\n"
    proc, root = fake_tree(
        tmp_path,
        "3:cpu,cpuacct:/docker/abc\n",
        mountinfo,
        {
            "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "200000",
            "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000",
        },
    )
    assert cgroup_cpu_limit(proc, root) == 2.0
    assert usable_cpus(proc, root, affinity=4) == 2


def test_unlimited_missing_or_garbled_cgroups_fall_back_to_the_affinity(tmp_path: Path) -> None:
    assert cgroup_cpu_limit(tmp_path / "no-proc", tmp_path) is None
    proc, root = fake_tree(
        tmp_path,
        "1:cpu:/\n0::/\n",
        V1_HYBRID,
        {
            "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "lots",
            "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000",
            "/sys/fs/cgroup/unified/cpu.max": "garbage",
        },
    )
    assert cgroup_cpu_limit(proc, root) is None
    assert usable_cpus(proc, root, affinity=3) == 3
    assert usable_cpus(proc, root, affinity=0) == 1


def hash_workers(preexec: object = None) -> int:
    """HASH_WORKERS as a fresh interpreter computes it at import (the size of the argon2 pool)."""
    result = subprocess.run(
        [sys.executable, "-c", "from app import security; print(security.HASH_WORKERS)"],
        cwd=BACKEND,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=preexec,  # type: ignore[arg-type]
        check=True,
    )
    return int(result.stdout)


def test_this_machine_pool_follows_the_real_affinity() -> None:
    assert hash_workers() == usable_cpus() <= affinity_cpus() <= (os.cpu_count() or 1)
    assert hash_workers(lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})) == 1


@pytest.fixture
def real_v1_cgroup() -> Iterator[Path]:
    """A real cgroup v1 cpu hierarchy node with a child, removed afterwards (needs root)."""
    parent = V1_CPU_ROOT / f"blog-creator-test-{uuid.uuid4().hex[:8]}"
    try:
        parent.mkdir()
    except OSError as error:
        pytest.skip(f"cannot create a cgroup v1 cpu group here ({error}); the fake-tree tests cover the logic")
    child = parent / "worker"
    child.mkdir()
    try:
        yield parent
    finally:
        for group in (child, parent):
            group.rmdir()


def test_a_real_cgroup_v1_quota_of_the_parent_limits_the_pool(real_v1_cgroup: Path) -> None:
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs at least 2 CPUs to see a limit below the affinity")
    (real_v1_cgroup / "cpu.cfs_period_us").write_text("100000")
    (real_v1_cgroup / "cpu.cfs_quota_us").write_text("50000")  # half a CPU, on the parent only
    procs = real_v1_cgroup / "worker" / "cgroup.procs"
    assert hash_workers(lambda: procs.write_text(str(os.getpid()))) == 1


def test_without_an_affinity_call_the_host_count_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delattr(os, "sched_getaffinity")
    monkeypatch.setattr(os, "cpu_count", lambda: 12)
    assert affinity_cpus() == 12
    # Lines that are not mount entries are ignored, not fatal.
    proc, root = fake_tree(tmp_path, "0::/\n", "garbage line\n" + V2_NAMESPACED, {"/sys/fs/cgroup/cpu.max": "200000 100000"})
    assert usable_cpus(proc, root) == 2
