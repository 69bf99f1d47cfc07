"""Every helm argument list the runtime runs, and the reading of helm's output.

Pure functions: they build `helm ...` arguments (without the connection flags, which
`tools.SubprocessClusterTools` adds) and parse what helm prints. Running them is the
callers' job, through `ClusterTools`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import cast

from .kube import uses_rollouts
from .request import APPS, DeployInputError, DeployRequest, DeployTarget, Strategy, parse_json

HELM_TIMEOUT_S = 120
HISTORY_MAX = 20

# The chart's values for images and strategy (k8s/chart/values.yaml).
IMAGE_REPOSITORY_KEY = "image.{app}.repository"
IMAGE_DIGEST_KEY = "image.{app}.digest"
IMAGE_TAG_KEY = "image.{app}.tag"
STRATEGY_KEY = "strategy"
RELEASE_VERSION_KEY = "release.version"


def _in_namespace(target: DeployTarget) -> list[str]:
    return ["--namespace", target.namespace]


def release_values(request: DeployRequest) -> list[str]:
    """Values shared by `upgrade --install`, `template` and `diff`: env file, digests, strategy."""
    target = request.target
    args = [*_in_namespace(target), "--values", target.values_file]
    for app in APPS:
        image = request.images[app]
        args += ["--set-string", f"{IMAGE_REPOSITORY_KEY.format(app=app)}={image.repository}"]
        if image.digest:
            args += ["--set-string", f"{IMAGE_DIGEST_KEY.format(app=app)}={image.digest}"]
        if image.tag:
            args += ["--set-string", f"{IMAGE_TAG_KEY.format(app=app)}={image.tag}"]
    args += ["--set-string", f"{STRATEGY_KEY}={target.strategy}"]
    for value in target.extra_values:
        args += ["--set", value]
    if request.version:
        args += ["--set-string", f"{RELEASE_VERSION_KEY}={request.version}"]
    return args


def upgrade(request: DeployRequest, timeout_s: int) -> list[str]:
    """`helm upgrade --install`: apply only; the runtime waits per strategy (watch.py)."""
    target = request.target
    args = ["upgrade", "--install", target.release, request.chart, *release_values(request)]
    if target.create_namespace:
        args.append("--create-namespace")
    args += client_side_apply(target.strategy)
    args += ["--timeout", f"{timeout_s}s", "--history-max", str(HISTORY_MAX), "--output", "json"]
    return args


def client_side_apply(strategy: Strategy) -> list[str]:
    """Helm 4 applies server-side by default; the Argo Rollouts controller owns the Services'
    `spec.selector` (it adds the pod-template hash), so server-side apply conflicts there and
    forcing would drop the hash. Rollouts strategies use Helm's client-side 3-way merge."""
    return ["--server-side=false"] if uses_rollouts(strategy) else []


def template(request: DeployRequest) -> list[str]:
    target = request.target
    return ["template", target.release, request.chart, *release_values(request)]


def history(target: DeployTarget) -> list[str]:
    return ["history", target.release, *_in_namespace(target), "--output", "json"]


def test(target: DeployTarget) -> list[str]:
    return ["test", target.release, *_in_namespace(target), "--timeout", f"{HELM_TIMEOUT_S}s"]


def rollback(target: DeployTarget, revision: int) -> list[str]:
    return [
        "rollback",
        target.release,
        str(revision),
        *_in_namespace(target),
        *client_side_apply(target.strategy),
        "--timeout",
        f"{HELM_TIMEOUT_S}s",
    ]


def get_manifest(target: DeployTarget) -> list[str]:
    return ["get", "manifest", target.release, *_in_namespace(target)]


def install_chart(
    release: str,
    chart: str,
    *,
    repo: str,
    version: str,
    namespace: str,
    values: Sequence[str],
    timeout_s: int,
) -> list[str]:
    """`helm upgrade --install` of a third-party chart from a repository, waiting for it."""
    args = ["upgrade", "--install", release, chart, "--repo", repo, "--version", version]
    args += ["--namespace", namespace, "--create-namespace"]
    for value in values:
        args += ["--set", value]
    return [*args, "--wait", "--timeout", f"{timeout_s}s"]


# ---------------------------------------------------------------- reading helm's output


def history_entries(stdout: str) -> list[dict[str, object]]:
    """`helm history -o json` → its entries (objects only)."""
    entries = parse_json(stdout or "[]", "helm history")
    if not isinstance(entries, list):
        raise DeployInputError("helm history: expected a JSON list")
    return [cast(dict[str, object], e) for e in cast(list[object], entries) if isinstance(e, dict)]


def current_revision(entries: Sequence[dict[str, object]]) -> int | None:
    """The revision currently serving: the last `deployed` entry (else the last one)."""
    deployed = [e for e in entries if e.get("status") == "deployed"]
    entry = (deployed or list(entries) or [None])[-1]
    revision = entry.get("revision") if entry else None
    return revision if isinstance(revision, int) else None


def revision_from_upgrade(stdout: str) -> int | None:
    """The revision `helm upgrade --output json` created (None when it printed no JSON)."""
    try:
        data = json.loads(stdout)
    except json.JSONDecodeError:
        return None
    version = cast(dict[str, object], data).get("version") if isinstance(data, dict) else None
    return version if isinstance(version, int) else None


def split_documents(manifest: str) -> dict[str, str]:
    """Rendered YAML stream → {"Kind/name": document}, for diffs (no YAML parser needed)."""
    docs: dict[str, str] = {}
    for doc in re.split(r"^---\s*$", manifest, flags=re.MULTILINE):
        body = "\n".join(
            line for line in doc.strip().splitlines() if not line.startswith("# Source:")
        ).strip()
        if not body:
            continue
        kind = re.search(r"^kind:\s*(\S+)", body, flags=re.MULTILINE)
        name = re.search(
            r"^metadata:\n(?:[ ].*\n)*?\s+name:\s*(\S+)", body + "\n", flags=re.MULTILINE
        )
        key = f"{kind.group(1) if kind else '?'}/{name.group(1).strip(chr(34)) if name else '?'}"
        while key in docs:
            key += "'"
        docs[key] = body
    return docs
