"""Run compose.yaml with whichever Compose CLI is installed (v2 plugin or docker-compose 1.29)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import yaml
from images_docker import DOCKER, REPO


def compose_cli() -> list[str]:
    if os.environ.get("COMPOSE"):
        return os.environ["COMPOSE"].split()
    if subprocess.run([DOCKER, "compose", "version"], capture_output=True, check=False).returncode == 0:
        return [DOCKER, "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise AssertionError("no Compose CLI: install Debian's docker-compose (scripts/docker-setup.sh)")


def compose(files: list[Path], project: str, *args: str, env: dict[str, str] | None = None,
            check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    cmd = [*compose_cli(), "--project-directory", str(REPO), "-p", project]
    for f in files:
        cmd += ["-f", str(f)]
    proc = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=timeout, cwd=REPO, check=False,
                          env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd + list(args))} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def without_elasticsearch(compose_file: Path, out: Path) -> Path:
    """compose.yaml minus the elasticsearch service: its image cannot be pulled on this machine
    (no registry reachable). The backend then uses its built-in search (ELASTICSEARCH_URL="")."""
    doc = yaml.safe_load(compose_file.read_text())
    doc["services"].pop("elasticsearch")
    doc["volumes"].pop("es-data", None)
    backend = doc["services"]["backend"]
    backend["depends_on"].pop("elasticsearch")
    backend["environment"]["ELASTICSEARCH_URL"] = ""
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    return out
