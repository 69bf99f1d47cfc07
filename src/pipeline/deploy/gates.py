"""Gates checked before anything touches the cluster.

`policy_gates` is pure (digests, approval, scan verdict, allowlist expiry, evidence matching
the images, kubeconfig present); `signature_gates` runs `cosign verify` through ClusterTools.
A deploy goes ahead only when every gate passed; otherwise nothing is applied.
"""

from __future__ import annotations

import datetime as dt

from .report import CheckRecord
from .request import APPS, ApprovalEvidence, DeployRequest, run_url_problem
from .tools import ClusterTools, CommandResult

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
        results.append(approval_gate(request))

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


def approval_gate(request: DeployRequest) -> CheckRecord:
    """The approval evidence the caller passes: the GitHub environment (must be the one that
    approves this env, compared as GitHub does, ignoring case), an https run URL, an actor.

    It checks what the caller asserts, not that GitHub approved: the module cannot see the
    workflow. The control is the GitHub environment's required reviewers (docs/deploy.md).
    """
    target = request.target
    expected = target.approval_environment or target.env
    given = request.approval or ApprovalEvidence()
    problems: list[str] = []
    if not given.environment:
        problems.append(
            "--approval-environment: missing; pass the GitHub environment whose required "
            f"reviewers approved this run ({expected!r})"
        )
    elif given.environment.casefold() != expected.casefold():
        problems.append(
            f"--approval-environment: {given.environment!r} is not {expected!r}, the GitHub "
            f"environment that approves {target.env!r} "
            f"(pipeline.yaml environments.{target.env}.github_environment)"
        )
    if not given.run_url:
        problems.append(
            "--approval-run-url: missing; pass the approved workflow run's URL "
            "(https://github.com/OWNER/REPO/actions/runs/ID)"
        )
    elif problem := run_url_problem(given.run_url):
        problems.append(problem)
    if not given.actor:
        problems.append(
            "--approval-actor: missing; pass the GitHub login that started the approved run"
        )
    if problems:
        return CheckRecord(
            "approval",
            False,
            f"environment {target.env!r} requires approval: " + "; ".join(problems),
        )
    by = f"; approved by {request.approved_by}" if request.approved_by else ""
    return CheckRecord(
        "approval",
        True,
        f"as the caller states it: GitHub environment {given.environment!r}, run "
        f"{given.run_url}, actor {given.actor}{by}",
    )


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
                    f"signature:{app}", False, f"cosign could not verify {image}: {cosign_failure(done)}"
                )
            )
    return results


def refused(results: list[CheckRecord]) -> list[CheckRecord]:
    return [r for r in results if not r.passed]


def cosign_failure(done: CommandResult) -> str:
    """Why cosign refused, without its WARNING lines: offline, cosign first warns at length
    that it cannot reach the Sigstore TUF repository, which buried the reason ("no signatures
    found") past what a report message shows."""
    lines = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
    errors = [line for line in lines if not line.startswith("WARNING")]
    return " | ".join(errors[-3:]) if errors else done.reason(3)
