"""TTLs as LangGraph defines them: minutes per item, ``default_ttl``, refresh on read (or not), and namespaces
that go when their last item does."""

from __future__ import annotations

import time
from typing import Any

import pytest
from helpers.longterm import prefix  # noqa: F401

from memstore_nb import MemorystoreStore

pytestmark = pytest.mark.integration


def _pttl(client: Any, name: str) -> int:
    return int(client.pttl(name))


def test_item_ttl_refreshed_by_get_and_search_unless_asked_not_to(any_client: Any, prefix: str) -> None:  # noqa: F811
    store = MemorystoreStore(any_client, key_prefix=prefix)
    assert store.supports_ttl
    store.put(("u",), "a", {"x": 1}, ttl=1)
    item = f"{prefix}ltm:{{u}}:i:a"
    assert 55_000 < _pttl(any_client, item) <= 60_000
    any_client.pexpire(item, 10_000)
    store.get(("u",), "a", refresh_ttl=False)
    assert _pttl(any_client, item) <= 10_000
    store.get(("u",), "a")
    assert _pttl(any_client, item) > 55_000
    any_client.pexpire(item, 10_000)
    store.search(("u",), refresh_ttl=False)
    assert _pttl(any_client, item) <= 10_000
    store.search(("u",))
    assert _pttl(any_client, item) > 55_000
    # the namespace's keys live as long as their longest-lived item
    assert _pttl(any_client, f"{prefix}ltm:{{u}}:z") >= 55_000


def test_only_returned_items_are_refreshed(client: Any, prefix: str) -> None:  # noqa: F811
    store = MemorystoreStore(client, key_prefix=prefix)
    for key in "abc":
        store.put(("u",), key, {"k": key}, ttl=1)
        client.pexpire(f"{prefix}ltm:{{u}}:i:{key}", 10_000)
    assert [i.key for i in store.search(("u",), limit=1, offset=1)] == ["b"]
    assert [_pttl(client, f"{prefix}ltm:{{u}}:i:{k}") > 55_000 for k in "abc"] == [False, True, False]


def test_default_ttl_and_refresh_on_read_config(client: Any, prefix: str) -> None:  # noqa: F811
    store = MemorystoreStore(client, key_prefix=prefix, ttl={"default_ttl": 2, "refresh_on_read": False})
    store.put(("u",), "a", {"x": 1})
    store.put(("u",), "b", {"x": 2}, ttl=None)
    assert 115_000 < _pttl(client, f"{prefix}ltm:{{u}}:i:a") <= 120_000
    assert _pttl(client, f"{prefix}ltm:{{u}}:i:b") == -1
    client.pexpire(f"{prefix}ltm:{{u}}:i:a", 10_000)
    store.get(("u",), "a")
    assert _pttl(client, f"{prefix}ltm:{{u}}:i:a") <= 10_000
    store.get(("u",), "a", refresh_ttl=True)
    assert _pttl(client, f"{prefix}ltm:{{u}}:i:a") > 115_000


def test_namespace_keys_follow_their_items(client: Any, prefix: str) -> None:  # noqa: F811
    store = MemorystoreStore(client, key_prefix=prefix)
    order = f"{prefix}ltm:{{u}}:z"
    store.put(("u",), "short", {"x": 1}, ttl=1)
    store.put(("u",), "keep", {"x": 2})
    assert _pttl(client, order) == -1  # an item without a TTL keeps the namespace
    store.put(("u",), "long", {"x": 3}, ttl=3)
    store.delete(("u",), "keep")
    assert 175_000 < _pttl(client, order) <= 180_000  # then the longest-lived item decides
    store.put(("u",), "long", {"x": 3}, ttl=None)
    assert _pttl(client, order) == -1
    store.delete(("u",), "long")
    assert 0 < _pttl(client, order) <= 60_000


def test_expired_items_leave_search_and_listing(any_client: Any, prefix: str) -> None:  # noqa: F811
    store = MemorystoreStore(any_client, key_prefix=prefix)
    store.put(("gone", "x"), "a", {"x": 1}, ttl=0.004)  # 240 ms
    store.put(("stays",), "b", {"x": 2}, ttl=0.004)
    store.put(("stays",), "c", {"x": 3})
    assert store.list_namespaces() == [("gone", "x"), ("stays",)]
    time.sleep(0.4)
    assert store.get(("gone", "x"), "a") is None
    assert store.list_namespaces() == [("stays",)]
    assert [i.key for i in store.search(())] == ["c"]
    assert not any_client.exists(f"{prefix}ltm:{{gone.x}}:z")


def test_bad_ttl_is_refused_before_anything_is_written(client: Any, prefix: str) -> None:  # noqa: F811
    from memstore_nb.errors import ArgumentError

    store = MemorystoreStore(client, key_prefix=prefix)
    for bad in (0, -1, "5", 10**20):
        with pytest.raises(ArgumentError, match="ttl"):
            store.put(("u",), "a", {"x": 1}, ttl=bad)
    assert store.get(("u",), "a") is None


def test_registry_forgets_a_namespace_emptied_here(any_client: Any, prefix: str) -> None:  # noqa: F811
    store = MemorystoreStore(any_client, key_prefix=prefix)
    store.put(("a", "b"), "k", {"x": 1})
    store.put(("a", "c"), "k", {"x": 1})
    names = f"{prefix}ltm:{{{prefix}%reg}}:names"
    assert any_client.zrange(names, 0, -1) == [b"a.b", b"a.c"]
    store.delete(("a", "b"), "k")
    assert any_client.zrange(names, 0, -1) == [b"a.c"]
    store.delete(("a", "c"), "k")
    assert not any_client.exists(names)
    assert not [key for key in any_client.scan_iter(match=f"{prefix}*")]  # nothing of the store is left
