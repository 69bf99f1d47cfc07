"""Gates checked before anything touches the cluster.

`policy_gates` is pure (digests, approval, scan verdict, allowlist expiry, evidence matching
the images, kubeconfig present); `signature_gates` runs `cosign verify` through ClusterTools.
A deploy goes ahead only when every gate passed; otherwise nothing is applied.
"""

from __future__ import annotations

import datetime as dt

from .report import CheckRecord
from .request import APPS, DeployRequest
from .tools import ClusterTools

COSIGN_TIMEOUT_S = 60


def policy_gates(request: DeployRequest, today: dt.date) -> list[CheckRecord]:
    """Every gate that needs no tool; each result says why it passed or what to do."""
    target = request.target
    results: list[CheckRecord] = []

    for app in APPS:
        image = request.images[app]
        if image.by_digest:
            results.append(CheckRecord(f"digest:{app}", True, f"{image}"))
        elif target.require_digest:
            results.append(
                CheckRecord(
                    f"digest:{app}",
                    False,
                    f"{app} image {image} is a tag; environment {target.env!r} deploys images by "
                    "digest only — pass --{app}-image REPO@sha256:<digest> (printed by `release`)".replace(
                        "{app}", app
                    ),
                )
            )
        else:
            results.append(
                CheckRecord(f"digest:{app}", True, f"{image} (tag allowed in {target.env})")
            )

    if target.require_approval:
        if request.approved_by:
            results.append(CheckRecord("approval", True, f"approved by {request.approved_by}"))
        else:
            results.append(
                CheckRecord(
                    "approval",
                    False,
                    f"environment {target.env!r} requires approval; pass --approved-by NAME "
                    "(in CI: the GitHub environment's reviewer)",
                )
            )

    if not request.dry_run and not request.kubeconfig_given:
        results.append(
            CheckRecord(
                "kubeconfig",
                False,
                "no kubeconfig: pass --kubeconfig file://~/.kube/config (or env://KUBECONFIG_DATA)",
            )
        )

    if target.require_signature:
        results += _evidence_gates(request, today)
    return results


def _evidence_gates(request: DeployRequest, today: dt.date) -> list[CheckRecord]:
    """Signed environments deploy only what `release` scanned, with a passing verdict."""
    evidence = request.evidence
    env = request.target.env
    if evidence is None:
        return [
            CheckRecord(
                "scan",
                False,
                f"environment {env!r} requires the release report (scan verdict of these digests); "
                "pass --release-report release.json from `dagger call release`",
            )
        ]
    results: list[CheckRecord] = []
    if evidence.scan_passed is True:
        results.append(CheckRecord("scan", True, "release report: scan passed"))
    elif evidence.scan_passed is False:
        results.append(
            CheckRecord(
                "scan", False, "release report: the scan failed; fix the findings and release again"
            )
        )
    else:
        results.append(
            CheckRecord("scan", False, "release report has no scan verdict (scan.passed)")
        )

    accepted = (*evidence.allowlisted, *request.target.allowlist)
    expired = [f for f in accepted if f.expires < today]
    if expired:
        ids = ", ".join(f"{f.id} (expired {f.expires.isoformat()})" for f in expired)
        results.append(
            CheckRecord(
                "allowlist",
                False,
                f"the scan passed only through allowlist entries that have expired: {ids}; "
                "fix or renew them in pipeline.yaml scan.allowlist and release again",
            )
        )
    elif accepted:
        results.append(
            CheckRecord("allowlist", True, f"{len(accepted)} accepted finding(s), none expired")
        )

    for app in APPS:
        image = request.images[app]
        recorded = evidence.images.get(app)
        if recorded is None or recorded.digest != image.digest:
            results.append(
                CheckRecord(
                    f"evidence:{app}",
                    False,
                    f"{app} digest {image.digest} is not the one the release report scanned "
                    f"({recorded.digest if recorded else 'none'}); deploy the released digest",
                )
            )
    return results


def signature_gates(request: DeployRequest, tools: ClusterTools) -> list[CheckRecord]:
    """`cosign verify` of each digest, when the environment requires signatures."""
    if not request.target.require_signature:
        return []
    if request.cosign_key:
        how = ["--key", request.cosign_key]
        if not request.target.signature_tlog:  # keys only: keyless needs the log's timestamps
            how.append("--insecure-ignore-tlog=true")
    elif request.cosign_identity and request.cosign_issuer:
        how = [
            "--certificate-identity-regexp",
            request.cosign_identity,
            "--certificate-oidc-issuer",
            request.cosign_issuer,
        ]
    else:
        return [
            CheckRecord(
                "signature",
                False,
                f"environment {request.target.env!r} requires signed images; pass --cosign-key "
                "(public key) or --cosign-identity and --cosign-issuer (keyless)",
            )
        ]
    if request.target.registry_http:
        how += ["--allow-http-registry", "--allow-insecure-registry"]
    results: list[CheckRecord] = []
    for app in APPS:
        image = request.images[app]
        if not image.digest:
            continue  # already refused by the digest gate
        done = tools.run(
            "cosign", ["verify", *how, "--output", "json", str(image)], COSIGN_TIMEOUT_S
        )
        if done.ok:
            results.append(CheckRecord(f"signature:{app}", True, f"cosign verified {image.digest}"))
        else:
            results.append(
                CheckRecord(
                    f"signature:{app}", False, f"cosign could not verify {image}: {done.reason(3)}"
                )
            )
    return results


def refused(results: list[CheckRecord]) -> list[CheckRecord]:
    return [r for r in results if not r.passed]
