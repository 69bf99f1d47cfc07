"""The two-deploy rehearsal of `deploy --env local`, run in-process for tests.

`rehearse_run(tmp_path, cluster, clock)` runs `pipeline.deploy.rehearse.main` — the runtime's
real code, with the repository's chart, pipeline.yaml target and values files — against a
recording fake cluster (tests/deploy/deploy_fakes.py; no k3s or Argo Rollouts controller runs
here) and a loopback one-shot kubeconfig handoff like the k3s service's. Used by
tests/module/test_local_rehearsal.py and tests/workflows/test_nightly_rehearsal.py (which
checks the nightly's steps on the reports this writes).
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy_fakes import FakeClock, FakeCluster

from pipeline.config import parse_config_text
from pipeline.deploy import rehearse
from pipeline.deploy_targets import target_for

ROOT = Path(__file__).resolve().parents[2]
DIGEST = "sha256:" + "e" * 64
BACKEND = f"ghcr.io/blog-creator-agent/blog-creator-agent/backend@{DIGEST}"
FRONTEND = f"ghcr.io/blog-creator-agent/blog-creator-agent/frontend@{DIGEST}"


def local_target() -> dict[str, Any]:
    config = parse_config_text((ROOT / "pipeline.yaml").read_text())
    return target_for(config, "local").to_json()


KUBECONFIG_TEXT = (
    "apiVersion: v1\nclusters:\n- cluster:\n    server: https://k3s:6443\n  name: default\n"
    "users:\n- name: default\n  user:\n    client-key-data: placeholder\n"
)


class OneShotHandoff:
    """The k3s service's handoff on loopback: serves the kubeconfig once, counts connections."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        served = False
        for _ in range(600):  # bounded: 60 s at most
            if self.stopped.is_set():
                return
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                self.connections += 1
                if not served:
                    conn.sendall(KUBECONFIG_TEXT.encode())
                    served = True

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        self.sock.close()


ANALYSIS_RUN = {
    "metadata": {
        "name": "blog-creator-backend-6c9f7d-2-1",
        "ownerReferences": [{"kind": "Rollout", "name": "blog-creator-backend"}],
    },
    "status": {"phase": "Successful"},
}


@dataclass
class RolloutsCluster(FakeCluster):
    """The fake cluster, plus the AnalysisRuns the Argo Rollouts controller would have made."""

    analysis_runs: list[dict[str, Any]] = field(default_factory=lambda: [ANALYSIS_RUN])

    def _kubectl(self, argv: tuple[str, ...]) -> Any:
        if argv[:2] == ("get", "analysisruns.argoproj.io"):
            return self._ok(argv, json.dumps({"items": self.analysis_runs}))
        return super()._kubectl(argv)


def rehearse_run(
    tmp_path: Path, cluster: FakeCluster, clock: FakeClock, version: str = "1.2.3"
) -> tuple[int, OneShotHandoff]:
    target = tmp_path / "target.json"
    target.write_text(json.dumps(local_target()))
    handoff = OneShotHandoff()
    try:
        code = rehearse.main(
            [
                "deploy",
                "--target",
                str(target),
                "--chart",
                str(ROOT / "k8s/chart"),
                "--values-root",
                str(ROOT),
                "--report-dir",
                str(tmp_path / "reports"),
                "--backend-image",
                BACKEND,
                "--frontend-image",
                FRONTEND,
                "--version",
                version,
                "--kubeconfig",
                str(tmp_path / "kubeconfig"),
                "--kubeconfig-from",
                handoff.address,
            ],
            tools_factory=lambda kubeconfig, context: cluster,
            clock=clock,
        )
    finally:
        handoff.close()
    return code, handoff
