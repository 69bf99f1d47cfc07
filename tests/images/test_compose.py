"""compose.yaml validates, and its stack (redis + backend + frontend) serves the app through the
frontend's origin and keeps a user's draft across a full restart (containers recreated).

Elasticsearch is left out of the running stack: no container registry is reachable here, so its
image cannot be pulled (the service definition is still validated)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from images_compose import compose, without_elasticsearch
from images_docker import REPO, docker, free_port, wait_until

COMPOSE_FILE = REPO / "compose.yaml"


def test_compose_file_validates_and_wires_healthchecks() -> None:
    out = compose([COMPOSE_FILE], "blogimg-validate", "config", env={"JWT_SECRET": "x" * 40}).stdout
    config = yaml.safe_load(out)
    services = config["services"]
    core = {name for name, svc in services.items() if not svc.get("profiles")}
    assert core == {"redis", "elasticsearch", "backend", "frontend"}
    assert {name for name, svc in services.items() if "observability" in svc.get("profiles", [])} == {
        "prometheus", "grafana", "otel-collector", "jaeger"}
    for name in core:
        assert "healthcheck" in services[name], f"{name} has no healthcheck"
    assert {k: v["condition"] for k, v in services["backend"]["depends_on"].items()} == {
        "redis": "service_healthy", "elasticsearch": "service_healthy"}
    assert services["frontend"]["depends_on"]["backend"]["condition"] == "service_healthy"
    assert services["backend"]["build"]["target"] == "runtime"
    assert services["backend"]["build"]["dockerfile"].endswith("dockerfiles/backend.Dockerfile")
    assert services["frontend"]["build"]["dockerfile"].endswith("dockerfiles/frontend.Dockerfile")
    assert "--appendonly" in services["redis"]["command"]
    def targets(svc: dict) -> set[str]:  # v1 prints "src:dst:mode" strings, v2 prints mappings
        return {v["target"] if isinstance(v, dict) else v.split(":")[1] for v in svc.get("volumes", [])}
    assert "/data" in targets(services["redis"]), "redis AOF must live on a named volume"
    assert "/var/lib/blog-creator" in targets(services["backend"])
    es_env = services["elasticsearch"]["environment"]
    assert es_env["discovery.type"] == "single-node" and "-Xmx" in es_env["ES_JAVA_OPTS"]


def test_compose_refuses_to_start_without_jwt_secret() -> None:
    proc = compose([COMPOSE_FILE], "blogimg-validate", "config", "-q", env={"JWT_SECRET": ""}, check=False)
    assert proc.returncode != 0
    assert "JWT_SECRET" in proc.stderr and ".env.example" in proc.stderr


@pytest.fixture
def stack(tmp_path: Path, backend_runtime: str, frontend_runtime: str, redis_image: str) -> Iterator[dict]:
    project = f"blogimg{uuid.uuid4().hex[:8]}"
    files = [without_elasticsearch(COMPOSE_FILE, tmp_path / "compose.no-es.yaml")]
    port = free_port()
    env = {
        "JWT_SECRET": secrets.token_urlsafe(48), "BACKEND_IMAGE": backend_runtime,
        "FRONTEND_IMAGE": frontend_runtime, "REDIS_IMAGE": redis_image,
        "FRONTEND_PORT": str(port), "BACKEND_PORT": str(free_port()),
        "CORS_ORIGINS": f"http://127.0.0.1:{port}",
    }
    info = {"files": files, "project": project, "env": env, "url": f"http://127.0.0.1:{port}"}
    try:
        yield info
    finally:
        logs = compose(files, project, "logs", "--no-color", env=env, check=False).stdout
        (REPO / "reports" / "images").mkdir(parents=True, exist_ok=True)
        (REPO / "reports" / "images" / "compose-stack.log").write_text(logs)
        compose(files, project, "down", "-v", "--remove-orphans", env=env, check=False)


def up_and_wait(stack: dict) -> None:
    compose(stack["files"], stack["project"], "up", "-d", "--no-build", env=stack["env"], timeout=240)
    for service in ("redis", "backend", "frontend"):
        cid = compose(stack["files"], stack["project"], "ps", "-q", service, env=stack["env"]).stdout.strip()
        assert cid, f"{service} container missing"
        wait_until(lambda cid=cid: docker("inspect", "--format", "{{.State.Health.Status}}", cid).stdout.strip() == "healthy",
                   120, f"compose service {service} healthy")


def test_stack_serves_app_and_persists_drafts(stack: dict) -> None:
    up_and_wait(stack)
    url = stack["url"]
    email = f"compose-{uuid.uuid4().hex[:8]}@example.com"
    password = "compose stack 42"
    text = ("Container images should be small and rebuild fast. Multi-stage builds keep compilers "
            "out of the runtime image. A read-only root filesystem limits what an attacker can change.\n") * 5
    with httpx.Client(base_url=url, headers={"Origin": url}, timeout=60) as client:
        r = client.post("/api/auth/register", json={"email": email, "password": password, "full_name": "Compose User"})
        assert r.status_code in (200, 201), r.text
        r = client.post("/api/auth/login", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        r = client.post("/api/bff/documents", files={"file": ("images.md", text.encode(), "text/markdown")})
        assert r.status_code == 201, r.text
        r = client.post("/api/bff/drafts/generate", json={"document_ids": [r.json()["id"]], "topic": "container images"})
        assert r.status_code == 201, r.text
        draft = r.json()

    compose(stack["files"], stack["project"], "down", env=stack["env"], timeout=120)  # volumes kept
    assert compose(stack["files"], stack["project"], "ps", "-q", env=stack["env"]).stdout.strip() == ""
    up_and_wait(stack)

    with httpx.Client(base_url=url, headers={"Origin": url}, timeout=60) as client:
        assert client.post("/api/auth/login", json={"email": email, "password": password}).status_code == 200
        r = client.get(f"/api/bff/drafts/{draft['id']}")
        assert r.status_code == 200, r.text
        assert r.json()["title"] == draft["title"] and r.json()["content"] == draft["content"]
        page = client.get(f"/drafts/{draft['id']}")
        assert page.status_code == 200 and draft["title"].split()[0] in page.text
