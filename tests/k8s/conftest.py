"""Fixtures of the k8s tests (helpers in k8s_support.py): helm, and the chart rendered once per variant."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml
from k8s_support import (
    INSTALL_HINT,
    VARIANT_IDS,
    VARIANTS,
    Render,
    Variant,
    find_tool,
    helm_template,
)


@pytest.fixture(scope="session")
def helm() -> str:
    path = find_tool("helm")
    version = subprocess.run(
        [path, "version", "--short"], capture_output=True, text=True, check=True
    ).stdout
    if not version.startswith("v4."):
        pytest.fail(
            f"helm 4 required, found {version.strip()} at {path}: {INSTALL_HINT}", pytrace=False
        )
    return path


@pytest.fixture(scope="session")
def renders(helm: str) -> dict[str, Render]:
    def render(variant: Variant) -> Render:
        proc = helm_template(helm, variant.env, variant.sets)
        if proc.returncode != 0:
            pytest.fail(
                f"helm template failed for variant {variant.name}:\n{proc.stderr}", pytrace=False
            )
        docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
        return Render(variant, proc.stdout, docs)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return {r.variant.name: r for r in pool.map(render, VARIANTS)}


@pytest.fixture(params=VARIANTS, ids=VARIANT_IDS)
def rendered(request: pytest.FixtureRequest, renders: dict[str, Render]) -> Render:
    return renders[request.param.name]
