"""Fixtures for the supply-chain suite: tools, a local htpasswd registry, both runtime images pushed,
SBOM'd with Syft, signed and attested with cosign. Missing tools or daemon fail loudly, never skip.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from supplychain_publishing import APPS, Published, Tools, cosign, push, remove_local_refs
from supplychain_registry import Registry, start_registry, stop_registry
from supplychain_tools import DOCKER, REPO, find_tool, run

# tests/images leaves its runtime builds under this prefix; reuse them, else build (cache hits).
TAG_PREFIX = os.environ.get("IMAGE_TEST_TAG_PREFIX", "blog-creator-test")
BASE_IMAGES = {
    "backend": ("PYTHON_IMAGE", "python:3.13-slim", "local/python:3.13-slim"),
    "frontend": ("NODE_IMAGE", "node:22-slim", "local/node:22-slim"),
}


@pytest.fixture(scope="session")
def tools() -> Tools:
    info = run([DOCKER, "info", "--format", "{{.ServerVersion}}"], timeout=30, check=False)
    if info.returncode != 0:
        pytest.fail(
            f"no Docker daemon answers ({DOCKER} info: {info.stderr.strip()}); "
            "run scripts/docker-setup.sh",
            pytrace=False,
        )
    return Tools(cosign=find_tool("cosign"), syft=find_tool("syft"))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("supplychain")


@pytest.fixture(scope="module")
def registry(workdir: Path, tools: Tools) -> Iterator[Registry]:
    (workdir / "registry").mkdir()
    reg = start_registry(workdir / "registry")
    try:
        yield reg
    finally:
        stop_registry(reg)
        # Pushed blobs are hundreds of MB; pytest keeps old tmp dirs, so drop them now.
        shutil.rmtree(workdir / "registry" / "data", ignore_errors=True)


@pytest.fixture(scope="module")
def client_env(workdir: Path, registry: Registry) -> Iterator[dict[str, str]]:
    """Environment for docker/cosign/syft: a private DOCKER_CONFIG holding the registry login."""
    config_dir = workdir / "docker-config"
    config_dir.mkdir(mode=0o700)
    env = {
        "DOCKER_CONFIG": str(config_dir),
        "TUF_ROOT": str(workdir / "tuf"),  # cosign must not touch ~/.sigstore
        "SYFT_CHECK_FOR_APP_UPDATE": "false",  # no network calls besides the registry
        "SYFT_REGISTRY_INSECURE_USE_HTTP": "true",  # the local registry speaks plain HTTP
        "SYFT_CACHE_DIR": str(workdir / "syft-cache"),
    }
    run(
        [DOCKER, "login", "--username", registry.username, "--password-stdin", registry.host],
        input=registry.password,
        env=env,
        timeout=60,
    )
    yield env
    shutil.rmtree(config_dir, ignore_errors=True)  # holds the registry credentials


@pytest.fixture(scope="module")
def cosign_keys(workdir: Path, tools: Tools, client_env: dict[str, str]) -> dict[str, str]:
    """A fresh encrypted key pair; the password travels in COSIGN_PASSWORD, never on a command line."""
    keydir = workdir / "keys"
    keydir.mkdir(mode=0o700)
    env = {**client_env, "COSIGN_PASSWORD": secrets.token_urlsafe(24)}
    run([tools.cosign, "generate-key-pair"], cwd=keydir, env=env, timeout=60)
    assert b"ENCRYPTED" in (keydir / "cosign.key").read_bytes()
    return {**env, "key": str(keydir / "cosign.key"), "pub": str(keydir / "cosign.pub")}


def _build_runtime(app: str, workdir: Path) -> str:
    var, official, standin = BASE_IMAGES[app]
    base = os.environ.get(var) or (
        official
        if run([DOCKER, "image", "inspect", official], timeout=30, check=False).returncode == 0
        else standin
    )
    ca = Path(os.environ.get("CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt"))
    tag = f"{TAG_PREFIX}/{app}:runtime"
    run(
        [
            DOCKER,
            "build",
            "-f",
            f"dockerfiles/{app}.Dockerfile",
            "--target",
            "runtime",
            "-t",
            tag,
            "--secret",
            f"id=ca,src={ca}",
            "--build-arg",
            f"{var}={base}",
            "--build-arg",
            "VERSION=0.0.0-test",
            ".",
        ],
        cwd=REPO,
        env={"DOCKER_BUILDKIT": "1"},
        timeout=1500,
    )
    return tag


@pytest.fixture(scope="module")
def source_images(workdir: Path, tools: Tools) -> dict[str, str]:
    images = {}
    for app in APPS:
        tag = f"{TAG_PREFIX}/{app}:runtime"
        exists = run([DOCKER, "image", "inspect", tag], timeout=30, check=False).returncode == 0
        images[app] = tag if exists else _build_runtime(app, workdir)
    return images


@pytest.fixture(scope="module")
def published(
    registry: Registry,
    client_env: dict[str, str],
    cosign_keys: dict[str, str],
    source_images: dict[str, str],
    tools: Tools,
    workdir: Path,
) -> Iterator[dict[str, Published]]:
    """Both runtime images pushed by digest, with a CycloneDX SBOM, a signature and an attestation."""
    result: dict[str, Published] = {}
    try:
        for app in APPS:
            repo = f"{registry.host}/blog-creator/{app}"
            tag_ref = f"{repo}:runtime"
            digest = push(source_images[app], tag_ref, client_env)
            sbom = workdir / f"{app}.cdx.json"
            run(
                [
                    tools.syft,
                    "scan",
                    f"registry:{repo}@{digest}",
                    "--quiet",
                    "-o",
                    f"cyclonedx-json={sbom}",
                ],
                env=client_env,
                timeout=300,
            )
            item = Published(app, repo, tag_ref, digest, sbom)
            cosign(
                tools,
                cosign_keys,
                "sign",
                "--key",
                cosign_keys["key"],
                "--tlog-upload=false",
                item.ref,
            )
            cosign(
                tools,
                cosign_keys,
                "attest",
                "--key",
                cosign_keys["key"],
                "--tlog-upload=false",
                "--type",
                "cyclonedx",
                "--predicate",
                str(sbom),
                item.ref,
            )
            result[app] = item
        yield result
    finally:
        remove_local_refs(registry.host)
