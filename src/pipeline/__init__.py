"""Blog Creator Agent delivery pipeline, a Dagger module (main object: `Pipeline`).

`Pipeline` is loaded on first access, so `python -m pipeline validate|plan` (the offline
command, see `pipeline.cli`) runs without importing the Dagger SDK.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.main import Pipeline

__all__ = ["Pipeline"]


def __getattr__(name: str) -> Any:
    if name == "Pipeline":
        from pipeline.main import Pipeline

        return Pipeline
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
