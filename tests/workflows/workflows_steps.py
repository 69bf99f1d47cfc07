"""Run one `run:` step of a workflow the way the runner does, and record every process it
starts.

`run_step()` writes the step's script to a file and runs it with `bash -e` (the runner's
command line for a step without `shell:`) from the repository root, with the step's env:
(values given by the test: the `${{ }}` expressions are the runner's), RUNNER_TEMP, and empty
GITHUB_ENV / GITHUB_OUTPUT files, all under `strace -f -e trace=execve`, so a test sees the
argument list of every process the script started (what /proc/PID/cmdline shows to every
other process on a runner).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workflows_dagger_calls import REPO, load_workflows


@dataclass(frozen=True)
class StepRun:
    """What one step did: exit code, output, processes started, what it exported."""

    returncode: int
    stdout: str
    stderr: str
    # strace's execve lines (interleaved processes may split one over two lines): the path
    # and argument list of every process started; environments show as /* N vars */ only.
    trace: str
    github_env: str
    github_output: str
    runner_temp: Path


def find_step(workflow: str, job: str, name_prefix: str) -> dict[str, Any]:
    """The step of `job` in .github/workflows/`workflow` whose name starts with name_prefix."""
    steps = load_workflows()[workflow]["jobs"][job]["steps"]
    found = [s for s in steps if str(s.get("name", "")).startswith(name_prefix)]
    if len(found) != 1:
        names = [s.get("name") for s in steps]
        raise LookupError(f"{workflow}: job {job}: one step named {name_prefix!r}… in {names}")
    return found[0]


def run_step(
    step: Mapping[str, Any],
    strace: str,
    work: Path,
    env: Mapping[str, str] | None = None,
    path_dirs: Sequence[Path] = (),
    runner_temp: Path | None = None,
) -> StepRun:
    """Run the step's `run:` script; `env` gives a value to every key of the step's env:."""
    given = dict(env or {})
    missing = sorted(set(step.get("env") or {}) - set(given))
    if missing:
        raise KeyError(f"step {step.get('name')!r}: give a value to its env {missing}")
    work.mkdir(parents=True, exist_ok=True)
    temp = runner_temp or work / "runner-temp"
    temp.mkdir(exist_ok=True)
    script = work / "step.sh"
    script.write_text(str(step["run"]), encoding="utf-8")
    github_env, github_output, trace = work / "github_env", work / "github_output", work / "trace"
    github_env.write_text("")
    github_output.write_text("")
    base = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    full_env = {
        **base,
        **given,
        "PATH": os.pathsep.join([*map(str, path_dirs), base.get("PATH", "")]),
        "RUNNER_TEMP": str(temp),
        "GITHUB_ENV": str(github_env),
        "GITHUB_OUTPUT": str(github_output),
        # Test servers listen on loopback; no proxy may stand in for them.
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    result = subprocess.run(
        [strace, "-f", "-qq", "-e", "trace=execve", "-s", "100000", "-o", str(trace)]
        + ["bash", "-e", str(script)],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return StepRun(
        result.returncode,
        result.stdout,
        result.stderr,
        trace.read_text(),
        github_env.read_text(),
        github_output.read_text(),
        temp,
    )


def executables(run: StepRun) -> list[str]:
    """Names of the programs the step started, in order (from the execve lines)."""
    return [Path(p).name for p in re.findall(r'execve\("([^"]+)"', run.trace)]
