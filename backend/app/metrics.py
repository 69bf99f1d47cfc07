"""Prometheus metrics (process-wide registry)."""

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter("http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
IN_FLIGHT = Gauge("http_requests_in_progress", "HTTP requests being served")
GENERATION = Histogram(
    "draft_generation_duration_seconds",
    "Draft generation time",
    ["provider", "outcome"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
DEPENDENCY_ERRORS = Counter("dependency_errors_total", "Failed calls to a dependency", ["dependency"])
