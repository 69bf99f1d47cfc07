"""What one deploy asks for: the target environment, the image references, the release evidence.

Plain data and validation. `DeployTarget` is the environment as the runtime needs it
(`pipeline.deploy_targets` builds it from pipeline.yaml); the strategies and app names are
defined here once (pipeline.config imports them). Every user mistake raises
`DeployInputError` naming the field and the fix.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, cast

Strategy = Literal["rolling", "blueGreen", "canary"]
STRATEGIES: tuple[Strategy, ...] = ("rolling", "blueGreen", "canary")
APPS: tuple[str, ...] = ("backend", "frontend")
# The test-account token of the authenticated smoke check (a secret variable in the container).
SMOKE_TOKEN_ENV = "DEPLOY_SMOKE_TOKEN"

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_REPOSITORY = re.compile(
    r"^(?:[a-zA-Z0-9.-]+(?::[0-9]{1,5})?/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*$"
)
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_CONTEXT = re.compile(r"^[\w@:./-]{1,253}$")
# An https URL with a host, no credentials and no whitespace (it goes into the reports).
_HTTPS_URL = re.compile(r"^https://[^\s/@]+(/\S*)?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class DeployInputError(Exception):
    """Bad input from the user: the message names the field, the value and the fix."""


@dataclass(frozen=True)
class ImageRef:
    """`repository[:tag][@sha256:...]`."""

    repository: str
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, text: str, field_name: str) -> ImageRef:
        value = text.strip()
        if not value:
            raise DeployInputError(
                f"{field_name}: empty image reference; give repository@sha256:<digest>"
            )
        digest: str | None = None
        if "@" in value:
            value, digest = value.split("@", 1)
            if not _DIGEST.match(digest):
                raise DeployInputError(
                    f"{field_name}: digest {digest!r} is not sha256:<64 lowercase hex characters>"
                )
        tag: str | None = None
        last = value.rsplit("/", 1)[-1]
        if ":" in last:
            value, tag = value.rsplit(":", 1)
            if not _TAG.match(tag):
                raise DeployInputError(f"{field_name}: tag {tag!r} is not a valid image tag")
        if not _REPOSITORY.match(value):
            raise DeployInputError(
                f"{field_name}: {text.strip()!r} is not an image reference like "
                "ghcr.io/acme/backend@sha256:<digest>"
            )
        return cls(value, tag, digest)

    @property
    def by_digest(self) -> bool:
        return self.digest is not None

    def __str__(self) -> str:
        text = self.repository
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


@dataclass(frozen=True)
class SmokeCheck:
    """One GET against the public URL that must answer 2xx/3xx."""

    name: str
    path: str
    authenticated: bool = False


@dataclass(frozen=True)
class DeployTarget:
    """One environment of pipeline.yaml, as the orchestrator needs it."""

    env: str
    namespace: str
    values_file: str
    strategy: Strategy
    url: str
    release: str = "blog-creator"
    require_approval: bool = False
    require_signature: bool = False
    require_digest: bool = True
    create_namespace: bool = False
    ephemeral: bool = False
    context: str | None = None
    timeout_seconds: int = 300
    smoke_checks: tuple[SmokeCheck, ...] = ()
    # Accepted scan findings (pipeline.yaml scan.allowlist): an expired one refuses the deploy.
    allowlist: tuple[AllowlistedFinding, ...] = ()
    # `--set key=value` after the values file (tests and rehearsals override single values).
    extra_values: tuple[str, ...] = ()
    # Air-gapped signing: key signatures without a transparency log (cosign
    # --insecure-ignore-tlog), and a registry served over plain http (--allow-http-registry).
    signature_tlog: bool = True
    registry_http: bool = False
    # GitHub environment whose required reviewers approve this one (pipeline.yaml
    # github_environment; "" = the env's own name): what --approval-environment must name.
    approval_environment: str = ""

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = dict(self.__dict__)
        data["smoke_checks"] = [c.__dict__ for c in self.smoke_checks]
        data["allowlist"] = [f.to_json() for f in self.allowlist]
        data["extra_values"] = list(self.extra_values)
        return data

    @classmethod
    def from_json(cls, data: object) -> DeployTarget:
        """Validate a target file (written by the Dagger function, or by hand)."""
        if not isinstance(data, dict):
            raise DeployInputError("target: must be a JSON object")
        raw = cast(dict[str, object], data)
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            raise DeployInputError(f"target: unknown keys {', '.join(unknown)}")
        for required in ("env", "namespace", "values_file", "strategy", "url"):
            if not isinstance(raw.get(required), str) or not raw[required]:
                raise DeployInputError(f"target.{required}: required non-empty string")
        strategy = raw["strategy"]
        if strategy not in STRATEGIES:
            raise DeployInputError(
                f"target.strategy: {strategy!r} is not one of {', '.join(STRATEGIES)}"
            )
        for name in ("env", "namespace", "release"):
            value = raw.get(name, "blog-creator")
            if not isinstance(value, str) or not _DNS_LABEL.match(value):
                raise DeployInputError(
                    f"target.{name}: {value!r} must be a DNS label (lowercase letters, digits, '-')"
                )
        url = cast(str, raw["url"])
        if not re.match(r"^https?://[^\s/]+(/\S*)?$", url):
            raise DeployInputError(f"target.url: {url!r} must be an http(s) URL")
        timeout = raw.get("timeout_seconds", 300)
        if not isinstance(timeout, int) or isinstance(timeout, bool) or not 10 <= timeout <= 3600:
            raise DeployInputError(f"target.timeout_seconds: {timeout!r} must be 10..3600")
        context = raw.get("context")
        if context is not None and (not isinstance(context, str) or not _CONTEXT.match(context)):
            raise DeployInputError(f"target.context: {context!r} is not a kubeconfig context name")
        flags: dict[str, bool] = {}
        for name in (
            "require_approval",
            "require_signature",
            "require_digest",
            "create_namespace",
            "ephemeral",
            "signature_tlog",
            "registry_http",
        ):
            value = raw.get(name, cls.__dataclass_fields__[name].default)
            if not isinstance(value, bool):
                raise DeployInputError(f"target.{name}: {value!r} must be true or false")
            flags[name] = value
        checks: list[SmokeCheck] = []
        raw_checks = raw.get("smoke_checks", [])
        if not isinstance(raw_checks, list):
            raise DeployInputError("target.smoke_checks: must be a list")
        for i, item in enumerate(cast(list[object], raw_checks)):
            if not isinstance(item, dict):
                raise DeployInputError(f"target.smoke_checks[{i}]: must be an object")
            check = cast(dict[str, object], item)
            name, path = check.get("name"), check.get("path")
            if not isinstance(name, str) or not isinstance(path, str) or not path.startswith("/"):
                raise DeployInputError(
                    f"target.smoke_checks[{i}]: needs a name and a path starting with '/'"
                )
            checks.append(SmokeCheck(name, path, bool(check.get("authenticated", False))))
        extra = raw.get("extra_values", [])
        if not isinstance(extra, list) or not all(
            isinstance(v, str) and "=" in v for v in cast(list[object], extra)
        ):
            raise DeployInputError("target.extra_values: must be a list of 'key=value' strings")
        raw_allowlist = raw.get("allowlist", [])
        if not isinstance(raw_allowlist, list):
            raise DeployInputError("target.allowlist: must be a list of {id, expires}")
        allowlist = AllowlistedFinding.parse_all(
            cast(list[object], raw_allowlist), "target.allowlist"
        )
        approval_environment = raw.get("approval_environment", "")
        if not isinstance(approval_environment, str) or _CONTROL.search(approval_environment):
            raise DeployInputError(
                f"target.approval_environment: {approval_environment!r} must be a GitHub "
                "environment name (one line)"
            )
        return cls(
            approval_environment=approval_environment,
            allowlist=allowlist,
            extra_values=tuple(cast(list[str], extra)),
            env=cast(str, raw["env"]),
            namespace=cast(str, raw["namespace"]),
            values_file=cast(str, raw["values_file"]),
            strategy=strategy,
            url=url.rstrip("/"),
            release=cast(str, raw.get("release", "blog-creator")),
            context=context,
            timeout_seconds=timeout,
            smoke_checks=tuple(checks),
            **flags,
        )


@dataclass(frozen=True)
class AllowlistedFinding:
    """A scan finding accepted until `expires` (inclusive)."""

    id: str
    expires: dt.date

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "expires": self.expires.isoformat()}

    @classmethod
    def parse_all(cls, entries: list[object], where: str) -> tuple[AllowlistedFinding, ...]:
        """`[{"id": "CVE-...", "expires": "2026-12-31"}, ...]`, each checked."""
        found: list[AllowlistedFinding] = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise DeployInputError(f"{where}[{i}] must be an object")
            item = cast(dict[str, object], entry)
            try:
                expires = dt.date.fromisoformat(str(item.get("expires")))
            except ValueError:
                raise DeployInputError(
                    f"{where}[{i}].expires {item.get('expires')!r} is not a date like 2026-12-31"
                ) from None
            found.append(cls(str(item.get("id", "?")), expires))
        return tuple(found)


@dataclass(frozen=True)
class ReleaseEvidence:
    """What `release` recorded about the images: digests, scan verdict, accepted findings.

    Read from the release report JSON:
    `{"images": {"backend": {"ref": "...@sha256:..."}, ...},
      "scan": {"passed": true, "allowlisted": [{"id": "CVE-...", "expires": "2026-12-31"}]}}`
    (`images.<app>` may also be a plain reference string).
    """

    images: Mapping[str, ImageRef]
    scan_passed: bool | None
    allowlisted: tuple[AllowlistedFinding, ...] = ()

    @classmethod
    def from_json(cls, data: object, source: str = "release report") -> ReleaseEvidence:
        if not isinstance(data, dict):
            raise DeployInputError(f"{source}: must be a JSON object")
        raw = cast(dict[str, object], data)
        images: dict[str, ImageRef] = {}
        raw_images = raw.get("images", {})
        if not isinstance(raw_images, dict):
            raise DeployInputError(f"{source}: images must be an object keyed by app name")
        for app, value in cast(dict[str, object], raw_images).items():
            ref: object = value
            if isinstance(value, dict):
                ref = cast(dict[str, object], value).get("ref")
            if not isinstance(ref, str):
                raise DeployInputError(f"{source}: images.{app} needs a 'ref' string")
            images[app] = ImageRef.parse(ref, f"{source}: images.{app}")
        scan_passed: bool | None = None
        allowlisted: tuple[AllowlistedFinding, ...] = ()
        scan = raw.get("scan")
        if isinstance(scan, dict):
            scan_map = cast(dict[str, object], scan)
            passed = scan_map.get("passed")
            if passed is not None and not isinstance(passed, bool):
                raise DeployInputError(f"{source}: scan.passed must be true or false")
            scan_passed = passed
            entries = cast(list[object], scan_map.get("allowlisted", []) or [])
            allowlisted = AllowlistedFinding.parse_all(entries, f"{source}: scan.allowlisted")
        return cls(images, scan_passed, allowlisted)


APPROVAL_FLAGS = ("--approval-environment", "--approval-run-url", "--approval-actor")


@dataclass(frozen=True)
class ApprovalEvidence:
    """The approval of this run as its caller states it (the module cannot see the workflow's
    context): the GitHub environment whose reviewers approved the job, the run, its actor."""

    environment: str = ""
    run_url: str = ""
    actor: str = ""

    @classmethod
    def from_flags(cls, environment: str, run_url: str, actor: str) -> ApprovalEvidence | None:
        """None when no flag is given; DeployInputError naming the flag for a malformed one."""
        values = [(v or "").strip() for v in (environment, run_url, actor)]
        if not any(values):
            return None
        for flag, value in zip(APPROVAL_FLAGS, values, strict=True):
            if _CONTROL.search(value) or len(value) > 2000:
                raise DeployInputError(f"{flag}: must be one line (at most 2000 characters)")
        problem = run_url_problem(values[1])
        if values[1] and problem:
            raise DeployInputError(problem)
        return cls(*values)

    def to_json(self) -> dict[str, str]:
        return {"environment": self.environment, "run_url": self.run_url, "actor": self.actor}


def run_url_problem(url: str) -> str | None:
    """Why `url` is not acceptable as --approval-run-url, or None."""
    if _HTTPS_URL.match(url):
        return None
    return (
        f"--approval-run-url: {url!r} must be an https URL of the approved workflow run, "
        "e.g. https://github.com/OWNER/REPO/actions/runs/ID"
    )


@dataclass(frozen=True)
class DeployRequest:
    """Everything one deploy needs; built by the CLI from flags and files."""

    target: DeployTarget
    images: Mapping[str, ImageRef]
    chart: str = "k8s/chart"
    dry_run: bool = False
    kubeconfig_given: bool = False
    approved_by: str | None = None
    approval: ApprovalEvidence | None = None
    evidence: ReleaseEvidence | None = None
    cosign_key: str | None = None
    cosign_identity: str | None = None
    cosign_issuer: str | None = None
    smoke_token: str | None = field(default=None, repr=False)
    version: str | None = None


def resolve_images(
    given: Mapping[str, str], evidence: ReleaseEvidence | None
) -> dict[str, ImageRef]:
    """Images from flags, else from the release report; every app needs one."""
    images: dict[str, ImageRef] = {}
    for app in APPS:
        text = given.get(app)
        if text:
            images[app] = ImageRef.parse(text, f"--{app}-image")
        elif evidence is not None and app in evidence.images:
            images[app] = evidence.images[app]
        else:
            raise DeployInputError(
                f"--{app}-image: no image for {app}; pass --{app}-image REPO@sha256:<digest> "
                "or --release-report with the report written by `release`"
            )
    return images


def parse_json(text: str, what: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise DeployInputError(f"{what}: not valid JSON ({e.msg} at line {e.lineno})") from None


def check_strategy(value: str, field_name: str = "--strategy") -> Strategy:
    if value not in STRATEGIES:
        raise DeployInputError(f"{field_name}: {value!r} is not one of {', '.join(STRATEGIES)}")
    return value
