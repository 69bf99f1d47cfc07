"""Judging a drill from outside: which digest serves, when it changed, what the analysis said.

    python tests/rehearsal/rehearsal_judge.py serving KUBECONFIG NAMESPACE SERVICE
        the image digests of the pods behind the Service's ready endpoints, one per line
    python tests/rehearsal/rehearsal_judge.py watch KUBECONFIG NAMESPACE SERVICE OUT MAX_SECONDS
        every second: "<epoch> <digest>,<digest>..." of the ready endpoints (stop: touch OUT.stop)
    python tests/rehearsal/rehearsal_judge.py window OUT DIGEST
        "<start> <end>": when DIGEST first served and when it stopped serving (exit 1: never)
    python tests/rehearsal/rehearsal_judge.py analysis ROLLOUTS_AND_RUNS.yaml [SINCE_EPOCH]
        each AnalysisRun (created since SINCE_EPOCH): phase, per metric its phase and values

Reads only the API server (kubectl) and files the rehearsal wrote; sends no traffic.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path

import yaml
from rehearsal_kubectl import get_json


def serving(kubeconfig: str, namespace: str, service: str) -> list[str]:
    """Digests (sha256:...) of the pods the Service sends traffic to now (ready endpoints)."""
    eps = get_json(kubeconfig, "-n", namespace, "get", "endpoints", service)
    names = {
        a.get("targetRef", {}).get("name")
        for s in eps.get("subsets", [])
        for a in s.get("addresses", [])
    }
    pods = get_json(kubeconfig, "-n", namespace, "get", "pods").get("items", [])
    digests = set()
    for pod in pods:
        if pod["metadata"]["name"] in names:
            for c in pod.get("status", {}).get("containerStatuses", []):
                digests.add(c.get("imageID", "").rpartition("@")[2] or "?")
    return sorted(digests)


def watch(kubeconfig: str, namespace: str, service: str, out: Path, max_s: float) -> None:
    stop, end = Path(f"{out}.stop"), time.monotonic() + max_s
    with out.open("w") as f:
        while time.monotonic() < end and not stop.exists():
            t = time.time()
            f.write(f"{t:.3f} {','.join(serving(kubeconfig, namespace, service)) or '-'}\n")
            f.flush()
            time.sleep(max(0.0, 1.0 - (time.time() - t)))


def window(out: Path, digest: str) -> tuple[float, float] | None:
    """(start, end) that surely contains DIGEST's time behind the Service: from the last poll
    before it was seen to the first poll after it left (each bound within one poll period)."""
    polls = [(float(t), ds.split(",")) for t, _, ds in (x.partition(" ") for x in out.read_text().splitlines())]
    start = end = None
    previous = None
    for t, digests in polls:
        if digest in digests:
            start = start if start is not None else (previous if previous is not None else t)
        elif start is not None and end is None:
            end = t
        previous = t
    if start is None:
        return None
    return start, end if end is not None else polls[-1][0]


def analysis(path: Path, since: float = 0.0) -> str:
    docs = yaml.safe_load(path.read_text()) or {}
    lines = []
    for item in docs.get("items", []):
        created = item.get("metadata", {}).get("creationTimestamp", "1970-01-01T00:00:00Z")
        when = datetime.fromisoformat(created).timestamp()
        if item.get("kind") != "AnalysisRun" or when < since:
            continue
        status = item.get("status", {})
        lines.append(f"{item['metadata']['name']}: {status.get('phase', '?')} {status.get('message', '')}".rstrip())
        for m in status.get("metricResults", []):
            values = [x.get("value", x.get("phase", "?")) for x in m.get("measurements", [])]
            lines.append(f"  {m.get('name')}: {m.get('phase')} {values}")
    return "\n".join(lines) or "no AnalysisRun" + (" since the deploy began" if since else "")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "serving":
        print("\n".join(serving(*args)))
    elif cmd == "watch":
        watch(args[0], args[1], args[2], Path(args[3]), float(args[4]))
    elif cmd == "window":
        found = window(Path(args[0]), args[1])
        if found is None:
            raise SystemExit(f"{args[1]} never served")
        print(f"{found[0]:.3f} {found[1]:.3f}")
    elif cmd == "analysis":
        print(analysis(Path(args[0]), float(args[1]) if len(args) > 1 else 0.0))
    else:
        raise SystemExit("usage: rehearsal_judge.py serving|watch|window|analysis ...")
