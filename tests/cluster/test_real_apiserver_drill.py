"""Drill d on the real node: the API server stops in the middle of a deploy.

Driven end to end through the deploy runtime's CLI (`python -m pipeline.deploy`, as the tools
container and scripts/rehearsal.sh run it) with pipeline.yaml's `dev` target (rolling, namespace
blog-dev, release blog-creator) and the production chart + k8s/environments/dev.yaml; the only
changes are --set values for a 2-core node (CPU requests, no Elasticsearch / collector) and the
URL (a loopback front door to the frontend Service, tests/rehearsal/rehearsal_service_proxy.py).

1. deploy r1 (first install) -> exit 0;
2. deploy r2: the test pauses the runtime's `helm upgrade` child (SIGSTOP) right after Helm
   wrote its `pending-upgrade` record, then stops the API server
   (`scripts/k8s-cluster.sh restart-apiserver --down-seconds`) and lets helm go on: the one
   instant that leaves Helm's release stuck, hit deterministically (nothing else is faked);
   while it is paused, a second deploy is refused by the live lock holder (exit 2);
3. the interrupted deploy exits 3 and its report says the API server stopped answering, what
   may be left and what to do, and when the lock it could not release expires;
4. API server back: `status` tells the truth (revision 2 pending-upgrade, who holds the lock);
   a deploy while the dead run's lease has not expired is refused and touches nothing;
5. lease expired: the next deploy recovers the pending revision (helm rollback to 1) under the
   lock, deploys r2 (exit 0) and the report says what was recovered; the pods run r2;
6. `rollback` restores r1: the pods run r1's digest again, helm's deployed revision holds it.
Judged from outside: helm history, `helm get values`, the image IDs the kubelet runs.
Reports land in reports/drill-d/ (CI artifacts).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from cluster_real_release import CA, base_image, docker_build, ready, source_tree
from cluster_real_support import RealCluster
from cluster_support import CRD_DIR, REPO, SCRIPT, Kube

from pipeline.config import parse_config_text
from pipeline.deploy import lock
from pipeline.deploy.request import DeployTarget
from pipeline.deploy_targets import target_for

pytestmark = pytest.mark.timeout(1200)

ENV = "dev"
RELEASE = "blog-creator"
DOWN_SECONDS = 10
REPORTS = REPO / "reports" / "drill-d"
# A 2-core node shared with the other cluster tests; everything else is dev's configuration.
# No Redis or Elasticsearch beside it: the backend keeps metadata and index in SQLite.
SETS = [
    "backend.resources.requests.cpu=50m",
    "frontend.resources.requests.cpu=50m",
    "config.redisUrl=",
    "config.elasticsearchUrl=",
    "otel.enabled=false",
]


@dataclass
class Drill:
    real: RealCluster
    target: Path
    namespace: str
    refs: dict[str, dict[str, str]]  # release -> app -> repo@sha256:...
    env: dict[str, str]

    @property
    def kube(self) -> Kube:
        return self.real.kube

    def argv(self, action: str, step: str, release: str | None = None) -> list[str]:
        args = [
            sys.executable,
            "-m",
            "pipeline.deploy",
            action,
            "--target",
            str(self.target),
            "--chart",
            "k8s/chart",
            "--kubeconfig",
            self.kube.kubeconfig,
            "--report-dir",
            str(REPORTS / step),
        ]
        if release:
            args += [
                "--backend-image",
                self.refs[release]["backend"],
                "--frontend-image",
                self.refs[release]["frontend"],
                "--version",
                f"drill-{release}",
            ]
        return args

    def cli(self, action: str, step: str, release: str | None = None) -> tuple[int, dict, str]:
        """Run the CLI to the end: (exit code, JSON report, Markdown it printed)."""
        done = subprocess.run(
            self.argv(action, step, release),
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        return done.returncode, self.report(action, step, done.stderr), done.stdout

    def report(self, action: str, step: str, stderr: str = "") -> dict:
        path = REPORTS / step / f"{action}-{ENV}.json"
        assert path.is_file(), f"no report {path}; stderr:\n{stderr[-3000:]}"
        return json.loads(path.read_text())

    def history(self) -> list[tuple[int, str]]:
        out = self.kube.ok("helm", "history", RELEASE, "-n", self.namespace, "-o", "json")
        return [(e["revision"], e["status"]) for e in json.loads(out)]

    def deployed_digest(self) -> str:
        values = json.loads(
            self.kube.ok("helm", "get", "values", RELEASE, "-n", self.namespace, "-o", "json")
        )
        return values["image"]["backend"]["digest"]

    def running(self) -> dict[str, set[str]]:
        """app -> digests of the image IDs its live pods run (as the kubelet reports them)."""
        out: dict[str, set[str]] = {}
        for app in ("backend", "frontend"):
            pods = self.kube.get(
                "pods", "-n", self.namespace, "-l", f"app.kubernetes.io/component={app}"
            )["items"]
            out[app] = {
                c["imageID"].rsplit("@", 1)[-1]
                for p in pods
                if "deletionTimestamp" not in p["metadata"]
                for c in p["status"].get("containerStatuses", [])
                if ready(p)
            }
        return out

    def serves(self, release: str) -> bool:
        want = {app: {ref.split("@")[1]} for app, ref in self.refs[release].items()}
        return self.running() == want

    def lease(self) -> lock.Holder | None:
        done = self.kube.run(
            "kubectl",
            "-n",
            self.namespace,
            "get",
            lock.LEASE_KIND,
            f"{RELEASE}-deploy-lock",
            "-o",
            "json",
        )
        return lock.Holder.of(json.loads(done.stdout)) if done.returncode == 0 else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def label_layer(base: str, tag: str, tmp: Path) -> str:
    """A release variant: the runtime image plus one label (another digest, the same app)."""
    context = tmp / tag.replace("/", "_").replace(":", "_")
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {base}\nLABEL org.opencontainers.image.version={tag.rsplit(':', 1)[1]}\n"
    )
    return docker_build(tag, context / "Dockerfile", context)


@pytest.fixture(scope="module")
def drill(real: RealCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drill]:
    tmp = tmp_path_factory.mktemp("drill-d")
    tree = source_tree(tmp / "source")
    refs: dict[str, dict[str, str]] = {"r1": {}, "r2": {}}
    for app, var in (("backend", "PYTHON_IMAGE"), ("frontend", "NODE_IMAGE")):
        runtime = docker_build(
            f"blog-creator-real/{app}:runtime",
            tree / "dockerfiles" / f"{app}.Dockerfile",
            tree,
            "--target",
            "runtime",
            "--secret",
            f"id=ca,src={CA}",
            "--build-arg",
            f"{var}={base_image(var)}",
        )
        for release, by_app in refs.items():
            by_app[app] = real.push(
                label_layer(runtime, f"drill-d/{app}:{release}", tmp), f"drill-d/{app}"
            )
    kube = real.kube
    kube.ok("kubectl", "apply", "--server-side", "-f", str(CRD_DIR), timeout=180)
    kube.ok("kubectl", "wait", "--for", "condition=established", "crd", "--all", "--timeout=120s")
    base = target_for(parse_config_text((REPO / "pipeline.yaml").read_text()), ENV)
    namespace = base.namespace
    # The environment's namespace as k8s/platform defines it (labels: Pod Security), alone: the
    # other namespaces of that file belong to other tests of the session (e.g. `data`).
    (ns,) = [
        d
        for d in yaml.safe_load_all((REPO / "k8s" / "platform" / "namespaces.yaml").read_text())
        if d and d.get("kind") == "Namespace" and d["metadata"]["name"] == namespace
    ]
    kube.ok("kubectl", "apply", "-f", "-", stdin=json.dumps(ns))
    # The chart's Secret (External Secrets has no store here); empty Redis URL: SQLite metadata.
    kube.app_secret(namespace, redis_url="")
    port = free_port()
    tool_path = os.pathsep.join(
        dict.fromkeys(
            [
                str(Path(kube.helm).parent),
                str(Path(kube.kubectl).parent),
                subprocess.run(
                    [SCRIPT, "bin-dir"], capture_output=True, text=True, check=True
                ).stdout.strip(),
                os.environ.get("PATH", ""),
            ]
        )
    )
    env = {**os.environ, "PATH": tool_path, "PYTHONPATH": str(REPO / "src")}
    proxy = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "tests" / "rehearsal" / "rehearsal_service_proxy.py"),
            kube.kubeconfig,
            namespace,
            f"{RELEASE}-frontend",
            "3000",
            str(port),
            "1500",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    data = base.to_json()
    data.update(url=f"http://127.0.0.1:{port}", extra_values=SETS)
    DeployTarget.from_json(data)  # the file is what the runtime accepts
    target = tmp / "target.json"
    target.write_text(json.dumps(data))
    try:
        yield Drill(real, target, namespace, refs, env)
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
        # Free the node for the next tests.
        kube.run(
            "helm",
            "uninstall",
            RELEASE,
            "-n",
            namespace,
            "--wait",
            "--timeout",
            "120s",
            timeout=180,
        )
        kube.run("kubectl", "delete", "namespace", namespace, "--wait=false")


def helm_upgrade_child(parent: int) -> int | None:
    """The pid of the runtime's `helm upgrade` (a child of the CLI process), if it runs."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and argv[0].endswith(b"helm") and b"upgrade" in argv:
            return int(entry.name)
    return None


def api_server_answers(kube: Kube) -> bool:
    """True while a new TCP connection to the API server's port is accepted."""
    config = yaml.safe_load(Path(kube.kubeconfig).read_text())
    host, port = config["clusters"][0]["cluster"]["server"].removeprefix("https://").rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError:
        return False
    return True


def pause_when_pending(drill: Drill, cli: subprocess.Popen[str]) -> int:
    """SIGSTOP the CLI's helm upgrade once its pending-upgrade record exists (stepping it in
    20 ms slices until then); returns its pid, stopped."""
    deadline = time.monotonic() + 180
    pid = None
    while pid is None:
        assert cli.poll() is None and time.monotonic() < deadline, (
            "the deploy ended before its helm upgrade ran"
        )
        pid = helm_upgrade_child(cli.pid)
        time.sleep(0.02)
    os.kill(pid, signal.SIGSTOP)
    selector = f"owner=helm,name={RELEASE},status=pending-upgrade"
    while not drill.kube.ok(
        "kubectl", "-n", drill.namespace, "get", "secrets", "-l", selector, "-o", "name"
    ).strip():
        assert time.monotonic() < deadline, "helm upgrade wrote no pending-upgrade record"
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.02)
        try:
            os.kill(pid, signal.SIGSTOP)
        except ProcessLookupError:
            pytest.fail("helm upgrade finished before the test could stop the API server under it")
    return pid


def test_api_server_stopped_mid_deploy_exit_3_status_recovery_and_rollback(drill: Drill) -> None:
    started = time.monotonic()
    code, report, _ = drill.cli("deploy", "1-install-r1", "r1")
    assert code == 0, report["message"]
    assert drill.serves("r1") and drill.history() == [(1, "deployed")]

    # -- the deploy of r2, with the API server stopped under its helm upgrade
    cli = subprocess.Popen(
        drill.argv("deploy", "2-interrupted-r2", "r2"),
        cwd=REPO,
        env=drill.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    helm_pid = pause_when_pending(drill, cli)
    restart = None
    try:
        # A live lock holder (the paused deploy renews its Lease): a second deploy is refused.
        code, refused, _ = drill.cli("deploy", "2b-second-deploy-refused", "r2")
        assert code == 2 and refused["outcome"] == "refused", refused["message"]
        assert "another action is running on dev" in refused["message"]
        assert (
            "`deploy` by deploy@" in refused["message"]
            and "holds the deploy lock" in refused["message"]
        )
        assert [p["name"] for p in refused["phases"]] == ["gates", "lock"]
        log = REPORTS / "2-restart-apiserver.log"
        with log.open("w") as out:
            restart = subprocess.Popen(
                [
                    SCRIPT,
                    "restart-apiserver",
                    "--name",
                    drill.real.name,
                    "--down-seconds",
                    str(DOWN_SECONDS),
                ],
                stdout=out,
                stderr=out,
            )
        # Let helm go on once the API server takes no new connection: it stops listening at
        # once on SIGTERM, but its graceful stop would wait ~60 s for the paused client.
        deadline = time.monotonic() + 120
        while api_server_answers(drill.kube):
            assert restart.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
    finally:
        os.kill(helm_pid, signal.SIGCONT)
    stdout, stderr = cli.communicate(timeout=300)
    interrupted = drill.report("deploy", "2-interrupted-r2", stderr)
    assert cli.returncode == 3, (interrupted["message"], stderr[-2000:])
    message = interrupted["message"]
    assert interrupted["outcome"] == "failed" and interrupted["exit_code"] == 3
    assert "the Kubernetes API server stopped answering during the deploy to dev" in message, (
        message
    )
    assert "NOT restored" in message and "pending-upgrade" in message
    for what_to_do in (
        "`status --env dev`",
        "`rollback --env dev` restores revision 1",
        "`deploy` again",
    ):
        assert what_to_do in message, message
    assert (
        "The deploy lock (lease blog-dev/blog-creator-deploy-lock) was left held by this run"
        in message
    )
    assert "expires at" in message and message in stdout  # the Markdown report says the same
    assert restart is not None and restart.wait(timeout=180) == 0, (
        REPORTS / "2-restart-apiserver.log"
    ).read_text()

    # -- the API server is back: status tells what Helm recorded and who holds the lock
    assert drill.history() == [(1, "deployed"), (2, "pending-upgrade")]
    code, status, _ = drill.cli("status", "3-status")
    assert code == 0, status["message"]
    assert "revisions: 1=deployed, 2=pending-upgrade" in status["details"], status["details"]
    assert "revision 2 is pending-upgrade" in status["message"], status["message"]
    holder = drill.lease()
    now = dt.datetime.now(dt.UTC)
    if (
        holder is not None
        and holder.alive(now)
        and (holder.renewed + dt.timedelta(seconds=holder.duration_s) - now).total_seconds() > 15
    ):
        assert "holds the deploy lock" in status["message"], status["message"]
        # The dead run's lease has not expired: nobody can tell it from a live one, so a deploy
        # is refused and recovers nothing.
        code, early, _ = drill.cli("deploy", "4-deploy-before-expiry", "r2")
        assert code == 2 and "its lock expires" in early["message"], early["message"]
        assert drill.history() == [(1, "deployed"), (2, "pending-upgrade")]
    else:
        assert "no live action holds the deploy lock" in status["message"], status["message"]
    assert drill.serves("r1"), drill.running()

    # -- the lease expired: the next deploy recovers the pending revision, then deploys r2
    drill.kube.wait_until(
        lambda: (h := drill.lease()) is None or not h.alive(dt.datetime.now(dt.UTC)),
        timeout=lock.LEASE_SECONDS + 30,
        what="the dead run's lease to expire",
    )
    code, recovered, _ = drill.cli("deploy", "5-deploy-recovers-r2", "r2")
    assert code == 0, recovered["message"]
    lock_phase = next(p for p in recovered["phases"] if p["name"] == "lock")
    assert "taken over from expired holder `deploy` by deploy@" in lock_phase["detail"], lock_phase
    assert "recovered: revision 2 was left pending-upgrade" in recovered["message"], recovered[
        "message"
    ]
    assert "`helm rollback` to revision 1" in recovered["message"]
    assert drill.history()[-3:] == [(2, "pending-upgrade"), (3, "superseded"), (4, "deployed")]
    assert drill.serves("r2"), drill.running()
    assert drill.lease() is None  # released

    # -- rollback restores the previous digest
    code, rolled, _ = drill.cli("rollback", "6-rollback")
    assert code == 0, rolled["message"]
    assert "rolled back to revision 3" in rolled["message"], rolled["message"]
    assert drill.history()[-1] == (5, "deployed")
    assert drill.deployed_digest() == drill.refs["r1"]["backend"].split("@")[1]
    drill.kube.wait_until(lambda: drill.serves("r1"), timeout=120, what="only r1's pods to run")
    print(f"drill d took {time.monotonic() - started:.0f}s (reports: {REPORTS})")
