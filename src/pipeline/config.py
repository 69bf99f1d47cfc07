"""pipeline.yaml: the declarative settings of the delivery pipeline, as pydantic v2 models.

Plain Python (no `dagger` import) so the offline CLI and the unit tests use it directly.
Unknown keys are errors everywhere (`extra="forbid"`). Loading never raises a pydantic
traceback at the user: `load_config` turns every problem into a `Problem` (file, field path,
value, what is allowed) inside one `ConfigError`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

# Strategies and app names are defined once, in the standard-library deploy runtime.
from pipeline import toolchain
from pipeline.deploy.request import APPS as APP_NAMES
from pipeline.deploy.request import Strategy

CONFIG_FILE = "pipeline.yaml"

Severity = Literal["UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
SEVERITIES: tuple[Severity, ...] = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")

_DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
_IMAGE_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
_REGISTRY_HOST = re.compile(r"^[a-zA-Z0-9.-]+(?::[0-9]{1,5})?$")
_IMAGE_REF = re.compile(r"^[^\s@]+(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$")
_ENV_NAME = re.compile(rf"^{_DNS_LABEL}$")
_STAGE = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*\S+\s+AS\s+(\S+)", re.IGNORECASE | re.MULTILINE)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _relative_path(value: str) -> str:
    if not value or value.startswith("/") or ".." in Path(value).parts:
        raise ValueError("must be a path relative to the repository root, without '..'")
    return value


RelPath = Annotated[str, Field(min_length=1)]


class Registry(_Model):
    """Where images are pushed: `<host>/<namespace>/<app image>`."""

    host: str = Field(description="Registry host[:port], e.g. ghcr.io")
    namespace: str = Field(description="Repository prefix under the host, e.g. acme/blog-creator")

    @field_validator("host")
    @classmethod
    def _host(cls, v: str) -> str:
        if not _REGISTRY_HOST.match(v):
            raise ValueError("must be a registry host such as ghcr.io or localhost:5000")
        return v

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, v: str) -> str:
        if not _IMAGE_NAME.match(v):
            raise ValueError("must be lowercase path components like acme/blog-creator")
        return v


class BaseImages(_Model):
    """Base images passed to the Dockerfiles as PYTHON_IMAGE / NODE_IMAGE build args.

    Unset means the digest-pinned default written in the Dockerfile.
    """

    python: str | None = None
    node: str | None = None

    @field_validator("python", "node")
    @classmethod
    def _ref(cls, v: str | None) -> str | None:
        if v is not None and not _IMAGE_REF.match(v):
            raise ValueError("must be an image reference like python:3.13-slim")
        return v


class Targets(_Model):
    """Dockerfile targets (stages) used by the pipeline."""

    test: str = "test"
    runtime: str = "runtime"
    deps: str = "deps"


class App(_Model):
    """One deployable application: its Dockerfile, image name, port and health check."""

    dockerfile: RelPath
    image: str = Field(description="Image name under registry.namespace")
    targets: Targets = Targets()
    port: int = Field(ge=1, le=65535)
    health_path: str
    readiness_path: str | None = None

    @field_validator("dockerfile")
    @classmethod
    def _dockerfile(cls, v: str) -> str:
        return _relative_path(v)

    @field_validator("image")
    @classmethod
    def _image(cls, v: str) -> str:
        if not _IMAGE_NAME.match(v):
            raise ValueError("must be a lowercase image name like backend")
        return v

    @field_validator("health_path", "readiness_path")
    @classmethod
    def _path(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith("/"):
            raise ValueError("must be a URL path starting with '/', e.g. /healthz")
        return v


class Apps(_Model):
    backend: App
    frontend: App


class Environment(_Model):
    """A deployment target. The key in `environments:` is its name (dev, staging, prod...)."""

    namespace: str = Field(description="Kubernetes namespace")
    values_file: RelPath = Field(description="Helm values file, e.g. k8s/environments/prod.yaml")
    strategy: Strategy = "rolling"
    url: str = Field(description="Public https URL used for smoke checks")
    require_approval: bool = False
    require_signature: bool = False
    create_namespace: bool = False
    ephemeral: bool = Field(
        default=False, description="A throwaway cluster started by the pipeline (k3s)"
    )
    release_name: str = "blog-creator"
    kube_context: str | None = None
    timeout_seconds: int = Field(default=300, ge=10, le=3600)
    github_environment: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="GitHub environment whose required reviewers approve deploys here "
        "(default: this environment's name); the approval gate compares "
        "--approval-environment with it",
    )

    @field_validator("namespace", "release_name")
    @classmethod
    def _dns(cls, v: str) -> str:
        if not _ENV_NAME.match(v):
            raise ValueError("must be a DNS label: lowercase letters, digits and '-', max 63")
        return v

    @field_validator("values_file")
    @classmethod
    def _values(cls, v: str) -> str:
        return _relative_path(v)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^https?://[^\s/]+(/\S*)?$", v):
            raise ValueError("must be an http(s) URL such as https://staging.example.com")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _prod_rules(self) -> Environment:
        if self.require_signature and self.ephemeral:
            raise ValueError("an ephemeral environment cannot require signatures")
        return self


class AllowlistEntry(_Model):
    """An accepted finding: needs an id, a reason and an expiry date (expired entries fail)."""

    id: str = Field(min_length=3)
    reason: str = Field(min_length=10, description="Why the finding is accepted")
    expires: dt.date


class ScanPolicy(_Model):
    fail_on: list[Severity] = Field(default_factory=lambda: ["CRITICAL", "HIGH"], min_length=1)
    ignore_unfixed: bool = False
    allowlist: list[AllowlistEntry] = Field(default_factory=lambda: list[AllowlistEntry]())
    trivy_db_repository: str | None = None

    @field_validator("allowlist")
    @classmethod
    def _unique(cls, v: list[AllowlistEntry]) -> list[AllowlistEntry]:
        seen: set[str] = set()
        for entry in v:
            if entry.id in seen:
                raise ValueError(f"duplicate allowlist id {entry.id}")
            seen.add(entry.id)
        return v


class Sbom(_Model):
    format: Literal["cyclonedx-json", "spdx-json"] = "cyclonedx-json"
    tool: Literal["syft", "trivy"] = "syft"


class Signing(_Model):
    enabled: bool = True
    attest_sbom: bool = True
    keyless: bool = Field(default=True, description="Allow keyless (OIDC) signing")


class Tools(_Model):
    """Images of the tools run as pipeline steps (pin them; users may mirror them).

    Defaults: the digest-pinned images of the tool-version table (pipeline.toolchain).
    """

    trivy: str = toolchain.image("trivy")
    syft: str = toolchain.image("syft")
    cosign: str = toolchain.shell_image("cosign")  # the sign step runs a shell script
    helm: str = toolchain.image("helm")
    redis: str = toolchain.image("redis")
    elasticsearch: str = toolchain.image("elasticsearch")

    @field_validator("*")
    @classmethod
    def _ref(cls, v: str) -> str:
        if not _IMAGE_REF.match(v):
            raise ValueError("must be an image reference like name:tag or name:tag@sha256:<64 hex>")
        return v


class Metrics(_Model):
    """Delivery history per environment: ConfigMap <release>-deploy-history (docs/deploy.md)."""

    history_limit: int = Field(
        default=200, ge=1, le=2000, description="Deploy records kept per environment"
    )


def _preview_quota() -> dict[str, str]:
    return {
        "requests.cpu": "1",
        "requests.memory": "2Gi",
        "limits.cpu": "6",
        "limits.memory": "6Gi",
        "pods": "8",
        "services": "8",
        "persistentvolumeclaims": "0",
    }


def _preview_limits() -> dict[str, dict[str, str]]:
    return {
        "default": {"cpu": "500m", "memory": "512Mi"},
        "defaultRequest": {"cpu": "50m", "memory": "128Mi"},
        "max": {"cpu": "1", "memory": "1Gi"},
    }


class Preview(_Model):
    """Preview environments per pull request: namespace pr-N, host pr-N.<domain> (docs/deploy.md)."""

    domain: str = Field(description="DNS domain of the previews, e.g. preview.example.com")
    cluster: str = Field(
        min_length=1, description="The kubeconfig context previews may use (and no other)"
    )
    base_environment: str = Field(default="dev", description="Values of this environment")
    ttl: str = "72h"
    max_ttl: str = "168h"
    tls: bool = False
    tls_secret: str = Field(
        default="",
        pattern=rf"^(|{_DNS_LABEL})$",
        description="Secret with the wildcard certificate of *.domain in state_namespace",
    )
    redis_url: str = "redis://redis-master.data.svc:6379"
    redis_databases: int = Field(default=16, ge=2, le=1024)
    elasticsearch_index: str = Field(default="blog-chunks", pattern=r"^[a-z0-9][a-z0-9._-]*$")
    state_namespace: str = Field(
        default="blog-previews",
        pattern=rf"^{_DNS_LABEL}$",
        description="Namespace of the registry of the previews' Redis databases",
    )
    quota: dict[str, str] = Field(default_factory=_preview_quota)
    limits: dict[str, dict[str, str]] = Field(default_factory=_preview_limits)

    @model_validator(mode="after")
    def _values(self) -> Preview:
        from pipeline.deploy.preview import check_preview_values, parse_duration
        from pipeline.deploy.request import DeployInputError

        try:
            ttl = parse_duration(self.ttl, "preview.ttl")
            top = parse_duration(self.max_ttl, "preview.max_ttl")
            check_preview_values(self.domain, ttl, top, self.quota, self.limits)
        except DeployInputError as e:
            raise ValueError(str(e)) from None
        return self


class PipelineConfig(_Model):
    """The whole pipeline.yaml."""

    version: Literal[1] = 1
    project: str
    registry: Registry
    base_images: BaseImages = BaseImages()
    apps: Apps
    environments: dict[str, Environment] = Field(min_length=1)
    scan: ScanPolicy = ScanPolicy()
    sbom: Sbom = Sbom()
    signing: Signing = Signing()
    tools: Tools = Tools()
    metrics: Metrics = Metrics()
    preview: Preview | None = None

    @field_validator("environments")
    @classmethod
    def _env_names(cls, v: dict[str, Environment]) -> dict[str, Environment]:
        for name in v:
            if not _ENV_NAME.match(name):
                raise ValueError(f"environment name {name!r} must be a DNS label like 'staging'")
        return v

    @model_validator(mode="after")
    def _distinct(self) -> PipelineConfig:
        namespaces: dict[str, str] = {}
        for name, env in self.environments.items():
            if env.namespace in namespaces:
                other = namespaces[env.namespace]
                raise ValueError(
                    f"environments {other!r} and {name!r} share namespace {env.namespace!r}; "
                    "give each environment its own namespace"
                )
            namespaces[env.namespace] = name
        if self.apps.backend.image == self.apps.frontend.image:
            raise ValueError("apps.backend.image and apps.frontend.image must differ")
        return self

    def environment(self, name: str) -> Environment:
        """The environment called `name`, or a ConfigError listing the known ones."""
        try:
            return self.environments[name]
        except KeyError:
            raise ConfigError(
                [
                    Problem(
                        CONFIG_FILE,
                        f"environments.{name}",
                        name,
                        f"unknown environment; choose one of: {', '.join(self.environments)}",
                    )
                ]
            ) from None

    def app(self, name: str) -> App:
        return self.apps.backend if name == "backend" else self.apps.frontend


@dataclass(frozen=True)
class Problem:
    """One configuration problem, phrased for the user."""

    file: str
    path: str
    value: object
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        value = "" if self.value is _NO_VALUE else f" (got {self.value!r})"
        return f"{where}: {self.message}{value}"


_NO_VALUE = object()


class ConfigError(Exception):
    """Raised with every problem found; `str()` gives one line per problem."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _loc(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + item)
    return "".join(parts)


def _problems_from_validation(error: ValidationError, file: str) -> list[Problem]:
    problems: list[Problem] = []
    for err in error.errors(include_url=False):
        kind = err["type"]
        message = err["msg"].removeprefix("Value error, ")
        value: Any = err.get("input", _NO_VALUE)
        if kind == "extra_forbidden":
            message = "unknown key; remove it or check its spelling"
        elif kind == "missing":
            message = "required key is missing"
            value = _NO_VALUE
        if isinstance(value, dict | list):
            value = _NO_VALUE  # whole sub-trees make unreadable messages
        problems.append(Problem(file, _loc(tuple(err["loc"])), value, message))
    return problems


def parse_config(data: object, file: str = CONFIG_FILE) -> PipelineConfig:
    """Validate already-parsed YAML data."""
    if not isinstance(data, dict):
        raise ConfigError([Problem(file, "", _NO_VALUE, "must be a YAML mapping of settings")])
    try:
        return PipelineConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_problems_from_validation(e, file)) from None


def parse_config_text(text: str, file: str = CONFIG_FILE) -> PipelineConfig:
    """Parse and validate pipeline.yaml text."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError([Problem(file, where, _NO_VALUE, f"invalid YAML: {problem}")]) from None
    return parse_config(data, file)


def load_config(root: Path | str = ".", file: str = CONFIG_FILE) -> PipelineConfig:
    """Load `<root>/pipeline.yaml`."""
    path = Path(root) / file
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [Problem(file, "", _NO_VALUE, f"not found in {Path(root).resolve()}")]
        ) from None
    return parse_config_text(text, file)


def check_config(
    config: PipelineConfig, root: Path | str | None, today: dt.date, file: str = CONFIG_FILE
) -> list[Problem]:
    """Checks that need the outside world: expiry dates and the repository layout."""
    problems: list[Problem] = []
    for i, entry in enumerate(config.scan.allowlist):
        if entry.expires < today:
            problems.append(
                Problem(
                    file,
                    f"scan.allowlist[{i}].expires",
                    entry.expires.isoformat(),
                    f"allowlist entry {entry.id} expired; fix the finding or renew it "
                    "with a new date and reason",
                )
            )
    if root is None:
        return problems
    base = Path(root)
    for name in APP_NAMES:
        app = config.app(name)
        dockerfile = base / app.dockerfile
        if not dockerfile.is_file():
            problems.append(
                Problem(file, f"apps.{name}.dockerfile", app.dockerfile, "file does not exist")
            )
            continue
        stages = set(_STAGE.findall(dockerfile.read_text(encoding="utf-8")))
        for kind, target in app.targets.model_dump().items():
            if target not in stages:
                problems.append(
                    Problem(
                        file,
                        f"apps.{name}.targets.{kind}",
                        target,
                        f"no such stage in {app.dockerfile}; stages: {', '.join(sorted(stages))}",
                    )
                )
    for name, env in config.environments.items():
        if not (base / env.values_file).is_file():
            problems.append(
                Problem(
                    file, f"environments.{name}.values_file", env.values_file, "file does not exist"
                )
            )
    if not (base / CHART_VALUES).parent.joinpath("Chart.yaml").is_file():
        problems.append(Problem("k8s/chart/Chart.yaml", "", _NO_VALUE, "Helm chart not found"))
    problems.extend(strategy_problems(config, base, file))
    return problems


CHART_VALUES = "k8s/chart/values.yaml"


def _yaml_mapping(path: Path) -> dict[str, Any] | None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    return cast(dict[str, Any], data) if isinstance(data, dict) else None


def strategy_problems(config: PipelineConfig, root: Path, file: str = CONFIG_FILE) -> list[Problem]:
    """pipeline.yaml is the source of truth for each environment's strategy.

    A values file must say the same (`strategy:`), so that a plain
    `helm upgrade -f k8s/environments/<env>.yaml` renders the strategy the pipeline deploys.
    """
    chart = _yaml_mapping(root / CHART_VALUES) or {}
    default = chart.get("strategy", "rolling")
    problems: list[Problem] = []
    for name, env in config.environments.items():
        values = _yaml_mapping(root / env.values_file)
        if values is None:
            continue  # missing or unreadable: reported above / by helm lint
        got = values.get("strategy", _NO_VALUE)
        effective = default if got is _NO_VALUE else got
        if effective == env.strategy:
            continue
        where = f"set `strategy: {env.strategy}` in {env.values_file}"
        if got is _NO_VALUE:
            message = (
                f"no strategy set, so the chart default ({default}) renders, but {file} "
                f"environments.{name}.strategy is {env.strategy}; {where}"
            )
        else:
            message = (
                f"disagrees with {file} environments.{name}.strategy ({env.strategy}), the "
                f"source of truth; {where} (or give {name} its own values file)"
            )
        problems.append(Problem(env.values_file, "strategy", got, message))
    return problems
