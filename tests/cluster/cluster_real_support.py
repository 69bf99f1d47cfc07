"""Helpers of the real-node cluster tests: the cluster, the local registry, loopback HTTP.

Every HTTP check here goes to 127.0.0.1 (kubectl port-forward) or runs inside a pod of the
cluster, and reads the response body: on this machine an address nobody serves is not
refused (a TLS-intercepting proxy answers), so "some HTTP answer" proves nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cluster_support import REPO, SCRIPT, Kube

sys.path.insert(0, str(REPO / "tests" / "images"))
from images_docker import DOCKER

REAL_BINARIES = ["kubelet", "kube-proxy", "kube-apiserver", "etcd", "kwokctl"]
REAL_ADDONS = ["pause.tar", "coredns.tar", "metrics-server.tar", "kube-router"]
PROMETHEUS_OPERATOR = "prometheus-operator-v0.85.0/operator"  # below the cache root
# No proxy for loopback: urllib would otherwise honour HTTP(S)_PROXY.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def real_missing() -> str | None:
    """What `build --real` has not produced yet (None when the real node can start)."""
    out = {}
    for what in ("bin-dir", "addons-dir"):
        out[what] = Path(
            subprocess.run([SCRIPT, what], capture_output=True, text=True, check=True).stdout.strip()
        )
    missing = [n for n in REAL_BINARIES if not (out["bin-dir"] / n).is_file()]
    missing += [n for n in REAL_ADDONS if not (out["addons-dir"] / n).is_file()]
    if os.geteuid() != 0:
        missing.append("root")
    return ", ".join(missing) or None


def prometheus_built() -> bool:
    """True when `build --real --with-prometheus` has built the Prometheus Operator."""
    addons = Path(subprocess.run([SCRIPT, "addons-dir"], capture_output=True, text=True, check=True).stdout.strip())
    return (addons.parent / PROMETHEUS_OPERATOR).is_file()


@dataclass(frozen=True)
class RealCluster:
    name: str
    kube: Kube
    registry: str
    docker_config: str
    prometheus: bool = False

    def push(self, local_ref: str, repository: str) -> str:
        """Tag and push a local image to the cluster's registry; returns repo@sha256:..."""
        target = f"{self.registry}/{repository}:test"
        subprocess.run([DOCKER, "tag", local_ref, target], check=True, capture_output=True)
        proc = subprocess.run(
            [DOCKER, "--config", self.docker_config, "push", target],
            capture_output=True, text=True, timeout=600, check=False,
        )
        assert proc.returncode == 0, f"docker push {target} failed:\n{proc.stderr[-2000:]}"
        match = re.search(r"digest: (sha256:[0-9a-f]{64})", proc.stdout)
        assert match, f"no digest in the push output:\n{proc.stdout[-2000:]}"
        return f"{self.registry}/{repository}@{match.group(1)}"


def start_real(name: str, *flags: str) -> dict[str, str]:
    proc = subprocess.run(
        [SCRIPT, "start", "--real", "--name", name, *flags],
        capture_output=True, text=True, timeout=400, check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"start --real failed:\n{proc.stderr[-4000:]}")
    values = dict(line.split("=", 1) for line in proc.stdout.split() if "=" in line)
    assert set(values) == {"KUBECONFIG", "REGISTRY", "REGISTRY_DOCKER_CONFIG"}, proc.stdout
    return values


def stop_real(name: str) -> None:
    subprocess.run([SCRIPT, "stop", "--name", name], capture_output=True, timeout=180, check=False)


def http(url: str, data: dict | None = None, headers: dict[str, str] | None = None,
         timeout: float = 10) -> tuple[int, str]:
    """(status, body) of a request to a loopback URL; HTTP errors are returned, not raised."""
    assert url.startswith("http://127.0.0.1:"), f"tests talk to loopback only, not {url}"
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers={
        **({"Content-Type": "application/json"} if body else {}), **(headers or {})})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def upload(url: str, filename: str, content: bytes, headers: dict[str, str] | None = None,
           timeout: float = 30) -> tuple[int, str]:
    """(status, body) of a multipart/form-data POST of one file (field `file`) to a loopback URL."""
    assert url.startswith("http://127.0.0.1:"), f"tests talk to loopback only, not {url}"
    boundary = f"----real-node-{uuid.uuid4().hex}"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(url, data=body, headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", **(headers or {})})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@contextmanager
def port_forward(kube: Kube, namespace: str, target: str, port: int) -> Iterator[str]:
    """kubectl port-forward on 127.0.0.1; yields http://127.0.0.1:<local port>."""
    proc = subprocess.Popen(
        [kube.kubectl, "--kubeconfig", kube.kubeconfig, "-n", namespace, "port-forward",
         "--address", "127.0.0.1", target, f":{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"Forwarding from 127\.0\.0\.1:(\d+)", line)
        if not match:
            proc.kill()
            raise AssertionError(f"port-forward {target} failed: {line}{proc.communicate()[1][-2000:]}")
        yield f"http://127.0.0.1:{match.group(1)}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def wait_for_body(url: str, expected: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            status, body = http(url)
            last = f"HTTP {status}: {body[:300]}"
            if status == 200 and expected in body:
                return body
        except OSError as error:
            last = repr(error)
        time.sleep(1)
    raise AssertionError(f"{url} never answered 200 with {expected!r}; last: {last}")


def pod_logs(kube: Kube, namespace: str, pod: str) -> str:
    return kube.run("kubectl", "-n", namespace, "logs", pod, "--all-containers").stdout
