from __future__ import annotations

from app.generation.base import GenerationProvider
from app.generation.extractive import ExtractiveProvider
from app.generation.openai import OpenAIProvider
from app.settings import Settings


def make_provider(settings: Settings) -> GenerationProvider:
    if settings.generation_provider == "openai":
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        return OpenAIProvider(
            settings.openai_base_url,
            key,
            settings.openai_model,
            settings.openai_timeout_seconds,
            settings.openai_max_retries,
            settings.openai_backoff_seconds,
        )
    return ExtractiveProvider()
