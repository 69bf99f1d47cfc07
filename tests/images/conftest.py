"""Session fixtures for the image tests: Docker must answer, images are built once per session.

Base images: $PYTHON_IMAGE / $NODE_IMAGE when set; else the official images if they are present
locally; else the local stand-ins from scripts/build-base-images.sh (this machine reaches no
registry). A missing tool or daemon fails the suite loudly, it never skips.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from images_docker import CA_CANARY, DOCKER, REPO, STANDIN_IMAGES, docker, image_exists

OFFICIAL_IMAGES = {"PYTHON_IMAGE": "python:3.13-slim", "NODE_IMAGE": "node:22-slim"}
# A marker line appended to the CA bundle given to builds: it must never appear in an image.
TAG_PREFIX = os.environ.get("IMAGE_TEST_TAG_PREFIX", "blog-creator-test")
REPORTS = Path(os.environ.get("REPORTS_DIR", REPO / "reports")) / "images"


@pytest.fixture(scope="session", autouse=True)
def docker_daemon() -> None:
    proc = subprocess.run([DOCKER, "info", "--format", "{{.ServerVersion}}"],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.fail(f"no Docker daemon answers ({DOCKER} info: {proc.stderr.strip()}); "
                    "run scripts/docker-setup.sh", pytrace=False)


@pytest.fixture(scope="session")
def reports_dir() -> Path:
    REPORTS.mkdir(parents=True, exist_ok=True)
    return REPORTS


@pytest.fixture(scope="session")
def base_images() -> dict[str, str]:
    chosen: dict[str, str] = {}
    for var, official in OFFICIAL_IMAGES.items():
        ref = os.environ.get(var) or (official if image_exists(official) else STANDIN_IMAGES[var])
        if not image_exists(ref):
            pytest.fail(f"base image {ref} ({var}) is not available: set {var} or run "
                        "scripts/build-base-images.sh", pytrace=False)
        chosen[var] = ref
    return chosen


@pytest.fixture(scope="session")
def redis_image() -> str:
    for ref in (os.environ.get("REDIS_IMAGE"), "redis:7.4-alpine", "local/redis:7"):
        if ref and image_exists(ref):
            return ref
    pytest.fail("no Redis image: set REDIS_IMAGE or run scripts/build-base-images.sh", pytrace=False)


@pytest.fixture(scope="session")
def ca_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The host CA bundle (needed behind the TLS-intercepting proxy) plus the canary line."""
    src = Path(os.environ.get("CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt"))
    path = tmp_path_factory.mktemp("secrets") / "ca.pem"
    path.write_bytes((src.read_bytes() if src.exists() else b"") + b"\n" + CA_CANARY + b"\n")
    return path


@pytest.fixture(scope="session")
def vcs_ref() -> str:
    proc = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False)
    return proc.stdout.strip() or "unknown"


BuildFn = Callable[[str, str], str]


@pytest.fixture(scope="session")
def build_image(base_images: dict[str, str], ca_bundle: Path, vcs_ref: str, reports_dir: Path) -> BuildFn:
    """build_image("backend"|"frontend", target) -> tag; each (app, target) is built once."""
    built: dict[tuple[str, str], str] = {}
    build_date = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def build(app: str, target: str) -> str:
        if (app, target) in built:
            return built[(app, target)]
        tag = f"{TAG_PREFIX}/{app}:{target}"
        base_arg = "PYTHON_IMAGE" if app == "backend" else "NODE_IMAGE"
        started = time.monotonic()
        proc = docker(
            "build", "--progress=plain", "-f", f"dockerfiles/{app}.Dockerfile", "--target", target,
            "-t", tag, "--secret", f"id=ca,src={ca_bundle}",
            "--build-arg", f"{base_arg}={base_images[base_arg]}",
            "--build-arg", f"VCS_REF={vcs_ref}", "--build-arg", "VERSION=0.0.0-test",
            "--build-arg", f"BUILD_DATE={build_date}", ".",
            cwd=REPO, check=False, timeout=1500,
        )
        (reports_dir / f"build-{app}-{target}.log").write_text(proc.stderr + proc.stdout)
        if proc.returncode != 0:
            pytest.fail(f"docker build {app}:{target} failed (log: reports/images/build-{app}-{target}.log)\n"
                        f"{proc.stderr[-3000:]}", pytrace=False)
        print(f"built {tag} in {time.monotonic() - started:.1f}s")
        built[(app, target)] = tag
        return tag

    return build


@pytest.fixture(scope="session")
def backend_runtime(build_image: BuildFn) -> str:
    return build_image("backend", "runtime")


@pytest.fixture(scope="session")
def frontend_runtime(build_image: BuildFn) -> str:
    return build_image("frontend", "runtime")


@pytest.fixture
def network() -> Iterator[str]:
    name = f"blogimg-{os.getpid()}-{time.monotonic_ns()}"
    docker("network", "create", "--label", "blog-creator-test=1", name)
    yield name
    docker("network", "rm", name, check=False)


@pytest.fixture
def cleanup() -> Iterator[list]:
    """Containers appended here are removed after the test, whatever happens."""
    items: list = []
    yield items
    for item in reversed(items):
        item.remove()
