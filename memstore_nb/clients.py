"""The Redis clients memstore-nb takes (redis-py's sync, async and cluster clients), and what to ask of one."""

from __future__ import annotations

import asyncio
import codecs
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, Union

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster

from .errors import ArgumentError
from .server_errors import POOL_ADVICE, PoolExhausted, no_free_connection

__all__ = [
    "AnyClient",
    "AsyncClient",
    "SyncClient",
    "acall_when_free",
    "call_when_free",
    "checked_text",
    "encodes_utf8",
    "is_async",
]

T = TypeVar("T")

SyncClient = Union[redis.Redis, redis.cluster.RedisCluster]
AsyncClient = Union[redis.asyncio.Redis, redis.asyncio.cluster.RedisCluster]
AnyClient = Union[SyncClient, AsyncClient]


def is_async(client: object) -> bool:
    """Whether ``client`` is a ``redis.asyncio`` client (its commands are awaited)."""
    return isinstance(client, (redis.asyncio.Redis, redis.asyncio.cluster.RedisCluster))


def encodes_utf8(client: object) -> bool:
    """Whether the client encodes text as UTF-8 (redis-py's default), so that text a write sends can go
    as bytes encoded once: redis-py's per-argument type checks and encoding cost about a microsecond
    per argument, a tenth of what the exactly-once script adds to a write."""
    try:
        return codecs.lookup(client.get_encoder().encoding).name == "utf-8"  # type: ignore[attr-defined]
    except Exception:  # a client without redis-py's encoder: let it encode as it does
        return False


def checked_text(name: str, value: object, client: object = None) -> str:
    """``value``, when it is text that ``client`` can send (UTF-8 unless its encoder says otherwise).

    Session ids, thread ids and patterns are checked at the door: a lone surrogate (what bytes
    decoded with ``surrogateescape``, or an emoji cut in half, leave in a ``str``) would otherwise
    pass every check and then fail every call with a raw ``UnicodeEncodeError``.

    Raises:
        ArgumentError: ``value`` is not a ``str``, or the client cannot encode it.
    """
    if not isinstance(value, str):
        raise ArgumentError(f"{name} must be a string, got {type(value).__name__}: {value!r:.80}", value)
    try:
        encoder = client.get_encoder()  # type: ignore[attr-defined]
        encoding, errors = encoder.encoding, encoder.encoding_errors
    except Exception:  # no client, or one without redis-py's encoder: what redis-py does by default
        encoding, errors = "utf-8", "strict"
    try:
        value.encode(encoding, errors)
    except UnicodeEncodeError as exc:
        bad = value[exc.start : exc.end]
        raise ArgumentError(
            f"{name} {value!r:.80} cannot be sent to Redis: it holds {bad!r}, which is not {encoding} text "
            "(a lone surrogate: bytes decoded with errors='surrogateescape', or an emoji cut in half); "
            "pass the id as valid text",
            value,
        ) from None
    return value


def checked_key_prefix(key_prefix: object, tagged: str) -> str:
    """A key prefix for a layout that puts ``tagged`` (the thread id, the namespace) in the hash tag:
    text, and no brace (a ``{`` in the prefix would take the hash tag away from ``tagged``).

    Raises:
        ArgumentError: not a ``str``, a brace, or text Redis cannot be sent.
    """
    if not isinstance(key_prefix, str):
        raise ArgumentError(f"key_prefix must be a str, got {type(key_prefix).__name__}", key_prefix)
    if "{" in key_prefix or "}" in key_prefix:
        raise ArgumentError(
            f"key_prefix {key_prefix!r} contains a brace; the {tagged} goes in the keys' hash tag, "
            "so choose a prefix without '{' and '}'",
            key_prefix,
        )
    return checked_text("key_prefix", key_prefix)


# -- a full pool: wait for a connection, bounded ---------------------------------------------------

_PAUSES = (0.002, 0.005, 0.01, 0.02, 0.05)  # then 0.05 s until a connection is free


def _gave_up(since: float, limit: int | None, exc: BaseException) -> PoolExhausted:
    waited = time.monotonic() - since
    of = "" if limit is None else f" (max_connections={limit})"
    error = PoolExhausted(
        f"no connection of the client's pool was free for {waited:.1f} s{of}, so the command was not sent; "
        + POOL_ADVICE,
        waited,
        limit,
    )
    error.__cause__ = exc
    return error


def _full(exc: BaseException) -> bool:
    # a PoolExhausted from a pool below has waited already: not waited for twice
    return no_free_connection(exc) and not isinstance(exc, PoolExhausted)


def call_when_free(call: Callable[[], T], wait: float, limit: int | None = None, *, since: float = 0.0) -> T:
    """``call()``, made again after a short pause while it finds no free connection in its client's
    pool (it sent nothing then), for ``wait`` seconds at most; then :class:`PoolExhausted`.

    Args:
        call: what to do with the client.
        wait: seconds to wait for a connection at most.
        limit: the pool's ``max_connections``, for the message.
        since: when a first attempt found the pool full already (``time.monotonic()``): the wait
            counts from then, and starts with a pause.
    """
    pauses = iter(_PAUSES)
    if since:
        time.sleep(_PAUSES[0])
    while True:
        try:
            return call()
        except redis.exceptions.ConnectionError as exc:
            if not _full(exc):
                raise
            since = since or time.monotonic()
            if time.monotonic() - since >= wait:
                raise _gave_up(since, limit, exc) from exc
        time.sleep(next(pauses, _PAUSES[-1]))


async def acall_when_free(
    call: Callable[[], Awaitable[T]], wait: float, limit: int | None = None, *, since: float = 0.0
) -> T:
    """:func:`call_when_free` for coroutines: the pause lets the other tasks give connections back."""
    pauses = iter(_PAUSES)
    if since:
        await asyncio.sleep(_PAUSES[0])
    while True:
        try:
            return await call()
        except redis.exceptions.ConnectionError as exc:
            if not _full(exc):
                raise
            since = since or time.monotonic()
            if time.monotonic() - since >= wait:
                raise _gave_up(since, limit, exc) from exc
        await asyncio.sleep(next(pauses, _PAUSES[-1]))
