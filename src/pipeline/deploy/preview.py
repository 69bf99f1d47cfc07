"""Preview environments: one namespace `pr-N` per pull request, deployed and verified like any deploy.

`up` creates (or updates) the namespace with the restricted Pod Security labels, a TTL label,
a ResourceQuota and a LimitRange from pipeline.yaml's `preview` section and the preview's own
Secret (a random JWT secret), then runs the ordinary deploy (actions.deploy: gates, helm
upgrade by digest, rollout, helm test, smoke checks, automatic rollback) with the dev values
plus the preview overlay: one replica, no HPA, host `pr-N.<domain>`, its own Redis database
and Elasticsearch index. `down` deletes the namespace — and only a namespace this module
created (labels checked). `gc` deletes the previews whose TTL label has expired, nothing else.

Standard library only (runs in the tools container, like the rest of pipeline.deploy).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import re
import secrets
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

from . import actions
from .kube import KUBECTL_TIMEOUT_S, as_dict, get, list_items
from .report import DeployReport
from .request import DeployInputError, DeployRequest, DeployTarget, ImageRef, SmokeCheck, parse_json
from .tools import Clock, ClusterTools

PREFIX = "pr-"
LABEL_PREVIEW = "blog-creator.dev/preview"
LABEL_PR = "blog-creator.dev/pr"
LABEL_EXPIRES = "blog-creator.dev/expires"  # Unix seconds (label values cannot hold ':')
LABEL_REDIS_DB = "blog-creator.dev/redis-db"
MANAGED_BY = ("app.kubernetes.io/managed-by", "pipeline-preview")
RESTRICTED = {
    f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")
}
SECRET_NAME = "blog-creator-secrets"  # the chart's secrets.existingSecret
MAX_PR = 10**9

_DURATION = re.compile(r"^([1-9][0-9]{0,4})(m|h|d)$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}
_CPU = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m?)$")
_MEMORY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_MEMORY_FACTOR = {
    None: 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
}  # fmt: skip
_DOMAIN = re.compile(r"^(?=.{1,240}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


# ---------------------------------------------------------------- values and validation


def parse_duration(text: str, where: str) -> int:
    """`90m`, `72h`, `7d` -> seconds."""
    match = _DURATION.match(text.strip())
    if not match:
        raise DeployInputError(f"{where}: {text!r} is not a duration like 90m, 72h or 7d")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def cpu(text: str, where: str) -> float:
    """A Kubernetes CPU quantity (`500m`, `2`, `1.5`) in cores."""
    match = _CPU.match(text.strip())
    if not match:
        raise DeployInputError(f"{where}: {text!r} is not a CPU quantity like 500m or 2")
    value = float(match.group(1))
    return value / 1000 if match.group(2) else value


def memory(text: str, where: str) -> float:
    """A Kubernetes memory quantity (`512Mi`, `4Gi`, `1G`) in bytes."""
    match = _MEMORY.match(text.strip())
    if not match:
        raise DeployInputError(f"{where}: {text!r} is not a memory quantity like 512Mi or 4Gi")
    return float(match.group(1)) * _MEMORY_FACTOR[match.group(2)]


def check_pr(value: int) -> int:
    if not 1 <= value <= MAX_PR:
        raise DeployInputError(f"--pr: {value} must be a pull request number (1..{MAX_PR})")
    return value


def namespace_name(pr: int) -> str:
    return f"{PREFIX}{check_pr(pr)}"


@dataclass(frozen=True)
class PreviewSettings:
    """pipeline.yaml's `preview` section as the runtime needs it (JSON, like target.json)."""

    domain: str
    values_file: str
    context: str | None = None  # the one kubeconfig context previews may use
    ttl_seconds: int = 72 * 3600
    max_ttl_seconds: int = 7 * 86400
    # ResourceQuota `hard` (requests.cpu, limits.memory, pods, ...)
    quota: Mapping[str, str] = field(default_factory=lambda: dict[str, str]())
    # LimitRange per container: default, defaultRequest, max -> {cpu, memory}
    limits: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: dict[str, Mapping[str, str]]()
    )
    redis_url: str = "redis://redis-master.data.svc:6379"
    redis_databases: int = 16  # db 0 stays for dev; previews get 1..n-1, one each
    elasticsearch_index: str = "blog-chunks"
    state_namespace: str = "blog-previews"  # holds the Redis database registry
    tls: bool = False
    # Secret (kubernetes.io/tls) with the wildcard certificate of *.domain in state_namespace,
    # copied into each preview; "" with tls on: a cert-manager Certificate per preview host.
    tls_secret: str = ""
    release: str = "blog-creator"
    timeout_seconds: int = 300
    smoke_paths: tuple[str, ...] = ("/api/health", "/")

    def to_json(self) -> dict[str, object]:
        data = dict(self.__dict__)
        data["quota"] = dict(self.quota)
        data["limits"] = {k: dict(v) for k, v in self.limits.items()}
        data["smoke_paths"] = list(self.smoke_paths)
        return data

    @classmethod
    def from_json(cls, data: object) -> PreviewSettings:
        raw = as_dict(data)
        unknown = sorted(set(raw) - set(cls.__dataclass_fields__))
        if unknown:
            raise DeployInputError(f"preview settings: unknown keys {', '.join(unknown)}")
        for key in ("domain", "values_file"):
            if not isinstance(raw.get(key), str) or not raw[key]:
                raise DeployInputError(f"preview.{key}: required non-empty string")
        quota = {str(k): str(v) for k, v in as_dict(raw.get("quota")).items()}
        limits = {
            str(k): {str(a): str(b) for a, b in as_dict(v).items()}
            for k, v in as_dict(raw.get("limits")).items()
        }
        settings = cls(
            domain=cast(str, raw["domain"]),
            values_file=cast(str, raw["values_file"]),
            context=cast(str, raw["context"]) if isinstance(raw.get("context"), str) else None,
            ttl_seconds=_int(raw, "ttl_seconds", 72 * 3600),
            max_ttl_seconds=_int(raw, "max_ttl_seconds", 7 * 86400),
            quota=quota,
            limits=limits,
            redis_url=str(raw.get("redis_url", cls.redis_url)),
            redis_databases=_int(raw, "redis_databases", 16),
            elasticsearch_index=str(raw.get("elasticsearch_index", cls.elasticsearch_index)),
            state_namespace=str(raw.get("state_namespace", cls.state_namespace)),
            tls=raw.get("tls") is True,
            tls_secret=str(raw.get("tls_secret", "")),
            release=str(raw.get("release", cls.release)),
            timeout_seconds=_int(raw, "timeout_seconds", 300),
            smoke_paths=tuple(str(p) for p in cast(list[object], raw.get("smoke_paths") or [])),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Every value usable, or DeployInputError naming the `preview.` field and the fix."""
        check_preview_values(
            self.domain, self.ttl_seconds, self.max_ttl_seconds, self.quota, self.limits
        )
        if not 2 <= self.redis_databases <= 1024:
            raise DeployInputError(
                f"preview.redis_databases: {self.redis_databases} must be 2..1024 (Redis `databases`)"
            )
        if not re.match(r"^rediss?://[^\s/]+$", self.redis_url):
            raise DeployInputError(
                f"preview.redis_url: {self.redis_url!r} must be redis://host:port without a database"
            )


def _int(raw: Mapping[str, object], key: str, default: int) -> int:
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise DeployInputError(f"preview.{key}: {value!r} must be an integer")
    return value


QUOTA_KEYS = {
    "requests.cpu": "cpu", "limits.cpu": "cpu",
    "requests.memory": "memory", "limits.memory": "memory",
    "pods": "count", "services": "count", "persistentvolumeclaims": "count",
    "configmaps": "count", "secrets": "count",
}  # fmt: skip
LIMIT_KINDS = ("defaultRequest", "default", "max")  # in increasing order


def check_preview_values(
    domain: str,
    ttl_seconds: int,
    max_ttl_seconds: int,
    quota: Mapping[str, str],
    limits: Mapping[str, Mapping[str, str]],
) -> None:
    """Shared by pipeline.yaml validation (config.py) and the runtime."""
    if not _DOMAIN.match(domain):
        raise DeployInputError(
            f"preview.domain: {domain!r} must be a DNS domain like preview.example.com "
            "(previews get pr-N.<domain>)"
        )
    if not 0 < ttl_seconds <= max_ttl_seconds:
        raise DeployInputError(
            f"preview.ttl: {ttl_seconds // 3600} h must be positive and at most "
            f"preview.max_ttl ({max_ttl_seconds // 3600} h)"
        )
    for key, value in quota.items():
        kind = QUOTA_KEYS.get(key)
        where = f"preview.quota.{key}"
        if kind is None:
            raise DeployInputError(f"{where}: unknown; use one of {', '.join(QUOTA_KEYS)}")
        if kind == "cpu":
            cpu(value, where)
        elif kind == "memory":
            memory(value, where)
        elif not value.isdigit() or not 0 <= int(value) <= 1000:
            raise DeployInputError(f"{where}: {value!r} must be a count 0..1000")
    for kind in ("requests.cpu", "requests.memory", "pods"):
        if kind not in quota:
            raise DeployInputError(f"preview.quota.{kind}: required (it is what a preview costs)")
    parsed: dict[str, dict[str, float]] = {}
    for kind, values in limits.items():
        if kind not in LIMIT_KINDS:
            raise DeployInputError(f"preview.limits.{kind}: unknown; use {', '.join(LIMIT_KINDS)}")
        parsed[kind] = {}
        for res, value in values.items():
            where = f"preview.limits.{kind}.{res}"
            if res == "cpu":
                parsed[kind][res] = cpu(value, where)
            elif res == "memory":
                parsed[kind][res] = memory(value, where)
            else:
                raise DeployInputError(f"{where}: unknown resource; use cpu or memory")
    for res in ("cpu", "memory"):
        present = [(k, parsed[k][res]) for k in LIMIT_KINDS if res in parsed.get(k, {})]
        for (k1, v1), (k2, v2) in itertools.pairwise(present):
            if v1 > v2:
                raise DeployInputError(
                    f"preview.limits.{k1}.{res}: {limits[k1][res]} exceeds "
                    f"preview.limits.{k2}.{res} ({limits[k2][res]})"
                )
        quota_key = f"limits.{res}"
        top = parsed.get("max", {}).get(res)
        if top is not None and quota_key in quota:
            total = cpu(quota[quota_key], "") if res == "cpu" else memory(quota[quota_key], "")
            if top > total:
                raise DeployInputError(
                    f"preview.limits.max.{res}: {limits['max'][res]} is more than the whole "
                    f"preview.quota.{quota_key} ({quota[quota_key]}): no container could use it"
                )


# ---------------------------------------------------------------- manifests (pure)


def namespace_manifest(pr: int, expires: int, redis_db: int) -> dict[str, object]:
    labels = {
        **RESTRICTED,
        LABEL_PREVIEW: "true",
        LABEL_PR: str(pr),
        LABEL_EXPIRES: str(expires),
        LABEL_REDIS_DB: str(redis_db),
        MANAGED_BY[0]: MANAGED_BY[1],
    }
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": namespace_name(pr), "labels": labels},
    }


def quota_manifest(pr: int, settings: PreviewSettings) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "preview-quota", "namespace": namespace_name(pr), "labels": _own()},
        "spec": {"hard": dict(settings.quota)},
    }


def limitrange_manifest(pr: int, settings: PreviewSettings) -> dict[str, object]:
    limit: dict[str, object] = {"type": "Container"}
    limit.update({kind: dict(values) for kind, values in settings.limits.items()})
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": "preview-limits", "namespace": namespace_name(pr), "labels": _own()},
        "spec": {"limits": [limit]},
    }


def secret_manifest(pr: int, jwt_secret: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": SECRET_NAME, "namespace": namespace_name(pr), "labels": _own()},
        "type": "Opaque",
        "stringData": {"jwt-secret": jwt_secret},
    }


def _own() -> dict[str, str]:
    return {MANAGED_BY[0]: MANAGED_BY[1]}


def host(pr: int, settings: PreviewSettings) -> str:
    return f"{namespace_name(pr)}.{settings.domain}"


def overlay(pr: int, settings: PreviewSettings, redis_db: int) -> tuple[str, ...]:
    """The preview overlay on top of the dev values (`--set` pairs; no secrets)."""
    pairs = [
        "backend.replicas=1",
        "frontend.replicas=1",
        "backend.autoscaling.enabled=false",
        "frontend.autoscaling.enabled=false",
        f"routing.host={host(pr, settings)}",
        f"config.redisUrl={settings.redis_url}/{redis_db}",
        f"config.extra.ELASTICSEARCH_INDEX={settings.elasticsearch_index}-{namespace_name(pr)}",
        f"routing.tls.enabled={'true' if settings.tls else 'false'}",
    ]
    if settings.tls and settings.tls_secret:
        pairs += [
            f"routing.tls.secretName={settings.tls_secret}",
            "routing.tls.certManager.enabled=false",
        ]
    return tuple(pairs)


def target(pr: int, settings: PreviewSettings, redis_db: int) -> DeployTarget:
    scheme = "https" if settings.tls else "http"
    return DeployTarget(
        env=namespace_name(pr),
        namespace=namespace_name(pr),
        values_file=settings.values_file,
        strategy="rolling",
        url=f"{scheme}://{host(pr, settings)}",
        release=settings.release,
        require_digest=True,
        context=settings.context,
        timeout_seconds=settings.timeout_seconds,
        smoke_checks=tuple(SmokeCheck(f"get {p}", p) for p in settings.smoke_paths),
        extra_values=overlay(pr, settings, redis_db),
    )


def free_redis_db(used: Mapping[int, int], pr: int, databases: int) -> int:
    """This PR's database if it has one, else the lowest one no other preview holds."""
    for db, owner in used.items():
        if owner == pr:
            return db
    for db in range(1, databases):
        if db not in used:
            return db
    raise DeployInputError(
        f"--pr {pr}: all {databases - 1} Redis databases for previews are taken by open "
        "previews; run `preview-down` on one or `preview-gc`, or raise preview.redis_databases"
    )


def expired(namespaces: Sequence[Mapping[str, object]], now: dt.datetime) -> list[str]:
    """Names of the preview namespaces whose TTL label lies in the past (bad labels: kept)."""
    names: list[str] = []
    for ns in namespaces:
        meta = as_dict(ns.get("metadata"))
        labels = as_dict(meta.get("labels"))
        name = str(meta.get("name", ""))
        if not _is_ours(name, labels):
            continue
        stamp = str(labels.get(LABEL_EXPIRES, ""))
        if stamp.isdigit() and int(stamp) <= now.timestamp():
            names.append(name)
    return sorted(names)


def _is_ours(name: str, labels: Mapping[str, object]) -> bool:
    return (
        name.startswith(PREFIX)
        and labels.get(LABEL_PREVIEW) == "true"
        and labels.get(MANAGED_BY[0]) == MANAGED_BY[1]
        and labels.get(LABEL_PR) == name[len(PREFIX) :]
    )


# ---------------------------------------------------------------- cluster actions


def _apply(tools: ClusterTools, manifests: Sequence[Mapping[str, object]]) -> str:
    """Server-side apply from a private temporary file (0600, removed at once): the Secret's
    value never appears on a command line."""
    fd, path = tempfile.mkstemp(prefix="preview-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"apiVersion": "v1", "kind": "List", "items": list(manifests)}, f)
        done = tools.run(
            "kubectl",
            ["apply", "--server-side", "--field-manager=pipeline-preview", "--force-conflicts"]
            + ["--filename", path],
            KUBECTL_TIMEOUT_S,
        )
    finally:
        os.unlink(path)
    return "" if done.ok else done.reason(4)


def preview_namespaces(tools: ClusterTools) -> tuple[list[dict[str, object]], str]:
    done = get(tools, ["namespaces", "--selector", f"{LABEL_PREVIEW}=true"])
    if not done.ok:
        return [], f"cannot list preview namespaces: {done.reason(3)}"
    items = list_items(parse_json(done.stdout, "kubectl get namespaces"))
    return [ns for ns in items if _is_ours(_name(ns), _labels(ns))], ""


def _name(ns: Mapping[str, object]) -> str:
    return str(as_dict(ns.get("metadata")).get("name", ""))


def _labels(ns: Mapping[str, object]) -> dict[str, object]:
    return as_dict(as_dict(ns.get("metadata")).get("labels"))


def _existing_secret(tools: ClusterTools, pr: int) -> bool:
    done = tools.run(
        "kubectl",
        ["get", "secret", SECRET_NAME, "--namespace", namespace_name(pr), "--output", "name"],
        KUBECTL_TIMEOUT_S,
    )
    return done.ok


def check_up(settings: PreviewSettings, ttl_seconds: int, images: Mapping[str, ImageRef]) -> None:
    """`up`'s own input checks (no cluster needed)."""
    if not 0 < ttl_seconds <= settings.max_ttl_seconds:
        raise DeployInputError(
            f"--ttl: {ttl_seconds // 3600} h must be positive and at most preview.max_ttl "
            f"({settings.max_ttl_seconds // 3600} h)"
        )
    for app, ref in images.items():
        if not ref.by_digest:
            raise DeployInputError(f"--{app}-image: {ref} must be pinned by digest (@sha256:...)")


def _copy_tls_secret(tools: ClusterTools, settings: PreviewSettings, pr: int) -> str:
    """The wildcard certificate's Secret, copied from state_namespace into pr-N ("" or error).

    Its content passes through this process's memory and a 0600 temporary file only."""
    source = settings.state_namespace
    done = get(tools, ["secret", settings.tls_secret, "--namespace", source])
    if not done.ok:
        return (
            f"preview.tls_secret: cannot read Secret {settings.tls_secret} in namespace {source} "
            f"({done.reason(2)}); create the wildcard certificate of *.{settings.domain} there"
        )
    secret = as_dict(parse_json(done.stdout, f"secret {settings.tls_secret}"))
    copy = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": settings.tls_secret,
            "namespace": namespace_name(pr),
            "labels": _own(),
        },
        "type": secret.get("type", "kubernetes.io/tls"),
        "data": as_dict(secret.get("data")),
    }
    error = _apply(tools, [copy])
    return f"cannot copy the TLS Secret into {namespace_name(pr)}: {error}" if error else ""


@dataclass
class UpResult:
    report: DeployReport | None
    namespace: str
    url: str
    redis_db: int
    expires: str
    error: str = ""


def up(
    tools: ClusterTools,
    clock: Clock,
    settings: PreviewSettings,
    pr: int,
    images: Mapping[str, ImageRef],
    ttl_seconds: int,
    now: dt.datetime,
    today: dt.date,
    chart: str = "k8s/chart",
) -> UpResult:
    """Create or update preview `pr-N` and deploy `images` into it (verified, rolled back on failure)."""
    check_up(settings, ttl_seconds, images)
    name = namespace_name(pr)
    expires = int(now.timestamp()) + ttl_seconds
    existing = tools.run(
        "kubectl", ["get", "namespace", name, "--output", "json"], KUBECTL_TIMEOUT_S
    )
    if existing.ok:
        labels = _labels(as_dict(parse_json(existing.stdout, f"namespace {name}")))
        if not _is_ours(name, labels):
            raise DeployInputError(
                f"--pr {pr}: namespace {name} exists but was not created by preview "
                f"(no {MANAGED_BY[0]}={MANAGED_BY[1]} label); refusing to deploy into it"
            )
    redis_db, error = _claim_redis_db(tools, settings, pr, now)
    if error:
        return UpResult(None, name, "", 0, "", error)
    objects = [
        namespace_manifest(pr, expires, redis_db),
        quota_manifest(pr, settings),
        limitrange_manifest(pr, settings),
    ]
    error = _apply(tools, objects)
    if error:
        return UpResult(None, name, "", redis_db, "", f"cannot create {name}: {error}")
    if settings.tls and settings.tls_secret:
        error = _copy_tls_secret(tools, settings, pr)
        if error:
            return UpResult(None, name, "", redis_db, "", error)
    if not _existing_secret(tools, pr):  # one JWT secret per preview, kept across updates
        error = _apply(tools, [secret_manifest(pr, secrets.token_urlsafe(48))])
        if error:
            return UpResult(None, name, "", redis_db, "", f"cannot create the Secret: {error}")
    preview_target = target(pr, settings, redis_db)
    request = DeployRequest(
        target=preview_target, images=images, chart=chart, kubeconfig_given=True
    )
    report = actions.deploy(request, tools, clock, today)
    stamp = dt.datetime.fromtimestamp(expires, dt.UTC).isoformat(timespec="seconds")
    return UpResult(report, name, preview_target.url, redis_db, stamp.replace("+00:00", "Z"))


REGISTRY = "preview-redis-databases"  # ConfigMap in settings.state_namespace
CLAIM_GRACE_S = 600  # a claim whose namespace does not exist (yet) is kept this long


def _registry(tools: ClusterTools, namespace: str) -> tuple[dict[str, list[int]], str, str]:
    """(claims: db -> [pr, claimed at], resourceVersion, error); creates it when absent."""
    for _ in range(2):
        done = get(tools, ["configmap", REGISTRY, "--namespace", namespace])
        if done.ok:
            obj = as_dict(parse_json(done.stdout, f"configmap/{REGISTRY}"))
            text = as_dict(obj.get("data")).get("claims", "{}")
            raw = as_dict(parse_json(str(text), f"configmap/{REGISTRY} claims"))
            claims = {
                str(k): [int(x) for x in cast(list[int], v)]
                for k, v in raw.items()
                if isinstance(v, list) and len(cast(list[object], v)) == 2
            }
            version = str(as_dict(obj.get("metadata")).get("resourceVersion", ""))
            return claims, version, ""
        if "notfound" not in done.reason().lower().replace(" ", ""):
            return {}, "", f"cannot read configmap/{REGISTRY} in {namespace}: {done.reason(3)}"
        for args in (
            ["create", "namespace", namespace],
            ["create", "configmap", REGISTRY, "--namespace", namespace, "--from-literal=claims={}"],
        ):
            made = tools.run("kubectl", args, KUBECTL_TIMEOUT_S)
            if not made.ok and "alreadyexists" not in made.reason().lower().replace(" ", ""):
                return {}, "", f"cannot create {' '.join(args[1:3])}: {made.reason(3)}"
    return {}, "", f"configmap/{REGISTRY} in {namespace} could not be created"


def _claim_redis_db(
    tools: ClusterTools, settings: PreviewSettings, pr: int, now: dt.datetime
) -> tuple[int, str]:
    """This preview's Redis database, claimed in one registry ConfigMap.

    Each write carries the resourceVersion read (optimistic lock), so two previews created
    at the same moment never get the same database: the loser re-reads and picks again.
    Claims of previews that no longer exist are dropped (after a grace period, since a new
    preview claims before its namespace exists)."""
    ns = settings.state_namespace
    for _ in range(8):
        claims, version, error = _registry(tools, ns)
        if error:
            return 0, error
        namespaces, error = preview_namespaces(tools)
        if error:
            return 0, error
        live = {int(_name(n)[len(PREFIX) :]) for n in namespaces}
        stamp = int(now.timestamp())
        kept = {
            int(db): owner
            for db, (owner, at) in claims.items()
            if db.isdigit() and (owner in live or owner == pr or stamp - at < CLAIM_GRACE_S)
        }
        mine = [db for db, owner in kept.items() if owner == pr]
        db = mine[0] if mine else free_redis_db(kept, pr, settings.redis_databases)
        kept[db] = pr
        data = {str(k): [v, stamp if v == pr else dict(claims)[str(k)][1]] for k, v in kept.items()}
        manifest = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": REGISTRY,
                "namespace": ns,
                "resourceVersion": version,
                "labels": _own(),
            },
            "data": {"claims": json.dumps(data, sort_keys=True)},
        }
        error = _apply(tools, [manifest])
        if not error:
            return db, ""
        if "modified" not in error.lower() and "conflict" not in error.lower():
            return 0, f"cannot claim a Redis database: {error}"
    return 0, f"--pr {pr}: could not claim a Redis database (too many previews created at once)"


def down(tools: ClusterTools, pr: int, wait: bool = True) -> str:
    """Delete preview `pr-N` (everything it created lives in its namespace). Returns a message."""
    name = namespace_name(pr)
    done = tools.run("kubectl", ["get", "namespace", name, "--output", "json"], KUBECTL_TIMEOUT_S)
    if not done.ok:
        if "notfound" in done.reason().lower().replace(" ", ""):
            return f"preview {name} does not exist: nothing to remove"
        raise DeployInputError(f"--pr {pr}: cannot read namespace {name}: {done.reason(3)}")
    labels = _labels(as_dict(parse_json(done.stdout, f"namespace {name}")))
    if not _is_ours(name, labels):
        raise DeployInputError(
            f"--pr {pr}: namespace {name} was not created by preview; refusing to delete it"
        )
    return _delete(tools, name, wait)


def _delete(tools: ClusterTools, name: str, wait: bool) -> str:
    done = tools.run(
        "kubectl",
        ["delete", "namespace", name, f"--wait={'true' if wait else 'false'}", "--timeout=120s"],
        150,
    )
    if not done.ok:
        raise DeployInputError(f"cannot delete namespace {name}: {done.reason(3)}")
    return f"preview {name} removed"


def gc(tools: ClusterTools, now: dt.datetime, wait: bool = True) -> tuple[list[str], list[str]]:
    """Delete expired previews. Returns (removed, kept) namespace names."""
    namespaces, error = preview_namespaces(tools)
    if error:
        raise DeployInputError(error)
    gone = expired(namespaces, now)
    for name in gone:
        _delete(tools, name, wait)
    kept = sorted(_name(ns) for ns in namespaces if _name(ns) not in gone)
    return gone, kept
