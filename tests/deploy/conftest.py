"""Fixtures for the deploy tests.

`deploy_fakes.FakeCluster` is a recording fake of `ClusterTools` (helm/kubectl/rollouts/cosign
+ HTTP). It stands in ONLY for the Kubernetes API server, which cannot run on these machines:
it lets the unit tests drive the orchestrator's decisions (gates, strategy, verification
outcomes, rollback, timings). The real `SubprocessClusterTools` runs against real helm in
test_real_tools.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

from deploy_fakes import FakeClock, FakeCluster


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cluster(clock: FakeClock) -> FakeCluster:
    return FakeCluster(clock)
