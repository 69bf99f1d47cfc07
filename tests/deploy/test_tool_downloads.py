"""The deploy tools container downloads only what the toolchain table pins, each checked by
the engine against the table's SHA-256 (`http(checksum:)`), and `--env local` applies the Argo
Rollouts install manifest from a checksum-verified file, never from a URL (issue 17 item 5 for
the deploy side). Schema-validated fake engine (tests/module/module_dagger_harness.py): the engine's
own checksum comparison does not run here.
"""

from __future__ import annotations

from typing import Any

import anyio
import module_dagger_harness as h

from pipeline import toolchain
from pipeline.deploy import ephemeral
from pipeline.deploy_container import TOOLCHAIN_NAMES

RELEASE = (
    '{"images": {"backend": {"ref": "ghcr.io/o/backend:1"}, '
    '"frontend": {"ref": "ghcr.io/o/frontend:1"}}, "scan": {"passed": true}}'
)


def run_local() -> h.FakeEngine:
    engine = h.FakeEngine(files={"r": RELEASE})
    inputs: dict[str, Any] = {"env": "local", "release_report": "r"}
    anyio.run(h.call, engine, "deploy", inputs, h.pipeline_state())
    return engine


def test_every_download_is_checked_against_the_table() -> None:
    engine = run_local()
    got = {c.args["url"]: c.args.get("checksum") for c in engine.calls("http")}
    want = {
        d.url: f"sha256:{d.sha256}"
        for d in (toolchain.download(name, "amd64") for name in TOOLCHAIN_NAMES.values())
        if d.url in got
    }
    manifest = toolchain.tool("argo-rollouts").raw["install_manifest"]
    want[manifest["url"]] = f"sha256:{manifest['sha256']}"
    assert got == want  # helm, kubectl, the plugin (canary), the manifest: nothing unchecked


def test_local_cluster_applies_the_verified_manifest_file_and_the_pinned_k3s() -> None:
    engine = run_local()
    paths = {c.args["path"] for c in engine.calls("withFile", "Container")}
    assert ephemeral.ARGO_ROLLOUTS_MANIFEST in paths
    assert not ephemeral.ARGO_ROLLOUTS_MANIFEST.startswith("http")
    images = {c.args["address"] for c in engine.calls("from")}
    assert toolchain.image("k3s") in images and "@sha256:" in toolchain.image("k3s")
