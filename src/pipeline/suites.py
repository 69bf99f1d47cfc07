"""The platform's own test suites that `dagger call ci` runs inside a container.

Plain Python (no `dagger` import). `ci` runs each suite below with pytest in a container built
from the repository (dockerfiles/tools.Dockerfile's lint target, plus helm and kubectl from its
deploy target, plus tests/requirements.txt), so a pull request that breaks the chart, a
workflow or the module's core fails the GitHub check. What needs a host stays with `.ci/run`:
a Docker engine or a cluster, or `../shared/` (Dagger's GraphQL schema, the CRD schemas: not in
the repository). docs/ci.md lists which suite runs where; keep it in step with this file.
"""

from __future__ import annotations

from dataclasses import dataclass

REPORTS = "/reports/platform"


@dataclass(frozen=True)
class Suite:
    """One pytest run: what it covers, which paths, and what it leaves to .ci/run (and why)."""

    stem: str  # JUnit file name: REPORTS/<stem>.xml
    name: str
    paths: tuple[str, ...]
    ignore: tuple[str, ...] = ()  # whole files that need the host (see HOST_ONLY)
    deselect: tuple[str, ...] = ()  # single tests that need the host
    # helm and kubectl from the deploy target; without them a suite does not wait for (or
    # fail with) that build, which downloads release files
    deploy_tools: bool = True

    def command(self) -> tuple[str, ...]:
        args = ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *self.paths]
        args += [f"--ignore={path}" for path in self.ignore]
        args += [f"--deselect={test}" for test in self.deselect]
        args.append(f"--junitxml={REPORTS}/{self.stem}.xml")
        return tuple(args)


# Why a part of a suite stays with .ci/run.
HOST_ONLY: dict[str, str] = {
    "tests/module/test_execution.py": "../shared/dagger/schema.graphqls",
    "tests/module/test_registration.py": "../shared/dagger/schema.graphqls",
    "tests/module/test_failures.py": "../shared/dagger/schema.graphqls",
    "tests/module/test_sign_credentials.py": "../shared/dagger/schema.graphqls and cosign",
    "tests/module/test_module_files.py": "../shared/dagger/dagger.json.schema.json",
    "tests/module/test_pyright.py": "run by lint (pyright strict, ruff) already",
    "tests/module/test_toolchain.py::test_no_other_version_of_a_pinned_tool_anywhere": (
        "git ls-files (the source ci gets has no .git)"
    ),
    "tests/k8s/test_k8s_platform.py": "../shared/crds",
    "tests/k8s/test_k8s_checkov.py": "checkov (not in the lint toolbox)",
    "tests/k8s/test_k8s_promql.py": "promtool (Debian prometheus)",
    "tests/k8s/test_k8s_install_script.py": "downloads the k8s tools",
    "tests/k8s/test_k8s_render.py::test_custom_resources_validate_against_their_crds": (
        "../shared/crds"
    ),
    "tests/k8s/test_k8s_render.py::test_crd_validation_rejects_unknown_and_mistyped_fields": (
        "../shared/crds"
    ),
    "tests/workflows/test_dagger_calls.py": "../shared/dagger/schema.graphqls",
}


def _host(prefix: str, whole_files: bool) -> tuple[str, ...]:
    return tuple(
        key for key in HOST_ONLY if key.startswith(prefix) and (("::" in key) is not whole_files)
    )


def platform_suites() -> list[Suite]:
    return [
        Suite(
            "module",
            "platform: module core (config, plans, policies, toolchain, layers)",
            ("tests/module",),
            ignore=_host("tests/module/", whole_files=True),
            deselect=_host("tests/module/", whole_files=False),
            deploy_tools=False,
        ),
        Suite(
            "k8s",
            "platform: chart render, values schema, policies",
            ("tests/k8s",),
            ignore=_host("tests/k8s/", whole_files=True),
            deselect=_host("tests/k8s/", whole_files=False),
        ),
        Suite(
            "workflows",
            "platform: workflow checks (actionlint, zizmor, scripts, policies)",
            ("tests/workflows",),
            ignore=_host("tests/workflows/", whole_files=True),
        ),
    ]


# Debian packages the workflow checks call on top of the lint toolbox.
APT_PACKAGES: tuple[str, ...] = ("curl", "jq", "yq", "strace")
# Binaries copied from the tools.Dockerfile deploy target (checksum-verified downloads).
DEPLOY_BINARIES: tuple[str, ...] = ("/usr/local/bin/helm", "/usr/local/bin/kubectl")
VENV = "/opt/platform-tests"
