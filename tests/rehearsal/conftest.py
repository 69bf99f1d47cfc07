"""tests/rehearsal: the deploy runtime (src/) and the rehearsal helpers importable."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
