"""Exactly once under faults, for every client kind: each call that returned is stored once, each that
raised at most once (and not at all unless it said WriteUnconfirmed), and nothing else is stored.

Each run writes for a few seconds under one fault (see scenarios.py); ``benchmarks/chaos.py`` runs
the same scenarios longer and prints the counts.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from memstore_nb.local import LocalRedisCluster

from .ledger import Tally
from .scenarios import (
    CLUSTER_KINDS,
    STANDALONE_KINDS,
    STANDALONE_SCENARIOS,
    cluster_primary_faults,
    start_fault_cluster,
)

pytestmark = pytest.mark.reliability

SECONDS = 3.0  # of writing under each standalone fault
CLUSTER_SECONDS = 5.0  # at least one kill and one pause with their failovers (~12 s)


def check(result: Tally) -> None:
    assert result.problems() == [], result
    assert result.faults > 0, "no fault was injected"
    assert result.acknowledged > 0, result
    # Every acknowledged call is stored, nothing twice: stored counts each call at most once.
    assert result.acknowledged <= result.stored <= result.calls


@pytest.mark.parametrize("kind", list(STANDALONE_KINDS))
@pytest.mark.parametrize("scenario", list(STANDALONE_SCENARIOS))
def test_standalone_fault(scenario: str, kind: str) -> None:
    check(STANDALONE_SCENARIOS[scenario](kind, SECONDS))


@pytest.fixture(scope="module")
def fault_cluster() -> Iterator[LocalRedisCluster]:
    """A cluster of its own (3 primaries, 3 replicas): its primaries get killed and paused."""
    with start_fault_cluster() as cluster:
        yield cluster


@pytest.mark.parametrize("kind", list(CLUSTER_KINDS))
def test_cluster_primary_killed_and_paused(fault_cluster: LocalRedisCluster, kind: str) -> None:
    result = cluster_primary_faults(fault_cluster, kind, CLUSTER_SECONDS)
    check(result)
    assert result.faults >= 2
