"""Helpers of the cluster tests: kubectl/helm bound to the test cluster's kubeconfig."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = str(REPO / "scripts" / "k8s-cluster.sh")
CHART = REPO / "k8s" / "chart"
ENVIRONMENTS = REPO / "k8s" / "environments"
CRD_DIR = (REPO / ".." / "shared" / "crds").resolve()
# The kwok-mode control plane `k8s-cluster.sh start` needs (in `k8s-cluster.sh bin-dir`).
KWOK_BINARIES = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "etcd",
    "kwok",
    "kwokctl",
)
RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
}


def skip_or_fail(reason: str) -> None:
    """Skip a cluster test whose prerequisites are missing; fail it under CLUSTER_TESTS=required."""
    if os.environ.get("CLUSTER_TESTS") == "required":
        pytest.fail(f"CLUSTER_TESTS=required but {reason}", pytrace=False)
    pytest.skip(reason)


def digest(char: str) -> str:
    return "sha256:" + char * 64


@dataclass(frozen=True)
class Kube:
    kubeconfig: str
    kubectl: str
    helm: str

    def run(
        self, tool: str, *args: str, stdin: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        exe = self.kubectl if tool == "kubectl" else self.helm
        return subprocess.run(
            [exe, "--kubeconfig", self.kubeconfig, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def ok(self, tool: str, *args: str, stdin: str | None = None, timeout: float = 120) -> str:
        proc = self.run(tool, *args, stdin=stdin, timeout=timeout)
        assert proc.returncode == 0, f"{tool} {' '.join(args)} failed:\n{proc.stderr[-3000:]}"
        return proc.stdout

    def get(self, *args: str) -> Any:
        return json.loads(self.ok("kubectl", "get", *args, "-o", "json"))

    def restricted_namespace(self, name: str) -> None:
        labels = [f"{k}={v}" for k, v in RESTRICTED.items()]
        self.ok("kubectl", "create", "namespace", name)
        self.ok("kubectl", "label", "namespace", name, *labels)

    def app_secret(self, namespace: str, redis_url: str = "redis://redis:6379/0") -> None:
        """The Secret the chart references by name (values: secrets.existingSecret); test values
        only. An empty `redis_url` makes the backend keep its metadata in SQLite."""
        self.ok(
            "kubectl",
            "-n",
            namespace,
            "create",
            "secret",
            "generic",
            "blog-creator-secrets",
            "--from-literal=jwt-secret=cluster-test-only-not-a-real-secret-0123456789",
            f"--from-literal=redis-url={redis_url}",
        )

    def wait_until(self, predicate: Any, timeout: float = 60, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(1)
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
