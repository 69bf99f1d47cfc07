"""Supply chain, for real: a local htpasswd-protected registry (Debian docker-registry), both runtime
images pushed, CycloneDX SBOMs from Syft, cosign key-pair signatures and SBOM attestations verified,
and a modified image (different digest) rejected. No Rekor is reachable here, so the transparency
log is off on both sides (--tlog-upload=false / --insecure-ignore-tlog=true); everything else is real.
"""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import pytest
from supplychain_publishing import APPS, Published, Tools, cosign, json_lines, push
from supplychain_registry import Registry
from supplychain_tools import DOCKER, run

pytestmark = pytest.mark.timeout(600)

# Packages each image must list in its SBOM: proof that Syft saw the application, not just the OS.
EXPECTED_COMPONENTS = {"backend": {"fastapi", "uvicorn", "pydantic"}, "frontend": {"next", "react"}}
NO_TLOG = "--insecure-ignore-tlog=true"


def verify(
    tools: Tools, keys: dict[str, str], ref: str, pub: str | None = None, check: bool = True
):
    return cosign(tools, keys, "verify", "--key", pub or keys["pub"], NO_TLOG, ref, check=check)


def verify_attestation(tools: Tools, keys: dict[str, str], ref: str, check: bool = True):
    return cosign(
        tools,
        keys,
        "verify-attestation",
        "--key",
        keys["pub"],
        NO_TLOG,
        "--type",
        "cyclonedx",
        ref,
        check=check,
    )


def component_names(bom: dict) -> set[str]:
    return {c["name"] for c in bom.get("components", [])}


def test_registry_requires_htpasswd_auth(registry: Registry) -> None:
    status, _, headers = registry.request("/v2/")
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic ")
    assert (
        registry.request("/v2/", auth=(registry.username, "wrong-" + secrets.token_hex(4)))[0]
        == 401
    )
    assert registry.request("/v2/", auth=registry.auth)[0] == 200


@pytest.mark.parametrize("app", APPS)
def test_pushed_image_is_in_registry_by_digest(
    app: str, published: dict[str, Published], registry: Registry
) -> None:
    item = published[app]
    path = f"/v2/blog-creator/{app}/manifests/{item.digest}"
    accept = {
        "Accept": "application/vnd.docker.distribution.manifest.v2+json, "
        "application/vnd.oci.image.manifest.v1+json"
    }
    assert registry.request(path, headers=accept, method="HEAD")[0] == 401
    status, _, headers = registry.request(path, auth=registry.auth, headers=accept, method="HEAD")
    assert status == 200 and headers["Docker-Content-Digest"] == item.digest


@pytest.mark.parametrize("app", APPS)
def test_sbom_is_cyclonedx_and_lists_the_application(
    app: str, published: dict[str, Published]
) -> None:
    bom = json.loads(published[app].sbom.read_text())
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"].startswith("1.")
    # The SBOM describes exactly the pushed manifest, not a tag that may move.
    assert bom["metadata"]["component"]["version"] == published[app].digest
    names = component_names(bom)
    assert EXPECTED_COMPONENTS[app] <= names, (
        f"missing {EXPECTED_COMPONENTS[app] - names} in {app} SBOM"
    )
    assert len(names) > 20, f"suspiciously small SBOM for {app}: {sorted(names)}"


@pytest.mark.parametrize("app", APPS)
def test_signature_verifies_for_the_pushed_digest(
    app: str, published: dict[str, Published], tools: Tools, cosign_keys: dict[str, str]
) -> None:
    item = published[app]
    payloads = json_lines(verify(tools, cosign_keys, item.ref).stdout)
    assert payloads, "cosign verify printed no payload"
    for payload in payloads:
        assert payload["critical"]["image"]["docker-manifest-digest"] == item.digest
        assert payload["critical"]["identity"]["docker-reference"] == item.repo


@pytest.mark.parametrize("app", APPS)
def test_sbom_attestation_verifies_and_carries_the_sbom(
    app: str, published: dict[str, Published], tools: Tools, cosign_keys: dict[str, str]
) -> None:
    item = published[app]
    envelopes = json_lines(verify_attestation(tools, cosign_keys, item.ref).stdout)
    assert envelopes, "cosign verify-attestation printed no envelope"
    statement = json.loads(base64.b64decode(envelopes[0]["payload"]))
    assert statement["predicateType"] == "https://cyclonedx.org/bom"
    assert [s["digest"]["sha256"] for s in statement["subject"]] == [
        item.digest.removeprefix("sha256:")
    ]
    sbom = json.loads(item.sbom.read_text())
    assert component_names(statement["predicate"]) == component_names(sbom)


def test_signature_from_another_key_is_rejected(
    published: dict[str, Published], tools: Tools, cosign_keys: dict[str, str], tmp_path: Path
) -> None:
    run([tools.cosign, "generate-key-pair"], cwd=tmp_path, env=cosign_keys, timeout=60)
    proc = verify(
        tools, cosign_keys, published["backend"].ref, pub=str(tmp_path / "cosign.pub"), check=False
    )
    assert proc.returncode != 0
    assert "no matching signatures" in proc.stderr.lower(), proc.stderr[-2000:]


def _build_modified(source: str, tag: str, tmp_path: Path) -> None:
    """The same image plus one extra layer: what a tampered or rebuilt image looks like."""
    (tmp_path / "extra.txt").write_text("not what was signed\n")
    (tmp_path / "Dockerfile").write_text(f"FROM {source}\nCOPY extra.txt /extra.txt\n")
    run(
        [DOCKER, "build", "-q", "-t", tag, str(tmp_path)], env={"DOCKER_BUILDKIT": "1"}, timeout=300
    )


def test_modified_image_fails_verification(
    published: dict[str, Published],
    source_images: dict[str, str],
    registry: Registry,
    client_env: dict[str, str],
    tools: Tools,
    cosign_keys: dict[str, str],
    tmp_path: Path,
) -> None:
    signed = published["backend"]
    tampered_tag = f"{signed.repo}:tampered"
    _build_modified(source_images["backend"], tampered_tag, tmp_path)
    tampered_digest = push(tampered_tag, tampered_tag, client_env)
    assert tampered_digest != signed.digest
    tampered_ref = f"{signed.repo}@{tampered_digest}"

    # 1. The modified digest has no signature and no attestation.
    proc = verify(tools, cosign_keys, tampered_ref, check=False)
    assert proc.returncode != 0 and "no signatures found" in proc.stderr.lower(), proc.stderr[
        -2000:
    ]
    assert verify_attestation(tools, cosign_keys, tampered_ref, check=False).returncode != 0

    # 2. Moving the signed tag onto the modified image: verifying by tag now fails.
    push(tampered_tag, signed.tag_ref, client_env)
    assert verify(tools, cosign_keys, signed.tag_ref, check=False).returncode != 0

    # 3. Copying the genuine signature onto the modified digest: the signed payload names the
    #    original digest, so cosign rejects it.
    signed_sig = cosign(tools, cosign_keys, "triangulate", signed.ref).stdout.strip()
    tampered_sig = cosign(tools, cosign_keys, "triangulate", tampered_ref).stdout.strip()
    accept = {
        "Accept": "application/vnd.oci.image.manifest.v1+json, "
        "application/vnd.docker.distribution.manifest.v2+json"
    }
    status, manifest, headers = registry.request(
        f"/v2/blog-creator/backend/manifests/{signed_sig.rsplit(':', 1)[1]}",
        auth=registry.auth,
        headers=accept,
    )
    assert status == 200, manifest[-500:]
    status, body, _ = registry.request(
        f"/v2/blog-creator/backend/manifests/{tampered_sig.rsplit(':', 1)[1]}",
        auth=registry.auth,
        method="PUT",
        data=manifest,
        headers={"Content-Type": headers["Content-Type"]},
    )
    assert status == 201, body[-500:]
    proc = verify(tools, cosign_keys, tampered_ref, check=False)
    assert proc.returncode != 0, "a signature copied onto a different digest was accepted"
    assert "invalid or missing digest in claim" in proc.stderr.lower(), proc.stderr[-2000:]

    # The genuine digest still verifies: the failures above come from the modification alone.
    verify(tools, cosign_keys, signed.ref)
