"""Blog Creator Agent delivery pipeline: build, lint, test, scan, SBOM, push, sign, release.

The same `dagger call ...` runs on a laptop and as the one-line GitHub Actions step.
Settings come from pipeline.yaml; decisions live in plain-Python modules beside this one.
"""

import enum
import json
from typing import TYPE_CHECKING, Annotated

import dagger
from dagger import DefaultPath, Doc, Ignore, dag, enum_type, field, function, object_type

if TYPE_CHECKING:  # the plain-Python core (pydantic, yaml) is imported when a function runs
    from pipeline.deploy_container import DeployInputs
    from pipeline.stages import Ctx, SignInputs

# Never part of the build context or of what the tools see: dependencies, build outputs,
# VCS data, caches and reports (`Ignore` keeps them out of the upload as well).
SOURCE_IGNORE = [
    "**/node_modules",
    "**/.venv",
    "**/.next",
    ".git",
    "**/__pycache__",
    "**/.pytest_cache",
    "**/.ruff_cache",
    "**/.mypy_cache",
    "reports",
    "**/reports",
    "**/test-results",
    "**/coverage",
    "sdk",
    ".tools",
    ".cache",
    "dist",
    "build",
    "**/*.tar",
    ".env",
]


# Arguments shared by several functions: one definition, so each flag reads the same everywhere.
RegistryUsername = Annotated[str, Doc("User name for the registry of pipeline.yaml")]
RegistryPassword = Annotated[
    dagger.Secret, Doc("Registry password or token, e.g. env://REGISTRY_TOKEN")
]
CosignKey = Annotated[dagger.Secret | None, Doc("Cosign private key, e.g. file://cosign.key")]
CosignPassword = Annotated[
    dagger.Secret | None, Doc("Password of the cosign key, e.g. env://COSIGN_PASSWORD")
]
OidcToken = Annotated[
    dagger.Secret | None,
    Doc("OIDC identity token for keyless signing (GitHub Actions id-token)"),
]
Kubeconfig = Annotated[
    dagger.Secret | None,
    Doc("Kubeconfig of the cluster, e.g. file://~/.kube/config or env://KUBECONFIG_DATA"),
]
KubeContext = Annotated[str, Doc("Kubeconfig context (default: the environment's)")]
DeployFailOnError = Annotated[
    bool,
    Doc(
        "Fail when the action fails; --fail-on-error=false returns its report anyway "
        "(outcome and exit code in ACTION-ENV.json), as the workflows do before "
        "ci_summary.py outcome"
    ),
]
SmokeToken = Annotated[
    dagger.Secret | None,
    Doc(
        "API key of a test account (sent as X-API-Key) for the authenticated smoke check, "
        "e.g. env://SMOKE_API_KEY"
    ),
]
BackendImage = Annotated[
    str, Doc("Backend image as REPO@sha256:<digest> (default: from --release-report)")
]
FrontendImage = Annotated[
    str, Doc("Frontend image as REPO@sha256:<digest> (default: from --release-report)")
]


@enum_type
class App(enum.Enum):
    """An application of the repository."""

    BACKEND = "backend"
    """The FastAPI backend (port 8000)."""

    FRONTEND = "frontend"
    """The Next.js frontend (port 3000)."""


@object_type
class Images:
    """The runtime images of one commit, built from dockerfiles/."""

    backend: Annotated[dagger.Container, Doc("The backend runtime image")] = field()
    frontend: Annotated[dagger.Container, Doc("The frontend runtime image")] = field()

    @function
    def image(self, app: Annotated[App, Doc("Which image")]) -> dagger.Container:
        """One image by name (same as the backend / frontend fields)."""
        return self.backend if app is App.BACKEND else self.frontend

    @function
    def tarballs(self) -> dagger.Directory:
        """Both images as OCI tarballs (backend.tar, frontend.tar), e.g. for `docker load`."""
        return (
            dag.directory()
            .with_file("backend.tar", self.backend.as_tarball())
            .with_file("frontend.tar", self.frontend.as_tarball())
        )


@object_type
class Pipeline:
    """Delivery pipeline of Blog Creator Agent (settings in pipeline.yaml)."""

    source: Annotated[
        dagger.Directory,
        DefaultPath("/"),
        Ignore(SOURCE_IGNORE),
        Doc("The repository (defaults to the module's root; dependencies and outputs ignored)"),
    ]
    revision: Annotated[
        str,
        Doc("Git commit of the source (git rev-parse HEAD); tags images and fills OCI labels"),
    ] = ""
    version: Annotated[
        str, Doc("Release version such as v1.4.0; adds a version tag to pushed images")
    ] = ""
    build_date: Annotated[
        str,
        Doc("RFC 3339 time for the org.opencontainers.image.created label (e.g. commit time)"),
    ] = ""
    python_image: Annotated[
        str, Doc("Override the Python base image of pipeline.yaml (e.g. a registry mirror)")
    ] = ""
    node_image: Annotated[
        str, Doc("Override the Node.js base image of pipeline.yaml (e.g. a registry mirror)")
    ] = ""
    ca: Annotated[
        dagger.File | None,
        Doc("CA certificate (PEM) of a TLS-intercepting proxy, trusted by builds and tools"),
    ] = None

    # ---- helpers (not functions) -------------------------------------------------------

    async def _ctx(self) -> "Ctx":
        """Settings and inputs of this run (plain-Python modules imported lazily)."""
        from pipeline.config import parse_config_text
        from pipeline.containers import build_ca_secret
        from pipeline.plans import BuildInputs
        from pipeline.stages import Ctx

        config = parse_config_text(await self.source.file("pipeline.yaml").contents())
        inputs = BuildInputs(
            revision=self.revision,
            version=self.version,
            build_date=self.build_date,
            python_image=self.python_image,
            node_image=self.node_image,
        )
        ca_secret = await build_ca_secret(self.ca)
        return Ctx(self.source, config, inputs, self.ca, ca_secret)

    # ---- functions ---------------------------------------------------------------------

    @function
    async def build(self) -> Images:
        """Build the backend and frontend runtime images from dockerfiles/, concurrently.

        Chain an image (`build backend terminal`) or export both (`build tarballs export`).
        """
        from pipeline import stages

        images = await stages.images(await self._ctx())
        return Images(backend=images["backend"], frontend=images["frontend"])

    @function
    async def lint(self) -> str:
        """Run every linter in its own step and return one summary.

        Ruff + pyright, ESLint + tsc, hadolint, helm lint, actionlint + zizmor. Returns a
        summary; fails with the same summary when any linter reports a problem.
        """
        from pipeline import stages
        from pipeline.reports import summary_text

        results = await stages.lint(await self._ctx())
        text = summary_text("lint", results)
        if not all(r.ok for r in results):
            raise stages.StepFailed(text)
        return text

    @function
    async def test(
        self,
        fail_on_error: Annotated[
            bool,
            Doc("Fail when a test fails; --fail-on-error=false returns the reports anyway"),
        ] = True,
    ) -> dagger.Directory:
        """Run the backend tests, the frontend unit tests and an integration smoke test.

        Backend tests get Redis and Elasticsearch as services; the smoke test runs backend +
        frontend + redis. Returns the reports (JUnit XML, coverage):
        `dagger call test export --path reports`.
        """
        from pipeline import stages

        reports_dir, results = await stages.test(await self._ctx())
        return stages.finish("test", reports_dir, results, fail_on_error)

    @function
    async def scan(
        self,
        images: Annotated[
            list[str] | None,
            Doc("Scan these published images (<repo>@sha256:...) instead of building them"),
        ] = None,
        refresh_db: Annotated[
            bool, Doc("Download a fresh vulnerability DB instead of using the cached one")
        ] = False,
        registry_username: Annotated[
            str, Doc("User name to pull --images from a private registry")
        ] = "",
        registry_password: Annotated[
            dagger.Secret | None, Doc("Password or token to pull --images, e.g. env://TOKEN")
        ] = None,
        fail_on_error: Annotated[
            bool, Doc("Fail on a policy violation; --fail-on-error=false returns the reports")
        ] = True,
        trivy_db: Annotated[
            dagger.Directory | None,
            Doc(
                "Pre-fetched Trivy DB for air-gapped scans (the db/ folder of a Trivy cache: "
                "trivy.db, metadata.json); nothing is downloaded"
            ),
        ] = None,
    ) -> dagger.Directory:
        """Scan both images, the configuration and the source with Trivy, judged by policy.

        Images for vulnerabilities, dockerfiles/ and k8s/ for misconfigurations, the source
        for secrets; the scan policy of pipeline.yaml decides. Returns SARIF + JSON per scan,
        findings.md and summary.md; fails naming each finding at fault.
        """
        from pipeline import stages

        ctx = await self._ctx()
        if images:
            imgs = stages.published_images(ctx, images, registry_username, registry_password)
        else:
            imgs = await stages.images(ctx)
        scanned = await stages.scan(ctx, imgs, refresh_db, trivy_db)
        return stages.finish("scan", scanned.reports, [scanned.result], fail_on_error)

    @function
    async def sbom(self) -> dagger.Directory:
        """Generate an SBOM of each runtime image (CycloneDX or SPDX, per pipeline.yaml)."""
        from pipeline import stages

        ctx = await self._ctx()
        return await stages.sbom(ctx, await stages.images(ctx))

    @function(cache="never")  # pyright: ignore[reportCallIssue, reportUntypedFunctionDecorator]
    async def push(
        self,
        registry_username: RegistryUsername,
        registry_password: RegistryPassword,
    ) -> str:
        """Publish both images with the revision tag (and version tag); requires --revision.

        Returns JSON {"backend": "<repo>@sha256:...", "frontend": ...}: the pushed digests.
        """
        from pipeline import stages

        ctx = await self._ctx()
        imgs = await stages.images(ctx)
        published = await stages.push(ctx, imgs, registry_username, registry_password)
        return json.dumps(published, indent=2, sort_keys=True)

    @function(cache="never")  # pyright: ignore[reportCallIssue, reportUntypedFunctionDecorator]
    async def sign(
        self,
        images: Annotated[
            list[str], Doc("Image references by digest (<repo>@sha256:...), e.g. from push")
        ],
        registry_username: RegistryUsername,
        registry_password: RegistryPassword,
        cosign_key: CosignKey = None,
        cosign_password: CosignPassword = None,
        oidc_token: OidcToken = None,
        sbom: Annotated[
            dagger.Directory | None,
            Doc("SBOMs to attest (from the sbom function); generated when omitted"),
        ] = None,
    ) -> str:
        """Sign the digests with cosign and attach each image's SBOM as an attestation.

        Uses the key pair when given, else keyless with --oidc-token. Returns JSON per image.
        """
        from pipeline import stages
        from pipeline.plans import refs_by_app

        ctx = await self._ctx()
        refs = refs_by_app(ctx.config, images)
        creds = _sign_inputs(
            registry_username, registry_password, cosign_key, cosign_password, oidc_token
        )
        signed = await stages.sign(ctx, refs, creds, sbom)
        return json.dumps(signed, indent=2, sort_keys=True)

    @function
    async def ci(
        self,
        fail_on_error: Annotated[
            bool, Doc("Fail when a step fails; --fail-on-error=false returns the reports anyway")
        ] = True,
    ) -> dagger.Directory:
        """Run lint, test, build + scan and the platform suites concurrently, with one summary.

        Returns reports (summary.md, summary.json, test/, scan/, platform/):
        `ci export --path reports`.
        """
        from pipeline import stages

        run = await stages.ci(await self._ctx())
        return stages.finish("ci", run.reports, run.results, fail_on_error)

    @function(cache="never")  # pyright: ignore[reportCallIssue, reportUntypedFunctionDecorator]
    async def release(
        self,
        registry_username: RegistryUsername,
        registry_password: RegistryPassword,
        cosign_key: CosignKey = None,
        cosign_password: CosignPassword = None,
        oidc_token: OidcToken = None,
    ) -> dagger.Directory:
        """Run ci, then push, SBOM and sign, and return the release report.

        The report (release.json, release.md) holds digests, scan summary, SBOMs and
        signatures: `release ... export --path release`.
        """
        from pipeline import stages

        creds = _sign_inputs(
            registry_username, registry_password, cosign_key, cosign_password, oidc_token
        )
        return await stages.release(await self._ctx(), creds)

    @function
    async def serve(
        self,
        jwt_secret: Annotated[
            dagger.Secret | None,
            Doc("JWT signing key for the backend; a development default when omitted"),
        ] = None,
        elasticsearch: Annotated[
            bool, Doc("Also start Elasticsearch for full-text search (the backend runs without)")
        ] = False,
    ) -> dagger.Service:
        """Run the whole stack (frontend, backend, redis) as one service for local use.

        `dagger call serve up --ports 3000:3000`; add --elasticsearch for search.
        """
        from pipeline import stages

        return await stages.serve(await self._ctx(), jwt_secret, elasticsearch)

    @function(cache="never")  # pyright: ignore[reportCallIssue, reportUntypedFunctionDecorator]
    async def load_test(
        self,
        url: Annotated[str, Doc("Base URL to load, e.g. https://staging.example.com")],
        token: Annotated[
            dagger.Secret | None, Doc("Bearer token sent with every request, e.g. env://TOKEN")
        ] = None,
        paths: Annotated[
            list[str] | None, Doc("URL paths to request (default / and the frontend health path)")
        ] = None,
        users: Annotated[int, Doc("Concurrent simulated users")] = 20,
        spawn_rate: Annotated[int, Doc("Users started per second")] = 5,
        duration: Annotated[str, Doc("How long to run, e.g. 30s, 2m")] = "1m",
        max_error_rate: Annotated[float, Doc("Highest accepted share of failed requests")] = 0.01,
        max_p95_ms: Annotated[float, Doc("Highest accepted 95th percentile latency (ms)")] = 1000,
        fail_on_error: Annotated[
            bool, Doc("Fail when a limit is exceeded; --fail-on-error=false returns the report")
        ] = True,
    ) -> dagger.Directory:
        """Load test a deployed environment with Locust and judge it by the given limits.

        Returns load-test.md/.json, CSV and HTML statistics:
        `load-test --url https://staging... export --path load-test`.
        """
        from pipeline import stages
        from pipeline.loadtest import LoadSettings

        ctx = await self._ctx()
        settings = LoadSettings(
            url=url,
            users=users,
            spawn_rate=spawn_rate,
            duration=duration,
            paths=tuple(paths or ["/", ctx.config.apps.frontend.health_path]),
            max_error_rate=max_error_rate,
            max_p95_ms=max_p95_ms,
        )
        reports_dir, result = await stages.load_test(ctx, settings, token)
        return stages.finish("load test", reports_dir, [result], fail_on_error)

    # ---- deploy functions: deploy, promote, abort, rollback, status, diff -----------------

    async def _deploy_call(self, inputs: "DeployInputs") -> tuple[dagger.Directory, str]:
        """Run one deploy-family action in the tools container: (reports, Markdown report).

        A failure raises DeployFailed with its report, unless inputs.fail_on_error is False.
        """
        from pipeline.deploy_container import deploy_action

        return await deploy_action(self.source, self.python_image, self.ca, inputs)

    @function(cache="never")  # pyright: ignore[reportCallIssue, reportUntypedFunctionDecorator]
    async def deploy(
        self,
        env: Annotated[str, Doc("Environment of pipeline.yaml: dev, staging, prod, or local")],
        kubeconfig: Kubeconfig = None,
        context: KubeContext = "",
        backend_image: BackendImage = "",
        frontend_image: FrontendImage = "",
        release_report: Annotated[
            dagger.File | None,
            Doc("release.json written by the release function: digests, scan verdict (gates)"),
        ] = None,
        cosign_key: Annotated[
            dagger.File | None, Doc("Cosign public key that must have signed the digests")
        ] = None,
        cosign_identity: Annotated[
            str, Doc("Keyless verification: certificate identity regexp of the signer")
        ] = "",
        cosign_issuer: Annotated[
            str,
            Doc(
                "Keyless verification: OIDC issuer, e.g. https://token.actions.githubusercontent.com"
            ),
        ] = "",
        approved_by: Annotated[
            str, Doc("Who approved this deploy (recorded; see --approval-environment)")
        ] = "",
        approval_environment: Annotated[
            str,
            Doc(
                "Approval evidence: the GitHub environment whose required reviewers approved "
                "this run (pipeline.yaml github_environment; required where approval is)"
            ),
        ] = "",
        approval_run_url: Annotated[
            str, Doc("Approval evidence: https URL of the approved workflow run")
        ] = "",
        approval_actor: Annotated[
            str, Doc("Approval evidence: the GitHub login that started the approved run")
        ] = "",
        smoke_token: SmokeToken = None,
        smoke_api_path: Annotated[
            str, Doc("API path checked with --smoke-token after the deploy, e.g. /api/v1/auth/me")
        ] = "",
        dry_run: Annotated[
            bool, Doc("Check the gates and render the manifests and the plan; apply nothing")
        ] = False,
        commit_time: Annotated[
            str,
            Doc("RFC 3339 time of the commit deployed (git show -s --format=%cI), for lead time"),
        ] = "",
        fail_on_error: DeployFailOnError = True,
    ) -> dagger.Directory:
        """Deploy the release to ENV by its strategy, verify it, and roll back on failure.

        Gates, helm upgrade by the environment's strategy, verification (rollout, helm test,
        smoke checks), automatic rollback on failure.

        Returns the report (deploy-ENV.json/.md): `deploy --env staging ... -o reports/deploy`;
        with --fail-on-error=false also when the deploy fails (its `outcome` says how).
        `--env local` rehearses on a throwaway k3s cluster started as a service: it deploys
        the same images twice there, a baseline install (reports in baseline/) and then the
        release as an upgrade, so the canary steps and their analysis really run.
        """
        from pipeline.deploy_container import DeployInputs

        inputs = DeployInputs(
            "deploy",
            env,
            kubeconfig,
            context,
            version=self.version,
            backend_image=backend_image,
            frontend_image=frontend_image,
            release_report=release_report,
            cosign_key=cosign_key,
            cosign_identity=cosign_identity,
            cosign_issuer=cosign_issuer,
            approved_by=approved_by,
            approval_environment=approval_environment,
            approval_run_url=approval_run_url,
            approval_actor=approval_actor,
            smoke_token=smoke_token,
            smoke_api_path=smoke_api_path,
            dry_run=dry_run,
            commit=self.revision,
            commit_time=commit_time,
            fail_on_error=fail_on_error,
        )
        return (await self._deploy_call(inputs))[0]

    @function(cache="never")  # pyright: ignore[reportCallIssue, reportUntypedFunctionDecorator]
    async def promote(
        self,
        env: Annotated[str, Doc("Environment of pipeline.yaml whose rollout is paused")],
        kubeconfig: Kubeconfig = None,
        context: KubeContext = "",
        full: Annotated[bool, Doc("Skip the remaining canary steps and analysis")] = False,
        smoke_token: SmokeToken = None,
        approval_environment: Annotated[
            str,
            Doc(
                "Approval evidence: the GitHub environment whose required reviewers approved "
                "this run (pipeline.yaml github_environment; required where approval is)"
            ),
        ] = "",
        approval_run_url: Annotated[
            str, Doc("Approval evidence: https URL of the approved workflow run")
        ] = "",
        approval_actor: Annotated[
            str, Doc("Approval evidence: the GitHub login that started the approved run")
        ] = "",
        fail_on_error: DeployFailOnError = True,
    ) -> dagger.Directory:
        """Advance a paused canary / blue-green rollout (or fully promote it), then verify.

        Where the environment requires approval, the approval evidence is required too.
        """
        from pipeline.deploy_container import DeployInputs

        inputs = DeployInputs(
            "promote",
            env,
            kubeconfig,
            context,
            full=full,
            smoke_token=smoke_token,
            approval_environment=approval_environment,
            approval_run_url=approval_run_url,
            approval_actor=approval_actor,
            fail_on_error=fail_on_error,
        )
        return (await self._deploy_call(inputs))[0]

    @function(cache="never")  # pyright: ignore[reportCallIssue, reportUntypedFunctionDecorator]
    async def abort(
        self,
        env: Annotated[str, Doc("Environment of pipeline.yaml with a rollout in progress")],
        kubeconfig: Kubeconfig = None,
        context: KubeContext = "",
        fail_on_error: DeployFailOnError = True,
    ) -> dagger.Directory:
        """Abort a canary / blue-green rollout: all traffic back to the stable version."""
        from pipeline.deploy_container import DeployInputs

        inputs = DeployInputs("abort", env, kubeconfig, context, fail_on_error=fail_on_error)
        return (await self._deploy_call(inputs))[0]

    @function(cache="never")  # pyright: ignore[reportCallIssue, reportUntypedFunctionDecorator]
    async def rollback(
        self,
        env: Annotated[str, Doc("Environment of pipeline.yaml to roll back")],
        kubeconfig: Kubeconfig = None,
        context: KubeContext = "",
        revision: Annotated[
            int, Doc("Helm revision to restore (see the status function); 0 = the previous one")
        ] = 0,
        smoke_token: SmokeToken = None,
        fail_on_error: DeployFailOnError = True,
    ) -> dagger.Directory:
        """Roll the release back to a previous Helm revision and verify it serves."""
        from pipeline.deploy_container import DeployInputs

        inputs = DeployInputs(
            "rollback",
            env,
            kubeconfig,
            context,
            revision=revision,
            smoke_token=smoke_token,
            fail_on_error=fail_on_error,
        )
        return (await self._deploy_call(inputs))[0]

    @function(cache="never")  # pyright: ignore[reportCallIssue, reportUntypedFunctionDecorator]
    async def status(
        self,
        env: Annotated[str, Doc("Environment of pipeline.yaml")],
        kubeconfig: Kubeconfig = None,
        context: KubeContext = "",
    ) -> str:
        """Show the revision history, images, rollout phase, ready replicas and recent events."""
        from pipeline.deploy_container import DeployInputs

        return (await self._deploy_call(DeployInputs("status", env, kubeconfig, context)))[1]

    @function(cache="never")  # pyright: ignore[reportCallIssue, reportUntypedFunctionDecorator]
    async def diff(
        self,
        env: Annotated[str, Doc("Environment of pipeline.yaml")],
        kubeconfig: Kubeconfig = None,
        context: KubeContext = "",
        backend_image: BackendImage = "",
        frontend_image: FrontendImage = "",
        release_report: Annotated[
            dagger.File | None, Doc("release.json of the release function (the digests to compare)")
        ] = None,
    ) -> str:
        """Show what a deploy would change: a diff per object against the release's manifests."""
        from pipeline.deploy_container import DeployInputs

        inputs = DeployInputs(
            "diff",
            env,
            kubeconfig,
            context,
            backend_image=backend_image,
            frontend_image=frontend_image,
            release_report=release_report,
        )
        return (await self._deploy_call(inputs))[1]

    # ---- delivery metrics and preview environments ------------------------------------

    @function(cache="never")  # pyright: ignore[reportCallIssue, reportUntypedFunctionDecorator]
    async def metrics(
        self,
        env: Annotated[str, Doc("Environment of pipeline.yaml: dev, staging or prod")],
        kubeconfig: Annotated[
            dagger.Secret | None,
            Doc("Kubeconfig with read access to the environment's namespace (read-only is enough)"),
        ] = None,
        context: KubeContext = "",
        days: Annotated[int, Doc("Window: the last DAYS days")] = 30,
    ) -> str:
        """Delivery metrics of ENV from its deploy history, as a Markdown table and JSON.

        Deployment frequency, median lead time (commit to live), change failure rate and
        median time to restore, from the records every deploy, promote, abort and rollback
        keeps in the ConfigMap RELEASE-deploy-history (definitions: docs/deploy.md).
        """
        from pipeline.delivery import metrics_report

        return (
            await metrics_report(
                self.source, self.python_image, self.ca, env, kubeconfig, context, days
            )
        )[1]

    @function(cache="never")  # pyright: ignore[reportCallIssue, reportUntypedFunctionDecorator]
    async def preview(
        self,
        pr: Annotated[int, Doc("Pull request number: the preview lives in namespace pr-N")],
        kubeconfig: Annotated[
            dagger.Secret | None,
            Doc("Kubeconfig with the preview cluster's context (pipeline.yaml preview.cluster)"),
        ] = None,
        registry_username: Annotated[
            str, Doc("Registry user: build and push the images tagged pr-N-COMMIT")
        ] = "",
        registry_password: Annotated[
            dagger.Secret | None, Doc("Registry password or token, e.g. env://REGISTRY_TOKEN")
        ] = None,
        backend_image: Annotated[
            str, Doc("Deploy this backend REPO@sha256:DIGEST instead of building one")
        ] = "",
        frontend_image: Annotated[
            str, Doc("Deploy this frontend REPO@sha256:DIGEST instead of building one")
        ] = "",
        ttl: Annotated[str, Doc("Lifetime such as 72h or 3d (default: preview.ttl)")] = "",
        context: KubeContext = "",
    ) -> dagger.Directory:
        """Deploy pull request PR as its own preview environment at pr-N.DOMAIN, verified.

        Namespace pr-N with restricted Pod Security, the quota and limits of pipeline.yaml
        preview, its own Redis database, Elasticsearch index and JWT secret; the images are
        built and pushed tagged pr-N-COMMIT (needs --revision) unless given by digest.
        Returns the reports (deploy-pr-N.json/.md, preview-pr-N.json with the URL).
        """
        from pipeline.delivery import check_images, check_preview_call, preview_images, run_preview

        call = await check_preview_call(self.source, kubeconfig, context, "up", pr, ttl)
        images = {"backend": backend_image, "frontend": frontend_image}
        if check_images(images, bool(registry_username) and registry_password is not None):
            assert registry_password is not None
            images = await preview_images(
                await self._ctx(), pr, registry_username, registry_password
            )
        assert kubeconfig is not None  # checked by check_preview_call
        return (
            await run_preview(call, self.source, self.python_image, self.ca, kubeconfig, images)
        )[0]

    @function(cache="never")  # pyright: ignore[reportCallIssue, reportUntypedFunctionDecorator]
    async def preview_down(
        self,
        pr: Annotated[int, Doc("Pull request number whose preview namespace pr-N is removed")],
        kubeconfig: Annotated[
            dagger.Secret | None, Doc("Kubeconfig with the preview cluster's context")
        ] = None,
        context: KubeContext = "",
    ) -> str:
        """Remove the preview of pull request PR: namespace pr-N and nothing else."""
        from pipeline.delivery import check_preview_call, run_preview

        call = await check_preview_call(self.source, kubeconfig, context, "down", pr)
        assert kubeconfig is not None  # checked by check_preview_call
        return (await run_preview(call, self.source, self.python_image, self.ca, kubeconfig))[1]

    @function(cache="never")  # pyright: ignore[reportCallIssue, reportUntypedFunctionDecorator]
    async def preview_gc(
        self,
        kubeconfig: Annotated[
            dagger.Secret | None, Doc("Kubeconfig with the preview cluster's context")
        ] = None,
        context: KubeContext = "",
    ) -> str:
        """Remove the previews whose TTL has expired, and only those."""
        from pipeline.delivery import check_preview_call, run_preview

        call = await check_preview_call(self.source, kubeconfig, context, "gc")
        assert kubeconfig is not None  # checked by check_preview_call
        return (await run_preview(call, self.source, self.python_image, self.ca, kubeconfig))[1]


def _sign_inputs(
    username: str,
    password: dagger.Secret,
    cosign_key: dagger.Secret | None,
    cosign_password: dagger.Secret | None,
    oidc_token: dagger.Secret | None,
) -> "SignInputs":
    from pipeline.stages import SignInputs

    return SignInputs(username, password, cosign_key, cosign_password, oidc_token)
