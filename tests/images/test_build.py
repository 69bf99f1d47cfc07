"""Every target of both Dockerfiles builds; runtime images carry labels, a non-root user, a
healthcheck, and nothing from the build: no CA bundle or secret, no compilers, no caches."""

from __future__ import annotations

import pytest
from images_docker import CA_CANARY, docker
from images_layers import image_config, scan_image

TARGETS = [("backend", "deps"), ("backend", "test"), ("backend", "runtime"),
           ("frontend", "deps"), ("frontend", "build"), ("frontend", "test"), ("frontend", "runtime")]


@pytest.mark.parametrize(("app", "target"), TARGETS, ids=[f"{a}-{t}" for a, t in TARGETS])
def test_target_builds(build_image, app: str, target: str) -> None:
    tag = build_image(app, target)
    assert docker("image", "inspect", "--format", "{{.Id}}", tag).stdout.startswith("sha256:")


@pytest.mark.parametrize("app", ["backend", "frontend"])
def test_runtime_metadata(build_image, vcs_ref: str, app: str) -> None:
    config = image_config(build_image(app, "runtime"))
    assert config["User"] == "10001:10001"
    labels = config["Labels"]
    assert labels["org.opencontainers.image.revision"] == vcs_ref
    assert labels["org.opencontainers.image.version"] == "0.0.0-test"
    assert labels["org.opencontainers.image.title"] == f"blog-creator-{app}"
    assert labels["org.opencontainers.image.created"].endswith("Z")
    assert labels["org.opencontainers.image.source"].startswith("https://")
    assert config["StopSignal"] == "SIGTERM"
    health = " ".join(config["Healthcheck"]["Test"])
    assert ("/healthz" if app == "backend" else "/api/health") in health
    env = dict(item.split("=", 1) for item in config["Env"])
    if app == "frontend":
        assert env["NODE_ENV"] == "production" and env["NEXT_TELEMETRY_DISABLED"] == "1"
        assert env["HOSTNAME"] == "0.0.0.0" and env["PORT"] == "3000"
    for key in env:  # nothing secret-looking baked into the image
        assert not any(w in key.upper() for w in ("SECRET", "PASSWORD", "TOKEN", "API_KEY")), key


@pytest.mark.parametrize(("app", "target"), TARGETS, ids=[f"{a}-{t}" for a, t in TARGETS])
def test_no_build_secret_in_any_layer(build_image, ca_bundle, app: str, target: str) -> None:
    """The CA bundle is a BuildKit secret: neither its canary line nor /run/secrets reaches a layer."""
    scan = scan_image(build_image(app, target), [CA_CANARY])
    assert scan.files_with_marker == [], "CA bundle content found in image layers"
    assert scan.metadata_with_marker == [], "CA bundle content found in image config/history"
    assert not [p for p in scan.paths if "run/secrets/" in p and not p.endswith("run/secrets/")]


@pytest.mark.parametrize("app", ["backend", "frontend"])
def test_runtime_has_no_compilers_or_caches(build_image, app: str) -> None:
    scan = scan_image(build_image(app, "runtime"), [CA_CANARY])
    assert scan.forbidden() == []
    if app == "backend":
        assert "opt/venv/bin/uvicorn" in scan.paths
        assert not any(p.startswith("opt/venv/lib/python3.13/site-packages/pytest/") for p in scan.paths), \
            "dev dependencies leaked into the runtime image"
    else:
        assert "app/server.js" in scan.paths
        assert not any("node_modules/typescript/" in p or "node_modules/vitest/" in p for p in scan.paths), \
            "dev dependencies leaked into the runtime image"


@pytest.mark.parametrize("app", ["backend", "frontend"])
def test_runtime_user_is_not_root(build_image, app: str) -> None:
    out = docker("run", "--rm", "--entrypoint", "id", build_image(app, "runtime")).stdout
    assert out.startswith("uid=10001"), out


def test_layer_scanner_detects_leaks(tmp_path) -> None:
    """The scanner itself: an image that does leak the canary, a compiler and a cache is caught."""
    import io
    import tarfile

    blob = io.BytesIO()
    with tarfile.open(fileobj=blob, mode="w") as tar:
        for name, data in {"etc/ssl/leaked-ca.pem": b"cert\n" + CA_CANARY, "usr/bin/gcc": b"\x7fELF",
                           "root/.cache/pip/http/x": b"cached", "run/secrets/ca": b"x"}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    tag = "blog-creator-test/leaky:scanner-selftest"
    docker("import", "-", tag, input=blob.getvalue().decode("latin-1"))
    try:
        scan = scan_image(tag, [CA_CANARY])
        assert any(f.endswith("etc/ssl/leaked-ca.pem") for f in scan.files_with_marker)
        assert {why for _, why in scan.forbidden()} == {"compiler", "pip/uv cache", "BuildKit secret file"}
    finally:
        docker("rmi", "-f", tag, check=False)
