"""tests/rehearsal: the deploy runtime (src/) and the rehearsal helpers importable."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for path in (HERE.parents[1] / "src", HERE):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
