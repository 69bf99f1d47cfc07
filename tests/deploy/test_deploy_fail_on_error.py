"""`--fail-on-error=false` on deploy, promote, abort and rollback (issue 18 item 9).

`dagger call` exits 1 for every failure, so the workflows export the report and read its
`outcome` (`.github/scripts/ci_summary.py outcome`). With --fail-on-error=false a failing
orchestrator therefore still returns its report directory; by default the call raises with
the cause. Run through the schema-validating fake engine (tests/module/module_dagger_harness.py):
`h.exec_failure` makes the orchestrator's exec exit non-zero with output, as the engine would.
"""

from __future__ import annotations

from typing import Any

import anyio
import module_dagger_harness as h
import pytest

from pipeline.deploy_container import REPORT_DIR

KUBECONFIG_ID = h.secret_id("kubeconfig")
ORCHESTRATOR = "python -m pipeline.deploy"
RELEASE_JSON = (
    '{"images": {"backend": {"ref": "ghcr.io/blog-creator-agent/blog-creator-agent/backend@sha256:'
    + "e" * 64
    + '"}, "frontend": {"ref": "ghcr.io/blog-creator-agent/blog-creator-agent/frontend@sha256:'
    + "e" * 64
    + '"}}, "scan": {"passed": true}}'
)
ROLLED_BACK = "# deploy `staging`: rolled-back\n\nhelm test failed; rolled back to revision 4\n"
STDERR = "deploy: helm test blog-staging: pod blog-smoke exited 1\n"

# (function, inputs, exit code of the orchestrator): one failure of each deploy-family action
CASES: list[tuple[str, dict[str, Any], int]] = [
    ("deploy", {"release_report": "release-file-id"}, 1),  # rolled back and verified
    ("promote", {}, 2),  # refused: nothing changed
    ("abort", {}, 2),
    ("rollback", {"revision": 3}, 3),  # NOT restored
]


def engine_failing(exit_code: int, **resolvers: Any) -> h.FakeEngine:
    return h.FakeEngine(
        files={"release-file-id": RELEASE_JSON},
        failures=[h.exec_failure(ORCHESTRATOR, exit_code, ROLLED_BACK, STDERR)],
        resolvers=resolvers,
    )


def call(engine: h.FakeEngine, fn: str, inputs: dict[str, Any]) -> Any:
    args = {"env": "staging", "kubeconfig": KUBECONFIG_ID, **inputs}
    return anyio.run(h.call, engine, fn, args, h.pipeline_state())


def report_checks(engine: h.FakeEngine) -> list[str]:
    """Paths the module asked about after the orchestrator exited (`Container.exists`)."""
    return [str(c.args["path"]) for c in engine.calls("exists", "Container")]


@pytest.mark.parametrize(("fn", "inputs", "code"), CASES)
def test_fail_on_error_false_returns_the_report_of_a_failure(
    fn: str, inputs: dict[str, Any], code: int
) -> None:
    engine = engine_failing(code)
    result = call(engine, fn, {**inputs, "fail_on_error": False})
    # the reports directory of the exec that failed: `export` writes ACTION-ENV.json/.md
    returned = [c for c in engine.calls("directory", "Container") if c.args["path"] == REPORT_DIR]
    assert returned, "the report directory was not returned"
    assert all(c.parent is not None and c.parent.name == "withExec" for c in returned)
    assert ORCHESTRATOR in " ".join(returned[-1].parent.args["args"])  # type: ignore[union-attr]
    assert isinstance(result, str) and not engine.is_failed(result)
    # only after checking the orchestrator wrote its report (with outcome and exit code)
    assert report_checks(engine) == [f"{REPORT_DIR}/{fn}-staging.json"]


@pytest.mark.parametrize(("fn", "inputs", "code"), CASES)
def test_default_raises_naming_the_cause(fn: str, inputs: dict[str, Any], code: int) -> None:
    engine = engine_failing(code)
    with pytest.raises(Exception) as caught:
        call(engine, fn, inputs)
    message = str(caught.value)
    assert f"{fn} --env staging failed (exit {code})" in message
    assert "rolled back to revision 4" in message  # the orchestrator's report
    assert "pod blog-smoke exited 1" in message  # and its stderr
    assert report_checks(engine) == []  # the default never looks for a report to return


def test_no_report_written_still_raises_with_fail_on_error_false() -> None:
    """Bad input stops the orchestrator before it writes a report: nothing to export, so the
    call fails with the cause (the outcome step then says the report is missing)."""
    engine = engine_failing(2, **{"Container.exists": lambda call: False})
    with pytest.raises(Exception) as caught:
        call(engine, "rollback", {"fail_on_error": False})
    message = str(caught.value)
    assert "rollback --env staging failed (exit 2)" in message
    assert "pod blog-smoke exited 1" in message
    assert "it wrote no report to return" in message


def test_success_with_fail_on_error_false_returns_the_report_without_a_check() -> None:
    engine = h.FakeEngine(files={"release-file-id": RELEASE_JSON})
    result = call(engine, "deploy", {"release_report": "release-file-id", "fail_on_error": False})
    assert isinstance(result, str) and not engine.is_failed(result)
    assert report_checks(engine) == []
