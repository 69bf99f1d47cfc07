"""Validate manifests: built-in kinds with kubernetes-validate's bundled schemas (strict),
custom resources with the openAPIV3Schema of their CRD from ../shared/crds (made strict too)."""

from __future__ import annotations

import copy
import re
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import referencing
import yaml
from kubernetes_validate import utils as kv_utils

# API groups served by Kubernetes itself; anything else is a custom resource and needs a CRD.
BUILTIN_GROUPS = {
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "discovery.k8s.io",
    "node.k8s.io",
    "certificates.k8s.io",
}


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def is_builtin(doc: dict[str, Any]) -> bool:
    return split_api_version(doc["apiVersion"])[0] in BUILTIN_GROUPS


@cache
def _builtin_validator(
    k8s_version: str, kind: str, api_version: str
) -> jsonschema.protocols.Validator:
    """Same lookup as kubernetes_validate.validate(strict=True), but cached per kind."""
    version = [
        v
        for v in kv_utils.all_versions()
        if kv_utils.major_minor(v) <= kv_utils.major_minor(k8s_version)
    ][-1]
    schema_dir = f"v{version}-local-strict"
    file_api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = kv_utils.schema_contents(
            f"kubernetes-json-schema/{schema_dir}/{kind.lower()}-{file_api}.json", k8s_version
        )
    except FileNotFoundError as exc:
        raise LookupError(f"no Kubernetes {k8s_version} schema for {api_version} {kind}") from exc
    definitions = kv_utils.schema_contents(
        f"kubernetes-json-schema/{schema_dir}/_definitions.json", k8s_version
    )
    registry = referencing.Resource.from_contents(definitions) @ (
        referencing.Resource.from_contents(schema) @ referencing.Registry()
    )
    return jsonschema.Draft202012Validator(schema, registry=registry)


def validate_builtin(doc: dict[str, Any], k8s_version: str) -> list[str]:
    validator = _builtin_validator(k8s_version, doc["kind"], doc["apiVersion"])
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator.iter_errors(doc)
    ]


def _strictify(schema: Any) -> Any:
    """Reject unknown fields like the API server's strict field validation does (no pruning)."""
    if isinstance(schema, dict):
        out = {k: _strictify(v) for k, v in schema.items()}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strictify(v) for v in schema]
    return schema


@lru_cache(maxsize=1)
def crd_index(crd_dir: str) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(group, version, kind) -> strict openAPIV3Schema, for every served version of every CRD."""
    index: dict[tuple[str, str, str], dict[str, Any]] = {}
    for path in sorted(Path(crd_dir).glob("*.yaml")):
        crd = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        spec = crd["spec"]
        for version in spec["versions"]:
            if version.get("served") and "schema" in version:
                schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
                # Object metadata is validated by the API server itself, not by the CRD schema.
                for key in ("metadata", "apiVersion", "kind"):
                    schema.get("properties", {}).pop(key, None)
                index[(spec["group"], version["name"], spec["names"]["kind"])] = _strictify(schema)
    return index


@cache
def _crd_validator(crd_dir: str, api_version: str, kind: str) -> jsonschema.protocols.Validator:
    group, version = split_api_version(api_version)
    schema = crd_index(crd_dir).get((group, version, kind))
    if schema is None:
        raise LookupError(
            f"no CRD schema in {crd_dir} for {api_version} {kind}: a custom resource must be validated"
        )
    return jsonschema.Draft7Validator(schema)


def validate_custom(doc: dict[str, Any], crd_dir: str) -> list[str]:
    validator = _crd_validator(crd_dir, doc["apiVersion"], doc["kind"])
    # apiVersion/kind are checked by the lookup above; some CRDs leave them out of the schema.
    body = {k: v for k, v in doc.items() if k not in ("metadata", "apiVersion", "kind")}
    errors = [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator.iter_errors(body)
    ]
    name = doc.get("metadata", {}).get("name", "")
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name) or len(name) > 253:
        errors.append(f"metadata.name {name!r} is not a valid DNS subdomain")
    return errors
