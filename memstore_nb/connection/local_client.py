"""The client of ``connect("local")``: the local store's unix socket, across restarts, and "not sent" when it is down.

The store's socket path is the same after every restart, so a client keeps working across
``memstore-nb local stop`` / ``start`` or a crash and restart: while the server is away its
socket file is missing or refuses, and the client's retry policy waits (a missing socket file
counts as a refusal here, since the store makes it again). When the server does not come back
within that wait, the command was never sent, and the error says so (:class:`NotSent`, with
what the store knows: stopped, disk full...), instead of a :class:`WriteUnconfirmed`.
"""

from __future__ import annotations

import errno
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.connection
import redis.connection

from ..errors import ConnectError
from ..server_errors import NotSent

__all__ = ["AsyncStorePool", "StorePool", "local_server", "store_client"]


def _refused(exc: OSError, path: str) -> Exception:
    """A refusal, or a missing socket file (the store removes it when it stops and makes it again), as the
    redis ``ConnectionError`` that every redis-py version's retry policy retries while connecting."""
    if isinstance(exc, (ConnectionRefusedError, FileNotFoundError)):
        return redis.ConnectionError(
            f"Error {errno.ECONNREFUSED} connecting to unix socket: {path}. "
            "The local store is not listening (stopped or restarting)."
        )
    return exc


def _not_sent(exc: Exception) -> NotSent:
    from ..local.store import why_unreachable

    return NotSent(f"{why_unreachable()} (nothing was sent: {exc})")


class StoreConnection(redis.connection.UnixDomainSocketConnection):
    """A connection to the local store's socket: a refusal or a missing socket file is transient."""

    def _connect(self) -> Any:
        try:
            return super()._connect()
        except OSError as exc:
            raise _refused(exc, self.path) from exc


class AsyncStoreConnection(redis.asyncio.connection.UnixDomainSocketConnection):
    """:class:`StoreConnection` for ``redis.asyncio``."""

    async def _connect(self) -> None:
        try:
            await super()._connect()
        except OSError as exc:
            raise _refused(exc, self.path) from exc


class StorePool(redis.ConnectionPool):
    """A pool whose connection failures before anything is sent raise :class:`NotSent`.

    A pool connects a connection, or checks and reconnects a pooled one, before the client writes
    the command on it; a failure there, after the client's retry policy gave up, sent nothing.
    """

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().get_connection(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise _not_sent(exc) from exc


class AsyncStorePool(redis.asyncio.ConnectionPool):
    """:class:`StorePool` for ``redis.asyncio``."""

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().get_connection(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise _not_sent(exc) from exc


def store_client(kwargs: dict[str, Any], retry: Any, *, asyncio: bool = False) -> Any:
    """A ``redis.Redis`` (or ``redis.asyncio.Redis``) on the store's socket: ``kwargs`` as for any client."""
    cls: Any = redis.asyncio.Redis if asyncio else redis.Redis
    # The client's own constructor turns its keyword arguments into connection settings; the pool
    # then makes connections of ours with those settings.
    settings = dict(cls(**kwargs, retry=retry).connection_pool.connection_kwargs)
    if asyncio:
        return cls.from_pool(AsyncStorePool(connection_class=AsyncStoreConnection, **settings))
    return cls.from_pool(StorePool(connection_class=StoreConnection, **settings))


def local_server(*, cluster: bool) -> Any:
    """The persistent local store (``"local"``), or the process's embedded cluster (``"local-cluster"``)."""
    from ..local import launch as local
    from ..local import store as local_store

    if not cluster:
        return local_store.ensure()  # the persistent per-user store; local-cluster stays per process
    try:
        return local.shared_local_redis(cluster=True)
    except (TypeError, NotImplementedError):
        raise ConnectError(
            "ENDPOINT = 'local-cluster' needs the embedded cluster launcher, which this memstore-nb lacks; "
            "use ENDPOINT = 'local' (a standalone embedded Redis) instead",
            "local-cluster",
        ) from None
