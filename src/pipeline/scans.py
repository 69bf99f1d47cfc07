"""The Trivy scans of `scan`: which scans run, on what, with which command, writing which file.

Plain Python (no `dagger` import), like `lint_steps`: stages.py mounts what each job names
and runs its commands; the same commands run under plain Docker with Trivy installed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

ScanKind = Literal["image", "config", "secrets"]
SCAN_KINDS: tuple[ScanKind, ...] = ("image", "config", "secrets")
OUT = "/out"
SRC = "/src"
OFFLINE_CACHE = "/trivy-offline"  # TRIVY_CACHE_DIR with the given DB at <it>/db
# what the config scan reads: the Dockerfiles and the chart, values and cluster add-ons
CONFIG_INCLUDE = ("dockerfiles/**", "k8s/**")
_JSON_OUT = ("--format", "json", "--exit-code", "0", "--output")


def image_tar(app: str) -> str:
    return f"/images/{app}.tar"


@dataclass(frozen=True)
class ScanJob:
    """One Trivy run; its JSON report at OUT/<stem>.json, converted to OUT/<stem>.sarif."""

    stem: str
    label: str  # the source named in findings: "image backend", "config", "secrets"
    kind: ScanKind
    args: tuple[str, ...]
    app: str | None = None  # image scans: the image (mounted as an OCI tarball)
    # repository files mounted at SRC: None = none, () = all, else these globs
    source_include: tuple[str, ...] | None = None

    @property
    def report(self) -> str:
        return f"{OUT}/{self.stem}.json"

    @property
    def sarif(self) -> str:
        return f"{OUT}/{self.stem}.sarif"

    def convert_args(self) -> tuple[str, ...]:
        return ("trivy", "convert", "--format", "sarif", "--output", self.sarif, self.report)


# With a pre-fetched vulnerability DB (air-gapped): nothing is downloaded. Image scans use the
# given DB and skip the Java DB.
OFFLINE_IMAGE_FLAGS = ("--skip-db-update", "--skip-java-db-update", "--offline-scan")
# The config scan always uses the checks built into the pinned Trivy: no checks-bundle download
# is attempted (it would fail or stall where ghcr.io is unreachable), and the same Trivy version
# always applies the same checks.
CONFIG_FLAGS = ("--skip-check-update",)


def scan_jobs(apps: Iterable[str], offline: bool = False) -> list[ScanJob]:
    """Vulnerabilities of each image, misconfigurations of dockerfiles/ and k8s/, secrets."""
    image_flags = OFFLINE_IMAGE_FLAGS if offline else ()
    jobs: list[ScanJob] = []
    for app in apps:
        stem = f"image-{app}"
        jobs.append(
            ScanJob(
                stem=stem,
                label=f"image {app}",
                kind="image",
                app=app,
                args=(
                    "trivy",
                    "image",
                    "--scanners",
                    "vuln",
                    "--input",
                    image_tar(app),
                    *image_flags,
                    *_JSON_OUT,
                    f"{OUT}/{stem}.json",
                ),
            )
        )
    jobs.append(
        ScanJob(
            stem="config",
            label="config",
            kind="config",
            args=("trivy", "config", *CONFIG_FLAGS, *_JSON_OUT, f"{OUT}/config.json", SRC),
            source_include=CONFIG_INCLUDE,
        )
    )
    jobs.append(
        ScanJob(
            stem="secrets",
            label="secrets",
            kind="secrets",
            args=("trivy", "fs", "--scanners", "secret", *_JSON_OUT, f"{OUT}/secrets.json", SRC),
            source_include=(),
        )
    )
    return jobs
