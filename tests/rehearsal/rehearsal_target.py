"""The deploy target of one rehearsal environment: pipeline.yaml's, plus the overlay.

    python tests/rehearsal/rehearsal_target.py ENV URL > target.json

Everything comes from pipeline.yaml through the same `target_for` the Dagger function uses;
the rehearsal changes only the URL (a loopback port-forward) and appends the overlay
(overlays/ENV.yaml, each key listed in README.md) as `--set` values after the values file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = Path(__file__).resolve().parent / "overlays"
sys.path.insert(0, str(ROOT / "src"))

from pipeline.config import parse_config_text
from pipeline.deploy_targets import target_for


def overlay(env: str) -> dict[str, object]:
    data = yaml.safe_load((OVERLAYS / f"{env}.yaml").read_text()) or {}
    if not isinstance(data, dict):
        raise SystemExit(f"{OVERLAYS / env}.yaml: expected a mapping of --set paths to values")
    return data


def set_value(value: object) -> str:
    """A YAML scalar as Helm's --set writes it (booleans lowercase, "" stays empty)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def target_json(env: str, url: str) -> dict[str, object]:
    config = parse_config_text((ROOT / "pipeline.yaml").read_text())
    target = target_for(config, env).to_json()
    target["url"] = url
    target["extra_values"] = [f"{k}={set_value(v)}" for k, v in overlay(env).items()]
    return target


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: rehearsal_target.py ENV URL")
    json.dump(target_json(sys.argv[1], sys.argv[2]), sys.stdout, indent=2)
    print()
