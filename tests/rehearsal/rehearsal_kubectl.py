"""kubectl reads of the rehearsal's background scripts (judge, Prometheus sync, front doors).

They poll while the cluster changes under them (not installed yet, API server slow, an object
replaced), so an unreadable answer is `{}`, never an exception: the next poll tries again.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any


def get_json(kubeconfig: str, *args: str, timeout: float = 30) -> dict[str, Any]:
    """`kubectl --kubeconfig KUBECONFIG ARGS -o json` as a dict; {} when it cannot be read."""
    try:
        done = subprocess.run(
            ["kubectl", "--kubeconfig", kubeconfig, *args, "-o", "json"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return json.loads(done.stdout) if done.returncode == 0 else {}
    except (subprocess.TimeoutExpired, ValueError):
        return {}
