"""Cosign commands for signing pushed digests and attaching SBOM attestations.

Plain Python. Secrets never appear here: the commands read them from files under
/run/secrets and from environment variables that `Pipeline.sign` sets with
`with_mounted_secret` / `with_secret_variable`, so no plaintext reaches the query or argv.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from pipeline.plans import PlanError, sbom_format, split_digest_ref

KEY_PATH = "/run/secrets/cosign.key"
OIDC_TOKEN_PATH = "/run/secrets/oidc-token"
SBOM_DIR = "/sbom"


@dataclass(frozen=True)
class SignMode:
    keyless: bool

    @property
    def label(self) -> str:
        return "cosign keyless (OIDC)" if self.keyless else "cosign key pair"


def choose_mode(has_key: bool, has_oidc_token: bool, keyless_allowed: bool) -> SignMode:
    """Key pair when given, else keyless when allowed; otherwise a clear error."""
    if has_key:
        return SignMode(keyless=False)
    if has_oidc_token:
        if not keyless_allowed:
            raise PlanError(
                "keyless signing is disabled in pipeline.yaml (signing.keyless: false); "
                "pass --cosign-key and --cosign-password instead"
            )
        return SignMode(keyless=True)
    raise PlanError(
        "nothing to sign with: pass --cosign-key file://cosign.key --cosign-password env://COSIGN_PASSWORD, "
        "or --oidc-token env://ACTIONS_ID_TOKEN for keyless signing"
    )


def login_script(registry: str) -> str:
    """Registry login reading the password from $REGISTRY_PASSWORD (a secret variable)."""
    return (
        'printf "%s" "$REGISTRY_PASSWORD" | cosign login '
        f'{shlex.quote(registry)} -u "$REGISTRY_USERNAME" --password-stdin'
    )


def _auth_flags(mode: SignMode) -> list[str]:
    if mode.keyless:
        return ["--identity-token", OIDC_TOKEN_PATH]
    return ["--key", KEY_PATH]


def sign_script(ref: str, mode: SignMode) -> str:
    split_digest_ref(ref)  # refuses tags: only digests are signed
    return shlex.join(["cosign", "sign", "--yes", *_auth_flags(mode), ref])


def attest_script(ref: str, mode: SignMode, sbom_file: str, sbom_format_name: str) -> str:
    split_digest_ref(ref)
    return shlex.join(
        [
            "cosign",
            "attest",
            "--yes",
            *_auth_flags(mode),
            "--type",
            sbom_format(sbom_format_name).cosign_predicate,
            "--predicate",
            f"{SBOM_DIR}/{sbom_file}",
            ref,
        ]
    )


def full_script(
    registry: str, ref: str, mode: SignMode, sbom_file: str | None, sbom_format_name: str
) -> str:
    steps = ["set -eu", login_script(registry), sign_script(ref, mode)]
    if sbom_file is not None:
        steps.append(attest_script(ref, mode, sbom_file, sbom_format_name))
    return "\n".join(steps)
