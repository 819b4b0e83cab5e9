"""Shared pieces of the long-term store tests: the reference store, a deterministic embedding, result shapes."""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from langgraph.store.base import Item, Op, PutOp
from langgraph.store.memory import InMemoryStore

LABELS = ("users", "u1", "u2", "docs", "a", "b")
KEYS = ("k1", "k2", "k3", "k4", "prefs")
WORDS = ("python", "redis", "cats", "dogs", "music", "tea", "coffee", "rust", "jazz", "maps")


class Reference(InMemoryStore):
    """``InMemoryStore``, minus what is an accident of its dict: a namespace without items is dropped.

    (Its ``get`` of a missing namespace creates an empty one — which a later read of the same batch
    then lists — and a namespace whose items are all deleted stays listed; the stores that persist
    data list a namespace only while it has items.) Reads of a batch are therefore run one by one.
    """

    def batch(self, ops: Iterable[Op]) -> list[Any]:
        ops = list(ops)
        if any(isinstance(op, PutOp) for op in ops):
            results = self._pruned(ops)
        else:
            results = [self._pruned([op])[0] for op in ops]
        return results

    def _pruned(self, ops: list[Op]) -> list[Any]:
        results = super().batch(ops)
        for namespace in [ns for ns, items in self._data.items() if not items]:
            del self._data[namespace]
        return results


def word_vector(text: str, dims: int = 16) -> list[float]:
    """A deterministic embedding whose components are exact in float32 (small multiples of 1/8).

    Texts sharing words share directions, so rankings mean something; no two different texts
    of the tests get the same vector.
    """
    vector = [0.0] * dims
    for word in text.lower().replace('"', " ").replace(",", " ").split():
        h = hashlib.sha256(word.encode()).digest()
        for i in range(dims):
            vector[i] += (h[i] % 17 - 8) / 8.0
    if not any(vector):
        vector[0] = 1.0
    return vector


def embed(texts: list[str]) -> list[list[float]]:
    return [word_vector(t) for t in texts]


def shape(result: Any) -> Any:
    """A result without timestamps (and scores rounded), for comparing two stores."""
    if isinstance(result, Item):
        score = getattr(result, "score", None)
        return (result.namespace, result.key, result.value, None if score is None else round(score, 5))
    if isinstance(result, list):
        return [shape(r) for r in result]
    return result


def same_ranking(ours: list[Any], theirs: list[Any]) -> None:
    assert [(i.namespace, i.key) for i in ours] == [(i.namespace, i.key) for i in theirs]
    for a, b in zip(ours, theirs, strict=True):
        if a.score is None or b.score is None:
            assert a.score is b.score
        else:
            assert math.isclose(a.score, b.score, abs_tol=1e-5), (a, b)
        assert a.value == b.value


@pytest.fixture()
def prefix(request: pytest.FixtureRequest) -> Iterator[str]:
    """A key prefix no other test uses; its keys are deleted afterwards (on every primary)."""
    name = f"t{uuid.uuid4().hex[:10]}:"
    yield name
    clients = [request.getfixturevalue(f) for f in ("any_client",) if f in request.fixturenames]
    for client in clients:
        keys = list(client.scan_iter(match=f"{name}*"))
        for key in keys:
            client.delete(key)
