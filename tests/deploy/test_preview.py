"""Preview environments (pipeline/deploy/preview.py): the plan, the values, the bad input, and
the whole cycle on a real API server (kwok cluster, scripts/k8s-cluster.sh).

On the cluster: two pull requests previewed at once, each in its own restricted namespace with
its ResourceQuota and LimitRange (the API server refuses a pod over the quota), its own Redis
database, Elasticsearch index and JWT secret; `gc` removes only the expired preview, `down`
only its own namespace and never one the preview did not create. Containers do not run on
kwok nodes and kwok has no NetworkPolicy enforcement: isolation between previews is asserted
on the NetworkPolicies present, not on traffic (see the report of issue 16).
"""

from __future__ import annotations

import base64
import concurrent.futures
import datetime as dt
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from deploy_kwok_cluster import ROOT, TOOLS_BIN, apply_shared_crds, kubectl, start_cluster

from pipeline.config import ConfigError, parse_config_text
from pipeline.deploy import preview
from pipeline.deploy.preview_cli import main as preview_main
from pipeline.deploy.report import EXIT_OK, EXIT_REFUSED
from pipeline.deploy.request import DeployInputError
from pipeline.deploy.tools import SubprocessClusterTools

pytestmark = pytest.mark.timeout(600)

CONFIG = (ROOT / "pipeline.yaml").read_text()
SETTINGS = preview.PreviewSettings(
    domain="preview.example.com",
    values_file="k8s/environments/dev.yaml",
    quota={"requests.cpu": "1", "requests.memory": "2Gi", "limits.cpu": "6", "pods": "8"},
    limits={
        "default": {"cpu": "500m", "memory": "512Mi"},
        "defaultRequest": {"cpu": "50m", "memory": "128Mi"},
        "max": {"cpu": "1", "memory": "1Gi"},
    },
    smoke_paths=(),
    timeout_seconds=60,
)
DIGEST = "sha256:" + "d" * 64
IMAGES = ["--backend-image", f"ghcr.io/acme/backend@{DIGEST}"] + [
    "--frontend-image",
    f"ghcr.io/acme/frontend@{DIGEST}",
]


# ---------------------------------------------------------------- pure


def test_durations_and_quantities() -> None:
    assert [preview.parse_duration(t, "x") for t in ("90m", "72h", "7d")] == [5400, 259200, 604800]
    assert preview.cpu("500m", "x") == 0.5 and preview.cpu("2", "x") == 2
    assert preview.memory("512Mi", "x") == 512 * 2**20 and preview.memory("1G", "x") == 10**9
    with pytest.raises(DeployInputError, match="--ttl: '3 days' is not a duration like 90m"):
        preview.parse_duration("3 days", "--ttl")
    with pytest.raises(DeployInputError, match="x: 'lots' is not a CPU quantity"):
        preview.cpu("lots", "x")


def test_overlay_one_replica_no_hpa_own_host_redis_db_and_index() -> None:
    values = preview.overlay(7, SETTINGS, 3)
    assert values == (
        "backend.replicas=1",
        "frontend.replicas=1",
        "backend.autoscaling.enabled=false",
        "frontend.autoscaling.enabled=false",
        "routing.host=pr-7.preview.example.com",
        "config.redisUrl=redis://redis-master.data.svc:6379/3",
        "config.extra.ELASTICSEARCH_INDEX=blog-chunks-pr-7",
        "routing.tls.enabled=false",
    )
    target = preview.target(7, SETTINGS, 3)
    assert (target.namespace, target.strategy, target.url) == (
        "pr-7",
        "rolling",
        "http://pr-7.preview.example.com",
    )
    assert target.require_digest and not target.create_namespace


def test_the_overlay_renders_with_the_real_chart() -> None:
    helm = shutil.which("helm", path=str(TOOLS_BIN))
    if helm is None:
        pytest.skip(f"helm not in {TOOLS_BIN}: run scripts/install-k8s-tools.sh")
    sets = [a for v in preview.overlay(7, SETTINGS, 3) for a in ("--set", v)]
    done = subprocess.run(
        [helm, "template", "blog-creator", str(ROOT / "k8s/chart"), "--namespace", "pr-7"]
        + ["--values", str(ROOT / SETTINGS.values_file), *sets]
        + ["--set-string", f"image.backend.digest={DIGEST}"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "kind: HorizontalPodAutoscaler" not in out
    assert "host: pr-7.preview.example.com" in out or "pr-7.preview.example.com" in out
    assert 'REDIS_URL: "redis://redis-master.data.svc:6379/3"' in out
    assert 'ELASTICSEARCH_INDEX: "blog-chunks-pr-7"' in out
    assert "replicas: 1" in out and "replicas: 2" not in out


def test_redis_databases_are_handed_out_once() -> None:
    assert preview.free_redis_db({}, 5, 16) == 1
    assert preview.free_redis_db({1: 3, 2: 4}, 5, 16) == 3
    assert preview.free_redis_db({1: 3, 2: 5}, 5, 16) == 2  # keeps its own
    with pytest.raises(DeployInputError, match="all 2 Redis databases for previews are taken"):
        preview.free_redis_db({1: 3, 2: 4}, 5, 3)


def _ns(name: str, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels}}


def test_expired_picks_only_our_previews_past_their_ttl() -> None:
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    past, future = str(int(now.timestamp()) - 1), str(int(now.timestamp()) + 3600)
    ours = {preview.LABEL_PREVIEW: "true", preview.MANAGED_BY[0]: preview.MANAGED_BY[1]}
    namespaces = [
        _ns("pr-1", **ours, **{preview.LABEL_PR: "1", preview.LABEL_EXPIRES: past}),
        _ns("pr-2", **ours, **{preview.LABEL_PR: "2", preview.LABEL_EXPIRES: future}),
        _ns("pr-3", **{preview.LABEL_PREVIEW: "true", preview.LABEL_EXPIRES: past}),  # not ours
        _ns("pr-4", **ours, **{preview.LABEL_PR: "4", preview.LABEL_EXPIRES: "soon"}),  # kept
        _ns("blog-dev", **ours, **{preview.LABEL_PR: "5", preview.LABEL_EXPIRES: past}),
    ]
    assert preview.expired(namespaces, now) == ["pr-1"]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("domain: preview.blog-creator.example.com", "domain: Preview_X", "preview.domain:"),
        ("ttl: 72h", "ttl: 3 days", "preview.ttl: '3 days' is not a duration"),
        ("ttl: 72h", "ttl: 300h", "preview.ttl: 300 h must be positive and at most"),
        ('pods: "8"', 'pods: "many"', "preview.quota.pods: 'many' must be a count"),
        ('    pods: "8"\n', "", "preview.quota.pods: required"),
        ("requests.cpu:", "request.cpu:", "preview.quota.request.cpu: unknown"),
        ("max: {cpu: \"1\", memory: 1Gi}", "max: {cpu: \"1\", memory: 100Mi}",
         "preview.limits.default.memory: 512Mi exceeds preview.limits.max.memory (100Mi)"),
        ("max: {cpu: \"1\", memory: 1Gi}", "max: {cpu: \"8\", memory: 1Gi}",
         "preview.limits.max.cpu: 8 is more than the whole preview.quota.limits.cpu"),
        ("cluster: blog-dev", "cluster: ''", "cluster"),
    ],
)  # fmt: skip
def test_bad_preview_values_in_pipeline_yaml_are_named(old: str, new: str, message: str) -> None:
    assert old in CONFIG
    with pytest.raises(ConfigError) as caught:
        parse_config_text(CONFIG.replace(old, new, 1))
    assert message in str(caught.value)


def _settings_file(tmp_path: Path, settings: preview.PreviewSettings = SETTINGS) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "preview.json"
    path.write_text(json.dumps(settings.to_json()))
    return path


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["up", "--pr", "7", "--ttl", "30d", *IMAGES], "--ttl: 720 h must be positive and at most"),
        (["up", "--pr", "0", *IMAGES], "--pr: 0 must be a pull request number"),
        (["up", "--pr", "7", "--backend-image", "ghcr.io/acme/backend:pr-7",
          "--frontend-image", f"ghcr.io/acme/frontend@{DIGEST}"],
         "--backend-image: ghcr.io/acme/backend:pr-7 must be pinned by digest"),
        (["down"], "--pr: required for down"),
        (["gc", "--context", "prod"], "--context: 'prod' is not the preview cluster"),
    ],
)  # fmt: skip
def test_bad_cli_input_is_refused_before_touching_a_cluster(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _settings_file(
        tmp_path, preview.PreviewSettings(**{**SETTINGS.__dict__, "context": "previews"})
    )
    calls: list[object] = []

    def no_cluster(_k: str | None, _c: str | None) -> Any:
        calls.append(1)
        raise AssertionError("no cluster access expected")

    code = preview_main(
        [argv[0], "--settings", str(settings), "--values-root", str(ROOT), *argv[1:]],
        tools_factory=no_cluster,
    )
    assert code == EXIT_REFUSED
    assert message in capsys.readouterr().err


# ---------------------------------------------------------------- on a real API server


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[str, SubprocessClusterTools]]:
    for found in start_cluster("preview"):
        _, tools = found
        apply_shared_crds(tools)
        yield found


def _get(tools: SubprocessClusterTools, *args: str) -> Any:
    return json.loads(kubectl(tools, "get", *args, "-o", "json"))


def _context(kubeconfig: str) -> str:
    text = Path(kubeconfig).read_text()
    return next(
        line.split(":", 1)[1].strip()
        for line in text.splitlines()
        if line.startswith("current-context:")
    )


def _cli(cluster: tuple[str, SubprocessClusterTools], tmp_path: Path, *argv: str) -> int:
    kubeconfig, tools = cluster
    settings = preview.PreviewSettings(**{**SETTINGS.__dict__, "context": _context(kubeconfig)})
    return preview_main(
        [argv[0], "--settings", str(_settings_file(tmp_path, settings)), "--values-root", str(ROOT)]
        + ["--chart", str(ROOT / "k8s/chart"), "--kubeconfig", kubeconfig]
        + ["--report-dir", str(tmp_path / "reports"), *argv[1:]],
        tools_factory=lambda _k, _c: tools,
    )


def test_two_previews_at_once_quota_enforced_gc_and_down_remove_only_their_own(
    cluster: tuple[str, SubprocessClusterTools], tmp_path: Path
) -> None:
    _, tools = cluster
    # Somebody else's namespace that merely looks like a preview: never touched.
    kubectl(tools, "create", "namespace", "pr-99")

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        codes = list(
            pool.map(
                lambda pr: _cli(cluster, tmp_path / str(pr), "up", "--pr", str(pr), *IMAGES),
                (11, 12),
            )
        )
    assert codes == [EXIT_OK, EXIT_OK], [
        (tmp_path / str(pr) / "reports" / f"deploy-pr-{pr}.md").read_text() for pr in (11, 12)
    ]
    summary = json.loads((tmp_path / "11" / "reports" / "preview-pr-11.json").read_text())
    assert (
        summary["url"] == "http://pr-11.preview.example.com" and summary["outcome"] == "succeeded"
    )

    dbs, jwts, indexes = set(), set(), set()
    for pr in (11, 12):
        ns = f"pr-{pr}"
        labels = _get(tools, "namespace", ns)["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
        assert labels[preview.LABEL_PR] == str(pr)
        dbs.add(labels[preview.LABEL_REDIS_DB])
        quota = _get(tools, "resourcequota", "preview-quota", "-n", ns)
        assert quota["spec"]["hard"]["pods"] == "8" and quota["status"]["used"]["pods"] != "0"
        assert (
            _get(tools, "limitrange", "preview-limits", "-n", ns)["spec"]["limits"][0]["max"]["cpu"]
            == "1"
        )
        for name in ("blog-creator-backend", "blog-creator-frontend"):
            assert _get(tools, "deployment", name, "-n", ns)["spec"]["replicas"] == 1
        assert _get(tools, "hpa", "-n", ns)["items"] == []
        config = _get(tools, "configmap", "blog-creator-config", "-n", ns)["data"]
        assert config["REDIS_URL"].endswith("/" + labels[preview.LABEL_REDIS_DB])
        indexes.add(config["ELASTICSEARCH_INDEX"])
        secret = _get(tools, "secret", "blog-creator-secrets", "-n", ns)["data"]
        jwts.add(base64.b64decode(secret["jwt-secret"]))
        ingress = _get(tools, "ingress", "-n", ns)["items"][0]
        assert ingress["spec"]["rules"][0]["host"] == f"{ns}.preview.example.com"
        # The chart's NetworkPolicies: default deny; ingress only from the ingress controller,
        # monitoring and the release's own pods — never from another preview namespace.
        policies = _get(tools, "networkpolicy", "-n", ns)["items"]
        assert any(p["metadata"]["name"].endswith("default-deny") for p in policies)
        for policy in policies:
            for rule in policy["spec"].get("ingress", []):
                for peer in rule.get("from", []):
                    selector = peer.get("namespaceSelector", {}).get("matchLabels", {})
                    assert not str(selector.get("kubernetes.io/metadata.name", "")).startswith(
                        "pr-"
                    )
    assert (
        len(dbs) == 2 and len(jwts) == 2 and indexes == {"blog-chunks-pr-11", "blog-chunks-pr-12"}
    )

    # The API server enforces the quota: 1 CPU of requests per preview, ~0.2 used.
    pod = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "too-big", "namespace": "pr-11"},
        "spec": {"containers": [{"name": "c", "image": f"ghcr.io/acme/backend@{DIGEST}",
                 "resources": {"requests": {"cpu": "950m"}, "limits": {"cpu": "1"}},
                 "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True,
                                     "capabilities": {"drop": ["ALL"]},
                                     "seccompProfile": {"type": "RuntimeDefault"}}}]},
    }  # fmt: skip
    path = tmp_path / "pod.json"
    path.write_text(json.dumps(pod))
    refused = tools.run("kubectl", ["apply", "-f", str(path)], 60)
    assert not refused.ok and "exceeded quota" in refused.stderr, refused.stderr
    # ... and the LimitRange: no container above 1 CPU.
    pod["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "2"}}  # type: ignore[index]
    path.write_text(json.dumps(pod))
    refused = tools.run("kubectl", ["apply", "-f", str(path)], 60)
    assert not refused.ok and "maximum cpu usage per Container is 1" in refused.stderr, (
        refused.stderr
    )

    # Updating a preview keeps its Redis database and JWT secret.
    assert _cli(cluster, tmp_path / "11b", "up", "--pr", "11", *IMAGES) == EXIT_OK
    again = _get(tools, "secret", "blog-creator-secrets", "-n", "pr-11")["data"]["jwt-secret"]
    assert base64.b64decode(again) in jwts

    # gc: PR 12 has expired, PR 11 has not; pr-99 is not a preview.
    past = str(int(dt.datetime.now(dt.UTC).timestamp()) - 60)
    kubectl(tools, "label", "namespace", "pr-12", f"{preview.LABEL_EXPIRES}={past}", "--overwrite")
    assert _cli(cluster, tmp_path / "gc", "gc") == EXIT_OK
    names = {n["metadata"]["name"] for n in _get(tools, "namespaces")["items"]}
    assert "pr-12" not in names and {"pr-11", "pr-99"} <= names

    # down: refuses the namespace it did not create; removes its own and nothing else.
    assert _cli(cluster, tmp_path / "d99", "down", "--pr", "99") == EXIT_REFUSED
    assert _cli(cluster, tmp_path / "d11", "down", "--pr", "11") == EXIT_OK
    names = {n["metadata"]["name"] for n in _get(tools, "namespaces")["items"]}
    assert "pr-11" not in names and "pr-99" in names and "default" in names
    assert _cli(cluster, tmp_path / "d11b", "down", "--pr", "11") == EXIT_OK  # already gone: fine


TLS = preview.PreviewSettings(**{**SETTINGS.__dict__, "tls": True, "tls_secret": "wildcard-tls"})


def test_tls_overlay_uses_the_wildcard_secret_instead_of_a_certificate_per_host() -> None:
    values = preview.overlay(7, TLS, 3)
    assert "routing.tls.enabled=true" in values
    assert values[-2:] == (
        "routing.tls.secretName=wildcard-tls",
        "routing.tls.certManager.enabled=false",
    )
    assert preview.target(7, TLS, 3).url == "https://pr-7.preview.example.com"


def test_a_preview_with_tls_gets_a_copy_of_the_wildcard_certificate(
    cluster: tuple[str, SubprocessClusterTools], tmp_path: Path
) -> None:
    kubeconfig, tools = cluster
    settings = preview.PreviewSettings(**{**TLS.__dict__, "context": _context(kubeconfig)})
    path = _settings_file(tmp_path, settings)

    def up(pr: int) -> int:
        return preview_main(
            ["up", "--settings", str(path), "--values-root", str(ROOT), "--pr", str(pr)]
            + ["--chart", str(ROOT / "k8s/chart"), "--report-dir", str(tmp_path / str(pr))]
            + IMAGES,
            tools_factory=lambda _k, _c: tools,
        )

    tools.run("kubectl", ["create", "namespace", settings.state_namespace], 60)
    # Before the wildcard certificate exists: refused, naming the field and the fix.
    assert up(13) == EXIT_REFUSED
    # Test key material only (the API server checks the keys of a kubernetes.io/tls Secret).
    secret = {
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": "wildcard-tls", "namespace": settings.state_namespace},
        "data": {"tls.crt": base64.b64encode(b"test-cert").decode(),
                 "tls.key": base64.b64encode(b"test-key").decode()},
    }  # fmt: skip
    manifest = tmp_path / "tls.json"
    manifest.write_text(json.dumps(secret))
    kubectl(tools, "apply", "-f", str(manifest))
    assert up(13) == EXIT_OK
    copied = _get(tools, "secret", "wildcard-tls", "-n", "pr-13")
    assert copied["type"] == "kubernetes.io/tls" and copied["data"] == secret["data"]
    ingress = _get(tools, "ingress", "-n", "pr-13")["items"][0]
    assert ingress["spec"]["tls"] == [
        {"hosts": ["pr-13.preview.example.com"], "secretName": "wildcard-tls"}
    ]
    assert _get(tools, "certificates.cert-manager.io", "-n", "pr-13")["items"] == []
    summary = json.loads((tmp_path / "13" / "preview-pr-13.json").read_text())
    assert summary["url"] == "https://pr-13.preview.example.com"
    assert _cli(cluster, tmp_path / "d13", "down", "--pr", "13") == EXIT_OK
