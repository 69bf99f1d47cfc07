"""Recording fakes for the deploy tests (see conftest.py for why they exist)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.deploy.request import (
    ApprovalEvidence,
    DeployRequest,
    DeployTarget,
    ImageRef,
    ReleaseEvidence,
    SmokeCheck,
    Strategy,
)
from pipeline.deploy.tools import CommandResult, HttpResult, Tool

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
BACKEND = f"ghcr.io/acme/backend@{DIGEST_A}"
FRONTEND = f"ghcr.io/acme/frontend@{DIGEST_B}"


class FakeClock:
    """Advances only when told: each tool call costs `cost` seconds, sleeps advance exactly."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


@dataclass
class FakeCluster:
    """An in-memory release: history, workloads, rollout phases, helm test and HTTP answers.

    Behaviour switches to the `*_after_rollback` answers once `helm rollback` ran, so the
    verification of a rollback can itself pass or fail.
    """

    clock: FakeClock
    strategy: Strategy = "rolling"
    history: list[dict[str, object]] = field(
        default_factory=lambda: [
            {"revision": 1, "status": "superseded"},
            {"revision": 2, "status": "deployed"},
        ]
    )
    history_error: str = ""
    crd_present: bool = True
    upgrade_ok: bool = True
    deployment_ready: bool = True
    rollout_phases: list[str] = field(default_factory=lambda: ["Progressing", "Healthy"])
    canary_step_pause: dict[str, object] | None = None  # the current step's pause, when Paused
    helm_test_ok: bool = True
    http_status: int | None = 200
    cosign_ok: bool = True
    deployment_ready_after_rollback: bool = True
    helm_test_ok_after_rollback: bool = True
    rollback_ok: bool = True
    workloads: tuple[str, ...] = ("blog-creator-backend", "blog-creator-frontend")
    cost: float = 1.0
    node_not_ready_polls: int = 0  # ephemeral cluster: `kubectl wait` fails this many times
    addon_error: str = ""  # ephemeral cluster: `kubectl apply` of an add-on fails with this
    calls: list[tuple[str, tuple[str, ...]]] = field(
        default_factory=lambda: list[tuple[str, tuple[str, ...]]]()
    )
    http_calls: list[tuple[str, Mapping[str, str] | None]] = field(
        default_factory=lambda: list[tuple[str, Mapping[str, str] | None]]()
    )
    rolled_back: bool = False
    # `rollouts abort`: whether the controller takes it, and the stable pods ready after it
    abort_takes_effect: bool = True
    ready_after_abort: int = 2
    aborted: set[str] = field(default_factory=lambda: set[str]())
    _phase_index: dict[str, int] = field(default_factory=lambda: dict[str, int]())
    # Leases (the deploy lock, pipeline/deploy/lock.py) by name, with a resourceVersion counter.
    leases: dict[str, dict[str, object]] = field(
        default_factory=lambda: dict[str, dict[str, object]]()
    )

    # -- ClusterTools protocol
    def run(self, tool: Tool, args: Sequence[str], timeout: float) -> CommandResult:
        argv = tuple(args)
        self.calls.append((tool, argv))
        self.clock.now += self.cost
        handler = getattr(self, f"_{tool}")
        return handler(argv)

    def http_get(
        self, url: str, timeout: float, headers: Mapping[str, str] | None = None
    ) -> HttpResult:
        self.http_calls.append((url, headers))
        self.clock.now += self.cost
        status = 200 if self.rolled_back else self.http_status
        return HttpResult(url, status, "" if status else "connection refused")

    # -- helpers for assertions
    def commands(self, tool: str | None = None) -> list[str]:
        return [" ".join((t, *a)) for t, a in self.calls if tool is None or t == tool]

    def mutating(self) -> list[str]:
        """Commands that change the cluster."""
        verbs = (
            "helm upgrade",
            "helm rollback",
            "rollouts promote",
            "rollouts abort",
            "helm uninstall",
        )
        return [c for c in self.commands() if c.startswith(verbs)]

    # -- tools
    def _ok(self, argv: tuple[str, ...], stdout: str = "") -> CommandResult:
        return CommandResult(argv, 0, stdout)

    def _fail(self, argv: tuple[str, ...], stderr: str, code: int = 1) -> CommandResult:
        return CommandResult(argv, code, "", stderr)

    def _helm(self, argv: tuple[str, ...]) -> CommandResult:
        verb = argv[0]
        if verb == "history":
            if self.history_error:
                return self._fail(argv, self.history_error)
            if not self.history:
                return self._fail(argv, "Error: release: not found")
            return self._ok(argv, json.dumps(self.history))
        if verb == "upgrade" and argv[2] == "prometheus":  # ephemeral cluster add-on
            return self._ok(argv, "STATUS: deployed")
        if verb == "upgrade":
            if not self.upgrade_ok:
                return self._fail(
                    argv, "Error: UPGRADE FAILED: admission webhook denied the request"
                )
            revision = self._next_revision()
            self._deploy(revision)
            return self._ok(argv, json.dumps({"name": "blog-creator", "version": revision}))
        if verb == "rollback":
            if not self.rollback_ok:
                return self._fail(argv, "Error: rollback failed: timed out")
            self.rolled_back = True
            self.aborted.clear()  # the stable spec again: the controller clears the abort
            self._deploy(self._next_revision())
            return self._ok(argv, "Rollback was a success! Happy Helming!")
        if verb == "test":
            ok = self.helm_test_ok_after_rollback if self.rolled_back else self.helm_test_ok
            return (
                self._ok(argv, "TEST SUITE: PASSED")
                if ok
                else self._fail(argv, "Error: pod blog-creator-smoke-test failed")
            )
        if verb == "template":
            return self._ok(argv, _TEMPLATE)
        if verb == "get":
            return self._ok(argv, _TEMPLATE.replace("replicas: 2", "replicas: 1"))
        return self._fail(argv, f"unexpected helm {verb}")

    def _next_revision(self) -> int:
        return max((int(str(e["revision"])) for e in self.history), default=0) + 1

    def _deploy(self, revision: int) -> None:
        for e in self.history:
            if e["status"] == "deployed":
                e["status"] = "superseded"
        self.history.append({"revision": revision, "status": "deployed"})

    def _lease(self, argv: tuple[str, ...]) -> CommandResult | None:
        """create/replace -f FILE of a Lease, get/delete leases.coordination.k8s.io NAME."""
        if argv[0] in ("create", "replace") and "-f" in argv:
            obj = json.loads(Path(argv[argv.index("-f") + 1]).read_text())
            if obj.get("kind") != "Lease":
                return None
            name = obj["metadata"]["name"]
            old = self.leases.get(name)
            if argv[0] == "create" and old is not None:
                return self._fail(
                    argv, f'Error from server (AlreadyExists): leases "{name}" already exists'
                )
            if argv[0] == "replace":
                if old is None:
                    return self._fail(
                        argv, f'Error from server (NotFound): leases "{name}" not found'
                    )
                if obj["metadata"].get("resourceVersion") != old["metadata"]["resourceVersion"]:
                    return self._fail(
                        argv, "Error from server (Conflict): the object has been modified"
                    )
            version = int(old["metadata"]["resourceVersion"]) + 1 if old else 1
            obj["metadata"]["resourceVersion"] = str(version)
            self.leases[name] = obj
            return self._ok(argv, json.dumps(obj))
        if (
            len(argv) > 2
            and argv[1] == "leases.coordination.k8s.io"
            and argv[0] in ("get", "delete")
        ):
            name = argv[2]
            if name not in self.leases:
                return self._fail(argv, f'Error from server (NotFound): leases "{name}" not found')
            if argv[0] == "delete":
                del self.leases[name]
                return self._ok(argv, f'lease "{name}" deleted')
            return self._ok(argv, json.dumps(self.leases[name]))
        return None

    def _kubectl(self, argv: tuple[str, ...]) -> CommandResult:
        lease = self._lease(argv)
        if lease is not None:
            return lease
        if argv[0] == "wait":
            if self.node_not_ready_polls > 0:
                self.node_not_ready_polls -= 1
                return self._fail(argv, "error: no matching resources found")
            return self._ok(argv, "node/k3s condition met")
        if argv[0] == "create":
            return self._ok(argv, "created")
        if argv[0] == "apply":
            return (
                self._fail(argv, self.addon_error)
                if self.addon_error
                else self._ok(argv, "applied")
            )
        if argv[:3] == ("rollout", "status", "deployment/argo-rollouts"):
            return self._ok(argv, "successfully rolled out")
        if argv[:2] == ("get", "customresourcedefinition"):
            return (
                self._ok(argv, "customresourcedefinition/rollouts.argoproj.io")
                if self.crd_present
                else self._fail(argv, "NotFound")
            )
        if argv[:2] == ("rollout", "status"):
            ready = (
                self.deployment_ready_after_rollback if self.rolled_back else self.deployment_ready
            )
            if ready:
                return self._ok(argv, f"{argv[2]} successfully rolled out\n")
            return self._fail(argv, "error: timed out waiting for the condition")
        if argv[:2] == ("get", "deployments.apps") or (
            argv[:2] == ("get", "rollouts.argoproj.io") and argv[2].startswith("--")
        ):
            return self._ok(
                argv,
                json.dumps(
                    {
                        "items": [
                            {
                                "metadata": {"name": n},
                                "spec": {"replicas": 2},
                                "status": {"readyReplicas": 2},
                            }
                            for n in self.workloads
                        ]
                    }
                ),
            )
        if argv[:2] == ("get", "rollouts.argoproj.io"):
            return self._ok(argv, json.dumps(self._rollout(argv[2])))
        if argv[:2] == ("get", "services"):
            return self._ok(
                argv,
                json.dumps(
                    {
                        "items": [
                            {
                                "metadata": {"name": "blog-creator-backend"},
                                "spec": {"ports": [{"name": "http", "port": 8000}]},
                            },
                            {
                                "metadata": {"name": "blog-creator-frontend-preview"},
                                "spec": {"ports": [{"name": "http", "port": 3000}]},
                            },
                            {
                                "metadata": {"name": "blog-creator-frontend"},
                                "spec": {"ports": [{"name": "http", "port": 3000}]},
                            },
                        ]
                    }
                ),
            )
        if argv[:2] == ("get", "--raw"):
            return (
                self._ok(argv, "ok")
                if self.rolled_back or self.http_status == 200
                else self._fail(argv, "503 Service Unavailable")
            )
        if argv[:2] == ("get", "events"):
            return self._ok(
                argv,
                json.dumps(
                    {
                        "items": [
                            {
                                "type": "Normal",
                                "reason": "ScalingReplicaSet",
                                "message": "Scaled up",
                                "involvedObject": {
                                    "kind": "Deployment",
                                    "name": "blog-creator-backend",
                                },
                            }
                        ]
                    }
                ),
            )
        return self._fail(argv, f"unexpected kubectl {' '.join(argv[:2])}")

    def _rollout(self, name: str) -> dict[str, object]:
        if self.rolled_back:
            phase = "Healthy" if self.deployment_ready_after_rollback else "Degraded"
        else:
            i = self._phase_index.get(name, 0)
            phase = self.rollout_phases[min(i, len(self.rollout_phases) - 1)]
            self._phase_index[name] = i + 1
        if name in self.aborted:
            phase = "Degraded"
        status: dict[str, object] = {
            "phase": phase,
            "observedGeneration": "3",
            "readyReplicas": self.ready_after_abort if name in self.aborted else 2,
            "message": ""
            if phase != "Degraded"
            else "RolloutAborted: metric error-rate assessed Failed",
        }
        spec: dict[str, object] = {"replicas": 2}
        if self.strategy == "canary":
            steps: list[dict[str, object]] = [
                {"setWeight": 10},
                {"pause": self.canary_step_pause or {}},
            ]
            spec["strategy"] = {"canary": {"steps": steps}}
            status["currentStepIndex"] = 1
            if phase == "Degraded":
                status["canary"] = {
                    "currentStepAnalysisRunStatus": {
                        "name": "blog-creator-backend-abc",
                        "status": "Failed",
                        "message": "error rate 0.07 > 0.01",
                    }
                }
        else:
            spec["strategy"] = {"blueGreen": {"autoPromotionEnabled": False}}
        if name in self.aborted:
            status["abort"] = True
            status["message"] = "RolloutAborted: Rollout aborted update to revision 3"
        return {"metadata": {"name": name, "generation": 3}, "spec": spec, "status": status}

    def _rollouts(self, argv: tuple[str, ...]) -> CommandResult:
        if argv[0] == "abort" and self.abort_takes_effect:
            self.aborted.add(argv[1])
        return self._ok(argv, f"rollout '{argv[1]}' {argv[0]}ed")

    def _cosign(self, argv: tuple[str, ...]) -> CommandResult:
        return (
            self._ok(argv, "[]")
            if self.cosign_ok
            else self._fail(argv, "Error: no matching signatures")
        )


_TEMPLATE = """---
# Source: chart/templates/services.yaml
apiVersion: v1
kind: Service
metadata:
  name: blog-creator-frontend
spec:
  ports: [{port: 3000}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: blog-creator-backend
  labels:
    app.kubernetes.io/instance: blog-creator
spec:
  replicas: 2
"""


def make_target(
    env: str = "staging",
    strategy: Strategy = "rolling",
    *,
    require_signature: bool = False,
    require_approval: bool = False,
    require_digest: bool = True,
    ephemeral: bool = False,
    timeout_seconds: int = 120,
) -> DeployTarget:
    return DeployTarget(
        env=env,
        namespace=f"blog-{env}",
        values_file=f"k8s/environments/{env}.yaml",
        strategy=strategy,
        url=f"https://{env}.example.com",
        require_signature=require_signature,
        require_approval=require_approval,
        require_digest=require_digest,
        ephemeral=ephemeral,
        timeout_seconds=timeout_seconds,
        smoke_checks=(SmokeCheck("health", "/api/health"), SmokeCheck("page", "/")),
    )


def make_request(
    target: DeployTarget | None = None,
    *,
    backend: str = BACKEND,
    frontend: str = FRONTEND,
    dry_run: bool = False,
    kubeconfig: bool = True,
    evidence: ReleaseEvidence | None = None,
    approved_by: str | None = None,
    approval: ApprovalEvidence | None = None,
    cosign_key: str | None = None,
    smoke_token: str | None = None,
) -> DeployRequest:
    return DeployRequest(
        target=target or make_target(),
        images={
            "backend": ImageRef.parse(backend, "backend"),
            "frontend": ImageRef.parse(frontend, "frontend"),
        },
        dry_run=dry_run,
        kubeconfig_given=kubeconfig,
        evidence=evidence,
        approved_by=approved_by,
        approval=approval,
        cosign_key=cosign_key,
        smoke_token=smoke_token,
    )


def passing_evidence(**overrides: object) -> ReleaseEvidence:
    data: dict[str, object] = {
        "images": {"backend": {"ref": BACKEND}, "frontend": FRONTEND},
        "scan": {"passed": True, "allowlisted": []},
    }
    data.update(overrides)
    return ReleaseEvidence.from_json(data)
