"""What a published image is, pushing it, and running cosign on it (the supply-chain suite)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from supplychain_tools import DOCKER, run

APPS = ("backend", "frontend")


@dataclass(frozen=True)
class Published:
    app: str
    repo: str  # 127.0.0.1:PORT/blog-creator/<app>
    tag_ref: str  # repo:runtime
    digest: str  # sha256:...
    sbom: Path

    @property
    def ref(self) -> str:
        return f"{self.repo}@{self.digest}"


@dataclass(frozen=True)
class Tools:
    cosign: str
    syft: str


def push(local_tag: str, remote_tag: str, env: dict[str, str]) -> str:
    """docker tag + push; returns the manifest digest the registry stored."""
    run([DOCKER, "tag", local_tag, remote_tag], timeout=30)
    out = run([DOCKER, "push", remote_tag], env=env, timeout=600).stdout
    match = re.search(r"digest: (sha256:[0-9a-f]{64})", out)
    assert match, f"no digest in docker push output:\n{out[-2000:]}"
    return match.group(1)


def remove_local_refs(registry_host: str) -> None:
    """Drop every tag and repo digest the engine keeps for the test registry (the tampered image
    goes with them; the source images keep their own tags)."""
    listing = run(
        [DOCKER, "images", "--digests", "--format", "{{.Repository}}\t{{.Tag}}\t{{.Digest}}"],
        timeout=60,
    ).stdout
    refs = []
    for line in listing.splitlines():
        repo, tag, digest = line.split("\t")
        if repo.startswith(f"{registry_host}/"):
            refs += [f"{repo}:{tag}"] if tag != "<none>" else []
            refs += [f"{repo}@{digest}"] if digest != "<none>" else []
    for ref in refs:
        run([DOCKER, "rmi", ref], timeout=60, check=False)


REGISTRY_FLAGS = ("--allow-http-registry", "--allow-insecure-registry")


def cosign(tools: Tools, env: dict[str, str], subcommand: str, *args: str, check: bool = True):
    """cosign against the local HTTP registry, no Rekor (none is reachable here)."""
    extra = ("--yes",) if subcommand in ("sign", "attest") else ()
    return run(
        [tools.cosign, subcommand, *REGISTRY_FLAGS, *extra, *args],
        env=env,
        timeout=180,
        check=check,
    )


def json_lines(stdout: str) -> list[dict]:
    """cosign verify prints a JSON array, verify-attestation one JSON document per line."""
    docs: list[dict] = []
    for line in stdout.splitlines():
        if line.strip().startswith(("{", "[")):
            parsed = json.loads(line)
            docs.extend(parsed if isinstance(parsed, list) else [parsed])
    return docs
