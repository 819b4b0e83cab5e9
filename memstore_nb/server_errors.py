"""The errors that are also redis-py exceptions, so code written for redis-py (or upstream) still catches them.

They live apart from :mod:`memstore_nb.errors` because deriving from redis-py's classes imports
redis, and ``errors`` must stay cheap to import (the CLI's ``--version``, the pure codec).
``memstore_nb.errors`` re-exports both names.
"""

from __future__ import annotations

import re
from typing import Any

import redis.exceptions

from .errors import MemstoreError
from .replies import reply_text

__all__ = ["NotSent", "PoolExhausted", "WriteUnconfirmed", "WrongTypeError", "held_type", "no_free_connection"]

# What memstore-nb's own scripts say when they refuse a key of another type (they name it).
_HOLDS = re.compile(r"WRONGTYPE memstore-nb: the key holds a (\w+)")
_NOT_KNOWN = "non-list value"


def held_type(exc: BaseException) -> str | None:
    """For a ``WRONGTYPE`` refusal: the type a memstore-nb script named, or ``""`` when the server's own
    refusal named none; ``None`` for any other error."""
    text = str(exc)
    if "WRONGTYPE" not in text:
        return None
    said = _HOLDS.search(text)
    return said.group(1) if said else ""


class WrongTypeError(MemstoreError, redis.exceptions.ResponseError, TypeError):
    """A key holds something other than a Redis LIST of messages; nothing was written.

    Also a ``redis.ResponseError`` (what Redis's own ``WRONGTYPE`` reply raises, and what
    code written for the upstream class catches) and a ``TypeError``.

    Attributes:
        key: the Redis key that was read.
        actual_type: what ``TYPE key`` answered (``"string"``, ``"hash"``, ...).
    """

    def __init__(self, key: str, actual_type: str) -> None:
        self.key = key
        self.actual_type = actual_type
        super().__init__(
            f"key {key!r} holds a Redis {actual_type}, not a list of chat messages; "
            "choose another session_id or key_prefix (memstore-nb never overwrites it)"
        )

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return type(self), (self.key, self.actual_type)

    @classmethod
    def of(cls, client: Any, key: str, exc: BaseException) -> BaseException:
        """``exc`` as a :class:`WrongTypeError` for ``key`` when it is a ``WRONGTYPE`` refusal (asking
        ``TYPE key`` on ``client`` when the refusal did not say), else ``exc`` itself."""
        said = held_type(exc)
        if said is None:
            return exc
        if not said:
            try:
                said = reply_text(client.type(key))
            except redis.exceptions.RedisError:
                said = _NOT_KNOWN
        return cls(key, said)

    @classmethod
    async def aof(cls, client: Any, key: str, exc: BaseException) -> BaseException:
        """:meth:`of` for a ``redis.asyncio`` client."""
        said = held_type(exc)
        if said is None:
            return exc
        if not said:
            try:
                said = reply_text(await client.type(key))
            except redis.exceptions.RedisError:
                said = _NOT_KNOWN
        return cls(key, said)


def _why(cause: BaseException) -> str:
    """Why a write's outcome is unknown, as its last error tells."""
    if isinstance(cause, redis.exceptions.ClusterError) or str(cause).startswith(("TRYAGAIN", "MOVED", "ASK")):
        return (
            "the cluster kept redirecting it while the key's slot moved between nodes, and an earlier send may "
            "have been applied"
        )
    if isinstance(cause, redis.exceptions.ResponseError):  # BUSY, CLUSTERDOWN, MASTERDOWN, READONLY...
        return "the server refused to run it, and an earlier send may have been applied"
    return "the connection failed after it was sent"


class WriteUnconfirmed(MemstoreError, redis.exceptions.ConnectionError):
    """The connection failed after a write was sent, so whether it was stored is unknown.

    It was stored at most once. Calling the same method again with the same messages (on the
    same history object, within :data:`memstore_nb.writes.MARKER_TTL_SECONDS`) completes it
    without a duplicate: the retry carries the same write id, which the server recognises.

    Attributes:
        key: the key that was written to.
        write_id: the write's id (recorded in the set ``{slot tag}:memstore-nb:wid:<generation>``).
        attempts: how many times it was sent.
    """

    def __init__(self, key: str, write_id: str, attempts: int, cause: BaseException) -> None:
        self.key = key
        self.write_id = write_id
        self.attempts = attempts
        super().__init__(
            f"the write to {key!r} may or may not have been stored: {_why(cause)} "
            f"({attempts} attempt{'s' if attempts != 1 else ''}; last error: {type(cause).__name__}: {cause}). "
            "It is stored at most once; call the same method again with the same messages to complete it "
            "without a duplicate"
        )

    def __reduce__(self) -> tuple[type, tuple[str, str, int, BaseException]]:
        return type(self), (self.key, self.write_id, self.attempts, self.__cause__ or Exception())


class NotSent(MemstoreError, redis.exceptions.ConnectionError):
    """No connection could be made, so the command was never sent: nothing was stored.

    Raised before anything is written to a socket (the server refused the connection, or is not
    there), so calling again once the server runs is safe; unlike :class:`WriteUnconfirmed`, the
    outcome is known. Also a ``redis.ConnectionError``, which code written for redis-py catches.
    """


# redis-py 8 names the error (a ConnectionError); older ones raise a plain ConnectionError saying so.
_MAX_CONNECTIONS: type[redis.exceptions.ConnectionError] = getattr(
    redis.exceptions, "MaxConnectionsError", redis.exceptions.ConnectionError
)
_TOO_MANY = "Too many connections"
#: what to do about a full pool: raise its limit, or share it among fewer callers
POOL_ADVICE = (
    "more callers at once than the client's pool has connections (redis-py 8: 100): raise the limit, "
    "connect(..., max_connections=N) / aconnect(..., max_connections=N) or redis.Redis(max_connections=N), "
    "or call from fewer threads or tasks at once"
)


class PoolExhausted(NotSent, _MAX_CONNECTIONS):  # type: ignore[misc,valid-type]
    """No connection of the client's pool was free in time, so the command was never sent.

    Nothing was written: calling again is safe. A :class:`NotSent`, and also a
    ``redis.exceptions.MaxConnectionsError`` (a ``redis.ConnectionError``), what redis-py raises when
    its pool is full.

    Attributes:
        waited: seconds spent waiting for a connection.
        limit: the pool's ``max_connections``, when known.
    """

    def __init__(self, message: str, waited: float = 0.0, limit: int | None = None) -> None:
        self.waited = waited
        self.limit = limit
        super().__init__(message)

    def __reduce__(self) -> tuple[type, tuple[str, float, int | None]]:
        return type(self), (str(self), self.waited, self.limit)


def no_free_connection(exc: BaseException) -> bool:
    """Whether ``exc`` says the client found no free connection in its pool: the command was not sent."""
    if isinstance(exc, PoolExhausted):
        return True
    if _MAX_CONNECTIONS is not redis.exceptions.ConnectionError:
        return isinstance(exc, _MAX_CONNECTIONS)
    return isinstance(exc, redis.exceptions.ConnectionError) and str(exc) == _TOO_MANY
