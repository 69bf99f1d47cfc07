"""Runtime configuration from environment variables (and `.env` in development)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_JWT_SECRET = "dev-insecure-jwt-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    app_env: Literal["development", "test", "production"] = "development"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    jwt_secret: SecretStr = SecretStr(DEFAULT_JWT_SECRET)
    access_token_ttl_seconds: int = Field(900, ge=30, le=86_400)
    refresh_token_ttl_seconds: int = Field(14 * 86_400, ge=60, le=90 * 86_400)

    database_path: str = "./data/blog.sqlite3"
    redis_url: str | None = None
    elasticsearch_url: str | None = None
    elasticsearch_index: str = Field("blog-chunks", pattern=r"^[a-z0-9][a-z0-9._-]*$")
    elasticsearch_api_key: SecretStr | None = None
    # PEM bundle of the CA that signed the cluster's certificate (ECK serves a self-signed one);
    # unset: certifi's public CAs (the client's default).
    elasticsearch_ca_certs: str | None = None
    # Applied when the adapter creates the index; an existing index keeps its own settings.
    elasticsearch_analyzer: str = Field("standard", pattern=r"^[A-Za-z0-9_-]+$")
    elasticsearch_replicas: int = Field(0, ge=0, le=10)
    # Unset keeps Elasticsearch's default (1s, skipped while the shard is search-idle).
    elasticsearch_refresh_interval: str | None = Field(None, pattern=r"^[1-9][0-9]*(ms|s|m)$")

    cors_origins: Annotated[list[str], NoDecode] = []
    hsts_enabled: bool = False
    max_upload_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    chunk_size_chars: int = Field(800, ge=200, le=8000)

    generation_provider: Literal["extractive", "openai"] = "extractive"
    openai_base_url: str = "https://api.openai.com/v1"
    openai_api_key: SecretStr | None = None
    openai_model: str = "gpt-4o-mini"
    openai_timeout_seconds: float = Field(30.0, gt=0, le=600)
    openai_max_retries: int = Field(2, ge=0, le=10)
    openai_backoff_seconds: float = Field(0.5, ge=0, le=30)

    rate_limit_enabled: bool = True
    rate_limit_window_seconds: int = Field(60, ge=1, le=3600)
    rate_limit_auth_requests: int = Field(20, ge=1)
    rate_limit_generate_requests: int = Field(30, ge=1)

    shutdown_delay_seconds: float = Field(0.0, ge=0, le=120)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("redis_url", "elasticsearch_url", "elasticsearch_ca_certs", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("elasticsearch_url", "openai_base_url")
    @classmethod
    def _http_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("elasticsearch_ca_certs")
    @classmethod
    def _readable_pem_bundle(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        url = info.data.get("elasticsearch_url")
        if not url or not url.startswith("https://"):
            raise ValueError(f"a CA bundle is only used with an https:// ELASTICSEARCH_URL (it is {url or 'unset'})")
        path = Path(value)
        try:
            text = path.read_text(encoding="ascii", errors="replace")
        except FileNotFoundError:
            raise ValueError(f"{value} does not exist: point it at the PEM file of the cluster's CA") from None
        except OSError as error:
            raise ValueError(f"{value} cannot be read: {error.strerror or error}") from None
        if "-----BEGIN CERTIFICATE-----" not in text:
            raise ValueError(f"{value} holds no PEM certificate ('-----BEGIN CERTIFICATE-----')")
        return str(path.resolve())

    @model_validator(mode="after")
    def _production_secret(self) -> Settings:
        if self.app_env == "production":
            secret = self.jwt_secret.get_secret_value()
            if secret == DEFAULT_JWT_SECRET or len(secret) < 32:
                raise ValueError(
                    "JWT_SECRET must be set to a random value of at least 32 characters "
                    "when APP_ENV=production (for example: openssl rand -hex 32)"
                )
        return self


def describe_error(error: ValidationError) -> str:
    """One readable line per invalid variable, naming the environment variable."""
    lines = []
    for item in error.errors():
        name = "_".join(str(part) for part in item["loc"]).upper() or "JWT_SECRET"
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"invalid setting {name}: {message}")
    return "configuration error: " + "; ".join(lines)


@lru_cache
def get_settings() -> Settings:
    return Settings()  # pyright: ignore[reportCallIssue]  # fields come from the environment
