"""Air-gapped signing options of a target (the rehearsal's offline registry, private clusters):
key signatures verified without a transparency log, a plain-http registry. Off by default; the
commands are recorded by the fake API server/tool runner (deploy_fakes.FakeCluster)."""

from __future__ import annotations

import dataclasses

import pytest
from deploy_fakes import FakeClock, FakeCluster, make_target
from test_orchestrator import deploy

from pipeline.deploy.request import DeployInputError, DeployTarget


def cosign_commands(cluster: FakeCluster, clock: FakeClock, **flags: bool) -> list[str]:
    from deploy_fakes import passing_evidence

    target = dataclasses.replace(make_target("staging", require_signature=True), **flags)
    deploy(
        cluster, clock, target=target, evidence=passing_evidence(), cosign_key="/keys/cosign.pub"
    )
    return cluster.commands("cosign")


def test_default_verification_keeps_the_transparency_log_and_tls(
    cluster: FakeCluster, clock: FakeClock
) -> None:
    commands = cosign_commands(cluster, clock)
    assert len(commands) == 2
    assert not any("tlog" in c or "http-registry" in c for c in commands)


def test_offline_options_add_exactly_their_flags(cluster: FakeCluster, clock: FakeClock) -> None:
    commands = cosign_commands(cluster, clock, signature_tlog=False, registry_http=True)
    for c in commands:
        assert "--key /keys/cosign.pub --insecure-ignore-tlog=true" in c
        assert "--allow-http-registry --allow-insecure-registry" in c


def test_target_json_round_trip_and_bad_values() -> None:
    target = dataclasses.replace(make_target("staging"), signature_tlog=False, registry_http=True)
    again = DeployTarget.from_json(target.to_json())
    assert (again.signature_tlog, again.registry_http) == (False, True)
    with pytest.raises(DeployInputError, match="target.signature_tlog"):
        DeployTarget.from_json({**target.to_json(), "signature_tlog": "no"})


def test_a_cosign_refusal_names_the_error_not_the_offline_warning() -> None:
    """Seen in the rehearsal (drill c): cosign's TUF warning filled the refusal's reason."""
    from pipeline.deploy.gates import cosign_failure
    from pipeline.deploy.tools import CommandResult

    stderr = (
        "WARNING: Could not fetch trusted_root.json from the TUF repository. Continuing with "
        'individual targets. Error from TUF: error getting live trusted root: Get "https://tuf-'
        'repo-cdn.sigstore.dev/14.root.json": no such host\n'
        "Error: no signatures found\nerror during command execution: no signatures found\n"
    )
    reason = cosign_failure(CommandResult(("cosign", "verify"), 1, "", stderr))
    assert reason == "Error: no signatures found | error during command execution: no signatures found"
    assert cosign_failure(CommandResult(("cosign",), 1, "", "WARNING: only this\n")) == "WARNING: only this"
    assert cosign_failure(CommandResult(("cosign",), 2)) == "exit code 2"
