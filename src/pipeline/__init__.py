"""Blog Creator Agent delivery pipeline, a Dagger module (main object: `Pipeline`).

`python -m pipeline validate|plan` is the offline command; see `pipeline.cli`.
"""

from pipeline.main import Pipeline

__all__ = ["Pipeline"]
