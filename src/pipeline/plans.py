"""What build / release / deploy would do: image references, tags, build args, targets.

Plain Python (no `dagger` import): the Dagger functions and the offline `plan` command
both use it, so the plan printed offline is what the engine runs.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from pipeline.config import APP_NAMES, PipelineConfig

_REVISION = re.compile(r"^[0-9a-f]{7,64}$")
_VERSION = re.compile(r"^v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)$")
_DIGEST_REF = re.compile(r"^(?P<repo>[^\s@]+)@(?P<digest>sha256:[0-9a-f]{64})$")


class PlanError(ValueError):
    """A bad argument (revision, version, image reference); the message says how to fix it."""


def revision_tag(revision: str) -> str:
    """`sha-<12 hex>` for a git commit id; refuses anything that is not a commit id."""
    rev = revision.strip().lower()
    if not _REVISION.match(rev):
        raise PlanError(
            f"revision {revision!r} is not a git commit id (7-64 hex characters); "
            "pass --revision=$(git rev-parse HEAD)"
        )
    return f"sha-{rev[:12]}"


def version_tag(version: str) -> str:
    """The image tag for a release version: `v1.2.3` and `1.2.3` both give `1.2.3`."""
    match = _VERSION.match(version.strip())
    if not match:
        raise PlanError(
            f"version {version!r} is not a semantic version; use e.g. v1.4.0 or 1.4.0-rc.1"
        )
    return match.group(1).replace("+", "_")  # '+' is not allowed in image tags


def image_tags(revision: str, version: str = "") -> list[str]:
    """Tags for one commit: the revision tag, plus the version tag when there is one."""
    tags = [revision_tag(revision)]
    if version:
        tags.append(version_tag(version))
    return tags


def split_digest_ref(ref: str) -> tuple[str, str]:
    """`repo@sha256:...` -> (repo, digest); a reference without a digest is refused."""
    match = _DIGEST_REF.match(ref.strip())
    if not match:
        raise PlanError(
            f"image {ref!r} is not addressed by digest; expected <repository>@sha256:<64 hex>"
        )
    return match.group("repo"), match.group("digest")


def digest_ref(published: str) -> str:
    """Normalise what `Container.publish` returns (`repo:tag@sha256:..`) to `repo@sha256:..`."""
    repo, digest = split_digest_ref(published)
    last = repo.rsplit("/", 1)
    if ":" in last[-1]:
        repo = repo[: repo.rindex(":")]
    return f"{repo}@{digest}"


@dataclass(frozen=True)
class ImagePlan:
    app: str
    dockerfile: str
    target: str
    test_target: str
    repository: str
    tags: list[str]
    build_args: dict[str, str]
    port: int
    health_path: str

    @property
    def addresses(self) -> list[str]:
        return [f"{self.repository}:{tag}" for tag in self.tags]


@dataclass(frozen=True)
class BuildInputs:
    """Run-time inputs of a build (constructor arguments of the Dagger object)."""

    revision: str = ""
    version: str = ""
    build_date: str = ""
    python_image: str = ""
    node_image: str = ""


def repository(config: PipelineConfig, app: str) -> str:
    return f"{config.registry.host}/{config.registry.namespace}/{config.app(app).image}"


def build_args(config: PipelineConfig, inputs: BuildInputs) -> dict[str, str]:
    """Build args shared by both Dockerfiles (base images and OCI label values)."""
    args: dict[str, str] = {}
    # Unset base images keep the digest-pinned defaults of the Dockerfiles.
    if python := inputs.python_image or config.base_images.python:
        args["PYTHON_IMAGE"] = python
    if node := inputs.node_image or config.base_images.node:
        args["NODE_IMAGE"] = node
    args["VCS_REF"] = inputs.revision or "unknown"
    args["VERSION"] = inputs.version or "0.0.0-dev"
    if inputs.build_date:  # left out by default so that builds stay cacheable
        args["BUILD_DATE"] = inputs.build_date
    return args


def image_plan(config: PipelineConfig, app: str, inputs: BuildInputs) -> ImagePlan:
    spec = config.app(app)
    tags = image_tags(inputs.revision, inputs.version) if inputs.revision else []
    return ImagePlan(
        app=app,
        dockerfile=spec.dockerfile,
        target=spec.targets.runtime,
        test_target=spec.targets.test,
        repository=repository(config, app),
        tags=tags,
        build_args=build_args(config, inputs),
        port=spec.port,
        health_path=spec.health_path,
    )


def image_plans(config: PipelineConfig, inputs: BuildInputs) -> dict[str, ImagePlan]:
    return {app: image_plan(config, app, inputs) for app in APP_NAMES}


@dataclass(frozen=True)
class Plan:
    """Everything `python -m pipeline plan` prints."""

    project: str
    revision: str
    version: str
    images: dict[str, ImagePlan]
    release_steps: list[str]
    environments: dict[str, dict[str, Any]] = field(
        default_factory=lambda: dict[str, dict[str, Any]]()
    )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name, image in self.images.items():
            data["images"][name]["addresses"] = image.addresses
        return data


def release_steps(config: PipelineConfig) -> list[str]:
    steps = ["ci (lint, test, build, scan)", "push"]
    steps.append(f"sbom ({config.sbom.tool}, {config.sbom.format})")
    if config.signing.enabled:
        steps.append(
            "sign (cosign" + (", SBOM attestation)" if config.signing.attest_sbom else ")")
        )
    steps.append("release report (JSON + Markdown)")
    return steps


def make_plan(config: PipelineConfig, inputs: BuildInputs, env: str | None = None) -> Plan:
    """The plan for one commit; `env` restricts the deploy part to one environment."""
    names = [env] if env else list(config.environments)
    environments: dict[str, dict[str, Any]] = {}
    for name in names:
        spec = config.environment(name)
        environments[name] = {
            "namespace": spec.namespace,
            "values_file": spec.values_file,
            "strategy": spec.strategy,
            "url": spec.url,
            "require_approval": spec.require_approval,
            "require_signature": spec.require_signature,
            "ephemeral": spec.ephemeral,
            "images": "by digest from `release` (tags are refused)"
            if spec.require_signature
            else "by digest from `release`",
        }
    return Plan(
        project=config.project,
        revision=inputs.revision or "(not given: images are built but not tagged)",
        version=inputs.version,
        images=image_plans(config, inputs),
        release_steps=release_steps(config),
        environments=environments,
    )


def render_plan(plan: Plan) -> str:
    """Human-readable text of a plan."""
    lines = [f"project   {plan.project}", f"revision  {plan.revision}"]
    if plan.version:
        lines.append(f"version   {plan.version}")
    lines.append("")
    lines.append("build")
    for image in plan.images.values():
        lines.append(
            f"  {image.app:<9} {image.dockerfile} target={image.target} "
            f"(tests: target={image.test_target}) port={image.port}"
        )
        for tag_address in image.addresses or [f"{image.repository} (untagged)"]:
            lines.append(f"            -> {tag_address}")
    args = next(iter(plan.images.values())).build_args
    lines.append("  build args: " + ", ".join(f"{k}={v}" for k, v in args.items()))
    lines.append("")
    lines.append("release")
    lines.extend(f"  {i}. {step}" for i, step in enumerate(plan.release_steps, 1))
    lines.append("")
    lines.append("deploy")
    for name, env in plan.environments.items():
        flags = [f"strategy={env['strategy']}", f"namespace={env['namespace']}"]
        if env["require_approval"]:
            flags.append("approval required")
        if env["require_signature"]:
            flags.append("signature required")
        if env["ephemeral"]:
            flags.append("ephemeral cluster")
        lines.append(f"  {name:<9} {env['url']}  " + ", ".join(flags))
        lines.append(f"            values: {env['values_file']}")
    return "\n".join(lines)


@dataclass(frozen=True)
class SbomFormatSpec:
    """How each tool names one SBOM format (the one table of them)."""

    suffix: str  # file name: <app>.<suffix>
    syft: str  # syft -o
    trivy: str  # trivy --format
    cosign_predicate: str  # cosign attest --type


# keys: the values config.Sbom.format allows
SBOM_FORMATS: dict[str, SbomFormatSpec] = {
    "cyclonedx-json": SbomFormatSpec("cdx.json", "cyclonedx-json", "cyclonedx", "cyclonedx"),
    "spdx-json": SbomFormatSpec("spdx.json", "spdx-json", "spdx-json", "spdxjson"),
}


def sbom_format(name: str) -> SbomFormatSpec:
    try:
        return SBOM_FORMATS[name]
    except KeyError:
        raise PlanError(
            f"sbom.format {name!r} is not supported; use one of {', '.join(SBOM_FORMATS)}"
        ) from None


def sbom_file(app: str, sbom_format_name: str) -> str:
    """File name of an app's SBOM in the sbom/ and release directories."""
    return f"{app}.{sbom_format(sbom_format_name).suffix}"


def refs_by_app(config: PipelineConfig, refs: list[str]) -> dict[str, str]:
    """Map digest references to the project's apps; anything else is refused."""
    by_app: dict[str, str] = {}
    for ref in refs:
        repo, _ = split_digest_ref(ref)
        app = next((a for a in APP_NAMES if repo == repository(config, a)), None)
        if app is None:
            expected = ", ".join(repository(config, a) for a in APP_NAMES)
            raise PlanError(f"image {ref!r} is not one of this project's repositories ({expected})")
        if app in by_app:
            raise PlanError(f"two references given for {app}: {by_app[app]!r} and {ref!r}")
        by_app[app] = ref
    if not by_app:
        raise PlanError("no image given: pass --images <repo>@sha256:... (from push)")
    return by_app


def push_plans(config: PipelineConfig, inputs: BuildInputs) -> dict[str, ImagePlan]:
    """The plans of a push: refused without a commit (images are tagged by it)."""
    if not inputs.revision:
        raise PlanError("push needs the commit: pass --revision=$(git rev-parse HEAD)")
    return image_plans(config, inputs)  # validates revision and version before any push


def pushed_digest(app: str, published: list[str]) -> str:
    """The one `repo@sha256:` that every tag of an app was published with."""
    refs = {digest_ref(address) for address in published}
    if len(refs) != 1:
        raise PlanError(f"{app}: tags were published with different digests: {sorted(refs)}")
    return refs.pop()


DEFAULT_PYTHON_IMAGE = "python:3.13-slim"


def python_tool_image(config: PipelineConfig, override: str = "") -> str:
    """Image for Python tool steps (lint toolbox, smoke runner)."""
    return override or config.base_images.python or DEFAULT_PYTHON_IMAGE
