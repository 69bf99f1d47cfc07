"""Load test against a deployed environment: the Locust scenario, and the verdict from the
statistics Locust writes (`--csv`). Plain Python; `Pipeline.load_test` runs Locust in a
container, the same command runs on a laptop:

    locust -f locustfile.py --headless -u 20 -r 5 -t 1m -H https://staging.example.com --csv out/load
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict, dataclass

LOCUST_VERSION = "2.47.0"
TOKEN_PATH = "/run/secrets/load-token"
CSV_PREFIX = "/out/load"

LOCUSTFILE = f'''"""Visitors request each path of LOAD_PATHS; a bearer token is sent when mounted."""
import os

from locust import HttpUser, constant_throughput, task

PATHS = [p for p in os.environ.get("LOAD_PATHS", "/").split(",") if p]


class Visitor(HttpUser):
    wait_time = constant_throughput(1)

    def on_start(self):
        if os.path.exists("{TOKEN_PATH}"):
            with open("{TOKEN_PATH}") as f:
                self.client.headers["Authorization"] = "Bearer " + f.read().strip()

    @task
    def visit(self):
        for path in PATHS:
            self.client.get(path, name=path)
'''

_DURATION = re.compile(r"^\d+[smh]$")


class LoadTestError(ValueError):
    """Bad load-test arguments or unreadable Locust output."""


@dataclass(frozen=True)
class LoadSettings:
    url: str
    users: int
    spawn_rate: int
    duration: str
    paths: tuple[str, ...]
    max_error_rate: float
    max_p95_ms: float

    def validate(self) -> None:
        if not re.match(r"^https?://[^\s/]+", self.url):
            raise LoadTestError(f"--url {self.url!r} must be an http(s) URL")
        if not 1 <= self.users <= 10_000 or not 1 <= self.spawn_rate <= self.users:
            raise LoadTestError("--users must be 1..10000 and --spawn-rate 1..users")
        if not _DURATION.match(self.duration):
            raise LoadTestError(f"--duration {self.duration!r}: use e.g. 30s, 2m or 1h")
        if not self.paths or any(not p.startswith("/") or "," in p for p in self.paths):
            raise LoadTestError("--paths must be URL paths starting with '/', e.g. /api/health")
        if not 0 <= self.max_error_rate <= 1 or self.max_p95_ms <= 0:
            raise LoadTestError("--max-error-rate must be 0..1 and --max-p95-ms positive")

    def command(self) -> list[str]:
        return [
            "locust", "-f", "/load/locustfile.py", "--headless",
            "-u", str(self.users), "-r", str(self.spawn_rate), "-t", self.duration,
            "-H", self.url, "--csv", CSV_PREFIX, "--html", f"{CSV_PREFIX}.html", "--only-summary",
        ]  # fmt: skip


@dataclass(frozen=True)
class Endpoint:
    name: str
    requests: int
    failures: int
    median_ms: float
    p95_ms: float
    rps: float


@dataclass(frozen=True)
class LoadVerdict:
    passed: bool
    total: Endpoint
    endpoints: list[Endpoint]
    reasons: list[str]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    def to_markdown(self, settings: LoadSettings) -> str:
        lines = [
            f"## Load test of {settings.url}: {'PASSED' if self.passed else 'FAILED'}",
            "",
            (
                f"{settings.users} users, {settings.duration}; limits: error rate <= "
                f"{settings.max_error_rate:.2%}, p95 <= {settings.max_p95_ms:.0f} ms."
            ),
            "",
            "| Endpoint | Requests | Failures | Median ms | p95 ms | req/s |",
            "|---|---|---|---|---|---|",
        ]
        for e in [*self.endpoints, self.total]:
            lines.append(
                f"| {e.name} | {e.requests} | {e.failures} | {e.median_ms:.0f} | {e.p95_ms:.0f} | {e.rps:.1f} |"
            )
        lines.extend(["", *(f"- {r}" for r in self.reasons)])
        return "\n".join(lines) + "\n"


def _number(row: dict[str, str], key: str) -> float:
    value = row.get(key, "").strip()
    try:
        return float(value) if value not in ("", "N/A") else 0.0
    except ValueError:
        raise LoadTestError(
            f"Locust statistics: column {key!r} is not a number: {value!r}"
        ) from None


def parse_stats(text: str) -> tuple[Endpoint, list[Endpoint]]:
    """(aggregated, per endpoint) from Locust's `<prefix>_stats.csv`."""
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or "Request Count" not in rows[0]:
        raise LoadTestError("Locust statistics are missing or not in Locust's CSV format")
    endpoints: list[Endpoint] = []
    total: Endpoint | None = None
    for row in rows:
        endpoint = Endpoint(
            name=row.get("Name", "?"),
            requests=int(_number(row, "Request Count")),
            failures=int(_number(row, "Failure Count")),
            median_ms=_number(row, "Median Response Time"),
            p95_ms=_number(row, "95%"),
            rps=_number(row, "Requests/s"),
        )
        if endpoint.name == "Aggregated":
            total = endpoint
        else:
            endpoints.append(endpoint)
    if total is None:
        raise LoadTestError("Locust statistics have no 'Aggregated' row")
    return total, endpoints


def judge(text: str, settings: LoadSettings) -> LoadVerdict:
    total, endpoints = parse_stats(text)
    reasons: list[str] = []
    if total.requests == 0:
        reasons.append("no request was made: is the URL reachable?")
    else:
        rate = total.failures / total.requests
        if rate > settings.max_error_rate:
            reasons.append(f"error rate {rate:.2%} is above {settings.max_error_rate:.2%}")
        if total.p95_ms > settings.max_p95_ms:
            reasons.append(f"p95 {total.p95_ms:.0f} ms is above {settings.max_p95_ms:.0f} ms")
    return LoadVerdict(not reasons, total, endpoints, reasons or ["within limits"])
