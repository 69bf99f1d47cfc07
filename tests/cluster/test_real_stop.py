"""`k8s-cluster.sh stop` leaves no process of a real cluster behind, including the daemons whose
command line names only the control plane's files (the Prometheus Operator: it once survived
every stop, ten of them were found running against API servers long gone)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from cluster_real_support import prometheus_built, real_missing, start_real, stop_real
from cluster_support import skip_or_fail

CACHE = Path(os.environ.get("K8S_CLUSTER_CACHE", Path.home() / ".cache/blog-creator/k8s-cluster"))


def processes_of(cluster: str) -> dict[int, str]:
    """Processes running a binary of the cluster cache whose arguments name this cluster."""
    found: dict[int, str] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            exe = os.readlink(proc / "exe")
            args = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if exe.startswith(f"{CACHE}/") and f"/{cluster}/" in args:
            found[int(proc.name)] = args[:160]
    return found


def test_stop_removes_every_daemon_of_a_real_cluster_with_prometheus() -> None:
    missing = real_missing()
    if missing or not prometheus_built():
        skip_or_fail(
            f"no real node with Prometheus built ({missing or 'Prometheus missing'}): "
            "run `scripts/k8s-cluster.sh build --real --with-prometheus`"
        )
    name = f"stop-{uuid.uuid4().hex[:6]}"
    try:
        start_real(name, "--with-prometheus")
        running = processes_of(name)
        assert any("operator" in args for args in running.values()), running
    finally:
        stop_real(name)
    left = {pid: args for pid, args in processes_of(name).items() if pid in running}
    assert left == {}, f"stop left these processes of {name} running: {left}"
