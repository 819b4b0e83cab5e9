"""The long-term store's pure parts: key names (one slot per namespace, whatever the labels), TTL units, filters."""

from __future__ import annotations

import pytest
from redis.cluster import key_slot

from memstore_nb.errors import ArgumentError
from memstore_nb.longterm.filters import check_filter, matches
from memstore_nb.longterm.layout import NamespaceKeys, Registry, parse_vector_key, ttl_millis

ODD = [("users", "42"), ("a{b}", "c%7D"), ("}{", "%"), ("ü", "日本"), ("x y", ":")]


@pytest.mark.parametrize("namespace", ODD, ids=repr)
def test_a_namespace_is_one_slot_and_its_vector_keys_parse_back(namespace: tuple[str, ...]) -> None:
    keys = NamespaceKeys(namespace, "app:")
    names = [*keys.all(), keys.item("k{1}"), keys.vector(3, "k:}x")]
    assert len({key_slot(name.encode()) for name in names}) == 1
    assert parse_vector_key(keys.vector(3, "k:}x"), "app:") == (namespace, "k:}x")
    other = NamespaceKeys(("users", "43"), "app:")
    assert other.order != keys.order


def test_names_that_are_not_vector_keys() -> None:
    for name in ("app:ltm:{a}:z", "app:ltmv:{a}:x:k", "other:ltmv:{a}:1:k", "app:ltmv:{a"):
        assert parse_vector_key(name, "app:") is None


def test_registry_ranges_find_a_prefix_and_its_children_only() -> None:
    assert Registry.ranges(()) == [("-", "+")]
    assert Registry.ranges(("a", "b")) == [("[a.b", "[a.b"), ("(a.b.", "(a.b/")]


def test_ttl_minutes_to_milliseconds() -> None:
    assert ttl_millis(1) == 60_000
    assert ttl_millis(0.5) == 30_000
    for bad in (0, -1, True, "1", float("nan"), 1e30):
        with pytest.raises(ArgumentError):
            ttl_millis(bad)


def test_filters_as_langgraph_defines_them() -> None:
    value = {"n": 5, "tag": "red", "meta": {"level": 2, "tags": ["x", "y"]}, "s": "7"}
    assert matches(value, {"tag": "red", "n": {"$gte": 5, "$lt": 6}})
    assert matches(value, {"meta": {"level": 2}, "s": {"$gt": 6}})  # "7" compares as a number, as InMemoryStore
    assert matches(value, {"meta": {"tags": ["x", "y"]}}) and not matches(value, {"meta": {"tags": ["y", "x"]}})
    assert not matches(value, {"missing": {"$gt": 1}})  # InMemoryStore raises; nothing matches here
    assert matches(value, {"n": {"$ne": 4}, "tag": {"$eq": "red"}})
    with pytest.raises(ArgumentError, match=r"\$in"):
        check_filter({"n": {"$in": [1]}})
