"""Session fixtures: a real backend process and a registered user (see hostile_support.py)."""

import sys
from pathlib import Path

# The repository runs pytest with --import-mode=importlib: make the helper module importable.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from hostile_support import backend, user  # noqa: F401 - pytest fixtures
