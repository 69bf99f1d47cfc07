"""Cosign commands for signing pushed digests and attaching SBOM attestations.

Plain Python. Secrets never appear here: the commands read them from files under
/run/secrets and from environment variables that stages.sign sets with
`with_mounted_secret` / `with_secret_variable`, so no plaintext reaches the query or argv.

`cosign login` stores the registry credential (base64 of user:password) in
$DOCKER_CONFIG/config.json. DOCKER_CONFIG is AUTH_DIR, a tmpfs mounted for the exec
(`with_mounted_temp`): the credential lives in memory for that one step, is removed when the
script exits, and is never part of the container's filesystem, its cached layer or a volume.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from pipeline.plans import PlanError, sbom_format, split_digest_ref

KEY_PATH = "/run/secrets/cosign.key"
OIDC_TOKEN_PATH = "/run/secrets/oidc-token"
SBOM_DIR = "/sbom"
AUTH_DIR = "/run/cosign-auth"  # tmpfs: the docker config cosign login writes


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


def auth_guard(auth_dir: str = AUTH_DIR) -> list[str]:
    """Refuse to log in unless the docker config is the tmpfs; delete it when the step ends."""
    quoted = shlex.quote(auth_dir)
    refuse = f'{{ echo "DOCKER_CONFIG must be {auth_dir} (tmpfs)" >&2; exit 2; }}'
    return [
        f'[ "${{DOCKER_CONFIG:-}}" = {quoted} ] || {refuse}',
        f"trap 'rm -f {quoted}/config.json' EXIT",
    ]


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
    steps = ["set -eu", *auth_guard(), login_script(registry), sign_script(ref, mode)]
    if sbom_file is not None:
        steps.append(attest_script(ref, mode, sbom_file, sbom_format_name))
    return "\n".join(steps)
