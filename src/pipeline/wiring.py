"""How the apps find each other when the pipeline runs them: backing services, env variables.

Plain Python (no `dagger` import). `test`, the integration smoke test and `serve` all start
the stack from these decisions, so each one wires the same host names, ports and URLs; the
Dagger side (containers.py) only turns them into services and bindings.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config import PipelineConfig

REDIS_PORT = 6379
ELASTICSEARCH_PORT = 9200


@dataclass(frozen=True)
class BackingService:
    """A service the backend uses, reached at http(s)://<alias>:<port>."""

    alias: str
    image: str
    port: int
    env: tuple[tuple[str, str], ...]
    url_variable: str  # the backend setting that points at it
    url: str


def redis(config: PipelineConfig) -> BackingService:
    return BackingService(
        alias="redis",
        image=config.tools.redis,
        port=REDIS_PORT,
        env=(),
        url_variable="REDIS_URL",
        url=f"redis://redis:{REDIS_PORT}/0",
    )


def elasticsearch(config: PipelineConfig) -> BackingService:
    return BackingService(
        alias="elasticsearch",
        image=config.tools.elasticsearch,
        port=ELASTICSEARCH_PORT,
        env=(
            ("discovery.type", "single-node"),
            ("xpack.security.enabled", "false"),
            ("ES_JAVA_OPTS", "-Xms512m -Xmx512m"),
        ),
        url_variable="ELASTICSEARCH_URL",
        url=f"http://elasticsearch:{ELASTICSEARCH_PORT}",
    )


def backing_services(config: PipelineConfig, with_elasticsearch: bool) -> list[BackingService]:
    """Redis always; Elasticsearch only when asked (the backend runs without search)."""
    services = [redis(config)]
    if with_elasticsearch:
        services.append(elasticsearch(config))
    return services


def backend_env(services: list[BackingService]) -> dict[str, str]:
    """Variables that point the backend at its services."""
    return {service.url_variable: service.url for service in services}


def frontend_env(config: PipelineConfig) -> dict[str, str]:
    """The frontend reads the backend URL at run time (never baked into the image)."""
    return {"API_URL": f"http://backend:{config.apps.backend.port}"}


@dataclass(frozen=True)
class Stack:
    """The whole app as `serve` and the smoke test start it."""

    services: list[BackingService]
    app_env: str  # the backend's APP_ENV
    frontend_env: dict[str, str]
    backend_port: int
    frontend_port: int


def stack(config: PipelineConfig, with_elasticsearch: bool) -> Stack:
    services = backing_services(config, with_elasticsearch)
    return Stack(
        services=services,
        app_env="development",
        frontend_env=frontend_env(config),
        backend_port=config.apps.backend.port,
        frontend_port=config.apps.frontend.port,
    )
