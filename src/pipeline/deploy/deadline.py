"""How long a rollout may take: the environment's timeout plus the time its strategy waits on purpose.

A canary pauses between weight steps and a blue-green rollout runs its pre-promotion analysis
before it can be healthy; those waits come from the chart values (k8s/environments/*.yaml),
not from pipeline.yaml. One fixed timeout for the whole wait either cuts a long canary short
(prod: 17 minutes of pauses against 600 s — every deploy rolled back) or makes a short one wait
forever to fail. So the deadline follows what was applied: `timeout_seconds` covers starting pods
and becoming ready, and each planned wait of the applied Rollout is added on top.

`planned_wait_seconds` is pure (Rollout and AnalysisTemplate objects in, seconds out);
`rollout_deadline` reads those objects through the ClusterTools port. Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import cast

from .kube import ROLLOUT_KIND, as_dict, as_list, get, list_items, parse_json, release_items
from .request import DeployTarget
from .tools import ClusterTools

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
TEMPLATE_KIND = "analysistemplates.argoproj.io"


def duration_seconds(value: object) -> float:
    """Argo Rollouts duration ("30s", "2m", "1h", "1h30m", or integer seconds) in seconds."""
    if isinstance(value, bool):
        raise ValueError(f"duration {value!r}: not a duration")  # noqa: TRY004 (bad input, one error type)
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    total, rest = 0.0, text
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text):
        total += float(number) * _UNIT[unit]
        rest = rest.replace(f"{number}{unit}", "", 1)
    if rest:
        match = _DURATION.match(rest)
        if not match or match.group(2):
            raise ValueError(f"duration {value!r}: expected e.g. 30s, 2m, 1h")
        total += float(match.group(1))
    return total


def analysis_seconds(template: object) -> float:
    """Longest metric of an AnalysisTemplate: initialDelay + interval x count (job: its deadline)."""
    longest = 0.0
    for metric in as_list(as_dict(as_dict(template).get("spec")).get("metrics")):
        m = as_dict(metric)
        job = as_dict(as_dict(m.get("provider")).get("job"))
        if job:
            limit = as_dict(job.get("spec")).get("activeDeadlineSeconds")
            seconds = float(limit) if isinstance(limit, int | float) else 0.0
        else:
            count = m.get("count", 1)
            interval = duration_seconds(m.get("interval", 0)) if m.get("interval") else 0.0
            seconds = interval * float(count if isinstance(count, int) else 1)
        seconds += duration_seconds(m["initialDelay"]) if m.get("initialDelay") else 0.0
        longest = max(longest, seconds)
    return longest


def _templates_seconds(analysis: object, templates: Mapping[str, object]) -> float:
    names = [as_dict(t).get("templateName") for t in as_list(as_dict(analysis).get("templates"))]
    return max((analysis_seconds(templates.get(str(n), {})) for n in names), default=0.0)


def planned_wait_seconds(rollout: object, templates: Mapping[str, object]) -> float:
    """Seconds a Rollout waits on purpose before it can be healthy.

    canary: every timed `pause` plus every inline `analysis` step (a pause without a duration
    waits for `promote`: the watch reports it, it does not count against the deadline; the
    background analysis runs alongside the steps). blueGreen: the pre- and post-promotion
    analyses. Deployments (rolling) wait for nothing.
    """
    strategy = as_dict(as_dict(as_dict(rollout).get("spec")).get("strategy"))
    canary = as_dict(strategy.get("canary"))
    total = 0.0
    for step in as_list(canary.get("steps")):
        s = as_dict(step)
        pause = s.get("pause")
        if isinstance(pause, dict) and "duration" in pause:
            total += duration_seconds(cast(dict[str, object], pause)["duration"])
        if "analysis" in s:
            total += _templates_seconds(s["analysis"], templates)
    blue_green = as_dict(strategy.get("blueGreen"))
    for phase in ("prePromotionAnalysis", "postPromotionAnalysis"):
        if phase in blue_green:
            total += _templates_seconds(blue_green[phase], templates)
    return total


def deadline_seconds(
    timeout_s: float, rollouts: Sequence[object], templates: Mapping[str, object]
) -> float:
    """The rollout wait's deadline: the timeout plus the longest planned wait of the Rollouts
    (they progress in parallel)."""
    return timeout_s + max((planned_wait_seconds(r, templates) for r in rollouts), default=0.0)


def rollout_deadline(
    tools: ClusterTools, target: DeployTarget, names: Sequence[str], timeout_s: float
) -> float:
    """`deadline_seconds` for the applied Rollouts `names`, read from the cluster (two reads:
    the release's Rollouts and the namespace's AnalysisTemplates).

    What cannot be read adds nothing: the wait itself reports missing Rollouts.
    """
    items, _ = release_items(tools, target, ROLLOUT_KIND)
    rollouts = [i for i in items if as_dict(i.get("metadata")).get("name") in names]
    done = get(tools, [TEMPLATE_KIND, "--namespace", target.namespace])
    templates: dict[str, object] = {}
    if done.ok:
        for item in list_items(parse_json(done.stdout, "kubectl get analysistemplates")):
            templates[str(as_dict(item.get("metadata")).get("name"))] = item
    return deadline_seconds(timeout_s, rollouts, templates)
