"""Every kubectl read of the cluster (JSON lists and objects) and the Argo Rollouts plugin calls.

The release's objects are found by the label Helm charts put on every object
(`app.kubernetes.io/instance=<release>`); the workloads are Deployments for `rolling` and
Argo Rollouts otherwise (`workload_kind`, the one place that choice is made).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, cast

from .request import DeployTarget, Strategy, parse_json
from .tools import ClusterTools, CommandResult

KUBECTL_TIMEOUT_S = 30
INSTANCE_LABEL = "app.kubernetes.io/instance"
ROLLOUT_KIND = "rollouts.argoproj.io"
DEPLOYMENT_KIND = "deployments.apps"
ROLLOUT_CRD = ROLLOUT_KIND


# What kubectl/helm print when the API server does not answer (stopped, restarting, network).
_UNREACHABLE = (
    "connection refused",
    "was refused - did you specify the right host or port",  # kubectl: "The connection to the server … was refused"
    "kubernetes cluster unreachable",
    "unable to connect to the server",
    "apiserver is shutting down",
    "the server is currently unable to handle the request",
    "connection reset by peer",
    "no route to host",
    "i/o timeout",
    "tls handshake timeout",
    "http2: client connection lost",
    ": eof",
)


def unreachable(text: str) -> bool:
    """True when a tool's message says the Kubernetes API server did not answer."""
    lowered = text.lower()
    return any(marker in lowered for marker in _UNREACHABLE)


def as_dict(value: object) -> dict[str, object]:
    return cast(dict[str, object], value) if isinstance(value, dict) else {}


def as_list(value: object) -> list[object]:
    return cast(list[object], value) if isinstance(value, list) else []


def uses_rollouts(strategy: Strategy) -> bool:
    """blueGreen and canary run as Argo Rollouts; rolling as plain Deployments."""
    return strategy != "rolling"


def workload_kind(strategy: Strategy) -> str:
    """kubectl resource type holding the app workloads for this strategy."""
    return ROLLOUT_KIND if uses_rollouts(strategy) else DEPLOYMENT_KIND


def selector(target: DeployTarget) -> str:
    return f"{INSTANCE_LABEL}={target.release}"


def item_names(items: object) -> list[str]:
    """Names from a `kubectl get ... -o json` List, sorted."""
    names = [as_dict(as_dict(item).get("metadata")).get("name") for item in list_items(items)]
    return sorted(name for name in names if isinstance(name, str))


def list_items(data: object) -> list[dict[str, object]]:
    """The `items` of a `kubectl get ... -o json` List (objects only)."""
    items = as_list(as_dict(data).get("items"))
    return [cast(dict[str, object], item) for item in items if isinstance(item, dict)]


def get(tools: ClusterTools, args: Sequence[str]) -> CommandResult:
    """`kubectl get ARGS --output json`."""
    return tools.run("kubectl", ["get", *args, "--output", "json"], KUBECTL_TIMEOUT_S)


def list_release_objects(tools: ClusterTools, target: DeployTarget, kind: str) -> CommandResult:
    """`kubectl get KIND` of the release's objects (by the release's label selector), as JSON."""
    return get(tools, [kind, "--namespace", target.namespace, "--selector", selector(target)])


def release_items(
    tools: ClusterTools, target: DeployTarget, kind: str
) -> tuple[list[dict[str, object]], str]:
    """The release's objects of KIND, or ([], error)."""
    done = list_release_objects(tools, target, kind)
    if not done.ok:
        return [], f"cannot list {kind}: {done.reason(3)}"
    return list_items(parse_json(done.stdout, f"kubectl get {kind}")), ""


def find_workloads(tools: ClusterTools, target: DeployTarget) -> tuple[list[str], str]:
    """Names of the release's Deployments or Rollouts, or ([], error)."""
    kind = workload_kind(target.strategy)
    items, error = release_items(tools, target, kind)
    if error:
        return [], error
    names = item_names({"items": items})
    if not names:
        return [], f"no {kind} labelled {selector(target)} in namespace {target.namespace}"
    return names, ""


def get_rollout(tools: ClusterTools, target: DeployTarget, name: str) -> tuple[object, str]:
    """One Argo Rollout object, or (None, error)."""
    done = get(tools, [ROLLOUT_KIND, name, "--namespace", target.namespace])
    if not done.ok:
        return None, done.reason(2)
    return parse_json(done.stdout, f"rollout {name}"), ""


def has_rollouts_crd(tools: ClusterTools) -> bool:
    done = tools.run(
        "kubectl",
        ["get", "customresourcedefinition", ROLLOUT_CRD, "--output", "name"],
        KUBECTL_TIMEOUT_S,
    )
    return done.ok


def recent_events(tools: ClusterTools, target: DeployTarget) -> tuple[list[dict[str, object]], str]:
    """The namespace's events, oldest first, or ([], error)."""
    done = get(tools, ["events", "--namespace", target.namespace, "--sort-by=.lastTimestamp"])
    if not done.ok:
        return [], done.reason(2)
    return list_items(parse_json(done.stdout, "kubectl get events")), ""


def frontend_service(tools: ClusterTools, target: DeployTarget) -> tuple[str, str]:
    """`name:port` of the release's stable frontend Service (for API-server proxy smoke checks)."""
    items, error = release_items(tools, target, "services")
    if error:
        return "", error
    for item in items:
        name = str(as_dict(item.get("metadata")).get("name", ""))
        if "frontend" in name and "preview" not in name and "canary" not in name:
            ports = [as_dict(p) for p in as_list(as_dict(item.get("spec")).get("ports"))]
            port = ports[0].get("name") or ports[0].get("port") if ports else "http"
            return f"{name}:{port}", ""
    return "", f"no frontend Service labelled {selector(target)} for the smoke checks"


RolloutsVerb = Literal["promote", "abort"]


def rollouts_each(
    tools: ClusterTools,
    target: DeployTarget,
    names: Sequence[str],
    verb: RolloutsVerb,
    extra: Sequence[str] = (),
    keep_going: bool = False,
) -> list[tuple[str, CommandResult]]:
    """`kubectl argo rollouts VERB NAME` for each Rollout; stops at the first failure unless
    `keep_going` (a rollback aborts every Rollout it can)."""
    results: list[tuple[str, CommandResult]] = []
    for name in names:
        done = tools.run(
            "rollouts", [verb, name, "--namespace", target.namespace, *extra], KUBECTL_TIMEOUT_S
        )
        results.append((name, done))
        if not done.ok and not keep_going:
            break
    return results
