"""Bad input gets the same errors as InMemoryStore; data that is not the store's is never overwritten; a
resent write is applied once."""

from __future__ import annotations

import re
from typing import Any

import pytest
from helpers.longterm import prefix  # noqa: F401
from langgraph.store.base import InvalidNamespaceError, PutOp
from langgraph.store.memory import InMemoryStore

from memstore_nb import MemorystoreStore
from memstore_nb.errors import ArgumentError, ClientKindError, MemstoreError
from memstore_nb.longterm import StoreDataError, StoreValueError

pytestmark = pytest.mark.integration

BAD_NAMESPACES = [("",), ("a.b",), ("a", ""), ("a", 1), ("a\x00",)]


def _error(call: Any) -> type[BaseException] | None:
    try:
        call()
    except Exception as exc:
        return type(exc)
    return None


@pytest.mark.parametrize("namespace", BAD_NAMESPACES, ids=repr)
def test_bad_namespaces_raise_what_in_memory_store_raises(client: Any, prefix: str, namespace: Any) -> None:  # noqa: F811
    ours, theirs = MemorystoreStore(client, key_prefix=prefix), InMemoryStore()
    for name in ("put", "get", "search", "delete", "list_namespaces"):

        def call(store: Any, name: str = name) -> Any:
            if name == "put":
                return store.put(namespace, "k", {"x": 1})
            if name in ("get", "delete"):
                return getattr(store, name)(namespace, "k")
            if name == "search":
                return store.search(namespace)
            return store.list_namespaces(prefix=namespace)

        expected = _error(lambda s=theirs: call(s))
        assert expected is InvalidNamespaceError, name
        with pytest.raises(InvalidNamespaceError):
            call(ours)
    # and through batch(), which InMemoryStore does not check: ours refuses before sending
    with pytest.raises(InvalidNamespaceError):
        ours.batch([PutOp(namespace, "k", {"x": 1})])


def test_empty_and_reserved_namespaces_are_refused(client: Any, prefix: str) -> None:  # noqa: F811
    ours, theirs = MemorystoreStore(client, key_prefix=prefix), InMemoryStore()
    for namespace in [(), ("langgraph", "x")]:
        assert _error(lambda ns=namespace: theirs.put(ns, "k", {"x": 1})) is InvalidNamespaceError
        with pytest.raises(InvalidNamespaceError):
            ours.put(namespace, "k", {"x": 1})


@pytest.mark.parametrize("value", [5, "text", ["a", "b"], None.__class__], ids=["int", "str", "list", "type"])
def test_non_dict_values_raise_what_in_memory_store_raises(client: Any, prefix: str, value: Any) -> None:  # noqa: F811
    ours, theirs = MemorystoreStore(client, key_prefix=prefix), InMemoryStore()
    expected = _error(lambda: theirs.put(("u",), "k", value))
    assert expected in (TypeError, ValueError)
    with pytest.raises(expected) as caught:
        ours.put(("u",), "k", value)
    assert isinstance(caught.value, StoreValueError) and "must be a dict" in str(caught.value)
    # a list of pairs is a dict to both
    ours.put(("u",), "pairs", [("a", 1)])
    theirs.put(("u",), "pairs", [("a", 1)])
    assert ours.get(("u",), "pairs").value == theirs.get(("u",), "pairs").value == {"a": 1}


def test_values_json_cannot_hold_are_refused_and_nothing_is_written(client: Any, prefix: str) -> None:  # noqa: F811
    store = MemorystoreStore(client, key_prefix=prefix)
    with pytest.raises(StoreValueError, match="JSON"):
        store.batch([PutOp(("u",), "ok", {"x": 1}), PutOp(("u",), "bad", {"x": {1, 2}})])
    assert store.search(("u",)) == []


def test_unknown_filter_operator(client: Any, prefix: str) -> None:  # noqa: F811
    store = MemorystoreStore(client, key_prefix=prefix)
    with pytest.raises(ArgumentError, match=r"\$in"):
        store.search(("u",), filter={"x": {"$in": [1]}})


def test_a_key_of_another_type_is_never_overwritten(any_client: Any, prefix: str) -> None:  # noqa: F811
    store = MemorystoreStore(any_client, key_prefix=prefix)
    item = f"{prefix}ltm:{{u}}:i:k"
    any_client.set(item, "not ours")
    with pytest.raises(StoreDataError, match="WRONGTYPE") as caught:
        store.put(("u",), "k", {"x": 1})
    assert isinstance(caught.value, MemstoreError) and "nothing was written" in str(caught.value)
    assert any_client.get(item) == b"not ours"
    with pytest.raises(StoreDataError):
        store.get(("u",), "k")


@pytest.mark.parametrize("which", ["i:k", "z", "m"])
@pytest.mark.parametrize("what", ["put", "delete"])
def test_each_key_a_write_reads_is_checked_for_its_type(
    any_client: Any,
    prefix: str,  # noqa: F811
    which: str,
    what: str,
) -> None:
    """The item, the namespace's order and its meta: a string at any of them refuses the write, naming it."""
    store = MemorystoreStore(any_client, key_prefix=prefix)
    store.put(("t",), "other", {"x": 0})
    key = f"{prefix}ltm:{{t}}:{which}"
    any_client.delete(key)
    any_client.set(key, "not ours")

    def state() -> dict[Any, Any]:
        keys = {k: any_client.type(k) for k in any_client.scan_iter(match=f"{prefix}ltm:{{t}}:*")}
        # the write ids recorded for the namespace's slot: a refused write takes its own back
        markers = {k: any_client.smembers(k) for k in any_client.scan_iter(match="{t}:memstore-nb:wid:*")}
        return {"keys": keys, "markers": markers}

    before = state()
    with pytest.raises(StoreDataError, match=f"WRONGTYPE {re.escape(key)} holds a string"):
        if what == "put":
            store.put(("t",), "k", {"x": 1})
        else:
            store.delete(("t",), "k")
    assert any_client.get(key) == b"not ours"
    assert state() == before and before["markers"]


def test_a_damaged_item_is_one_error_and_the_others_stay_readable(client: Any, prefix: str) -> None:  # noqa: F811
    store = MemorystoreStore(client, key_prefix=prefix)
    store.put(("u",), "good", {"x": 1})
    store.put(("u",), "bad", {"x": 2})
    client.hset(f"{prefix}ltm:{{u}}:i:bad", "v", "{not json")
    with pytest.raises(StoreDataError, match="damaged"):
        store.get(("u",), "bad")
    assert [i.key for i in store.search(("u",))] == ["good"]


def test_a_resent_write_is_applied_once(client: Any, prefix: str) -> None:  # noqa: F811
    from memstore_nb.longterm.front import Runner
    from memstore_nb.longterm.puts import prepare, write_call

    store = MemorystoreStore(client, key_prefix=prefix)
    store.put(("u",), "k", {"v": 1})
    pending = prepare([PutOp(("u",), "k", {"v": 2})], store.settings)
    call = write_call(pending[0], store.settings, 1)
    runner = Runner(client)
    assert runner.send([call]) == [1]
    store.put(("u",), "k", {"v": 3})
    assert runner.send([call]) == [b"REPLAY"]  # the same write id, sent again: nothing changes
    assert store.get(("u",), "k").value == {"v": 3}


def test_sync_methods_need_a_sync_client(redis_url: str) -> None:
    import redis.asyncio

    store = MemorystoreStore(redis.asyncio.Redis.from_url(redis_url, protocol=2))
    with pytest.raises(ClientKindError, match="aget"):
        store.get(("u",), "k")
    with pytest.raises(ClientKindError):
        MemorystoreStore(object())
    with pytest.raises(ArgumentError, match="brace"):
        MemorystoreStore(redis.asyncio.Redis.from_url(redis_url), key_prefix="{x}")


def test_vectors_of_another_size_are_refused(client: Any, prefix: str) -> None:  # noqa: F811
    def embed(size: int) -> Any:
        return lambda texts: [[1.0] * size for _ in texts]

    MemorystoreStore(client, key_prefix=prefix, index={"dims": 4, "embed": embed(4)}, vector_search="exact").put(
        ("u",), "a", {"text": "x"}
    )
    other = MemorystoreStore(client, key_prefix=prefix, index={"dims": 8, "embed": embed(8)}, vector_search="exact")
    with pytest.raises(StoreDataError, match="another index"):
        other.put(("u",), "b", {"text": "y"})
    assert other.get(("u",), "b") is None
    wrong = MemorystoreStore(client, key_prefix=prefix, index={"dims": 4, "embed": embed(5)}, vector_search="exact")
    with pytest.raises(StoreValueError, match="5 dimensions"):
        wrong.put(("u",), "c", {"text": "z"})


def test_async_methods_on_a_sync_client_run_in_a_thread(client: Any, prefix: str) -> None:  # noqa: F811
    import asyncio

    store = MemorystoreStore(client, key_prefix=prefix)

    async def main() -> Any:
        await store.aput(("u",), "k", {"x": 1})
        return await store.aget(("u",), "k"), await store.alist_namespaces()

    item, namespaces = asyncio.run(main())
    assert item.value == {"x": 1} and namespaces == [("u",)]
