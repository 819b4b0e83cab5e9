"""Connection pools that wait for a free connection instead of failing, for the clients connect() makes.

redis-py 8's pool holds at most 100 connections and raises ``MaxConnectionsError`` at once for the
101st caller; older versions open connections without bound. A client from :func:`connect` or
:func:`aconnect` instead waits (bounded) for a connection another caller gives back, and when none
comes raises :class:`~memstore_nb.server_errors.PoolExhausted`, which says the command was never
sent. ``max_connections`` sets the limit.
"""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio
import redis.asyncio.cluster

from ..clients import acall_when_free, call_when_free
from ..sending import give_back_kept
from ..server_errors import no_free_connection

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "AsyncWaitingConnectionPool",
    "WaitingAsyncRedisCluster",
    "WaitingConnectionPool",
    "waiting_pool",
]

DEFAULT_MAX_CONNECTIONS = 100  # redis-py 8's own default


class WaitingConnectionPool(redis.ConnectionPool):
    """redis-py's ``ConnectionPool``, where a caller that finds every connection busy waits for one
    to come back (up to ``timeout`` seconds) instead of getting ``MaxConnectionsError`` at once.

    (redis-py's own ``BlockingConnectionPool`` would do, but in redis-py 8.2 its inherited
    ``set_retry`` fails; this keeps every method of the plain pool.)

    It lends connections as the plain pool does, so memstore_nb.sending may keep a few between
    its commands; a caller that finds the pool full gets those back first.
    """

    lends_like_connection_pool = True

    def __init__(self, *args: Any, timeout: float = 10.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timeout = timeout

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        take = super().get_connection

        def attempt() -> Any:
            try:
                return take(*args, **kwargs)
            except redis.exceptions.ConnectionError as exc:
                if not no_free_connection(exc) or not give_back_kept(self):
                    raise
                return take(*args, **kwargs)

        return call_when_free(attempt, self.timeout, self.max_connections)


class AsyncWaitingConnectionPool(redis.asyncio.ConnectionPool):
    """:class:`WaitingConnectionPool` for ``redis.asyncio`` clients: a task waits (the loop runs on)."""

    def __init__(self, *args: Any, timeout: float = 10.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timeout = timeout

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        take = super().get_connection
        return await acall_when_free(lambda: take(*args, **kwargs), self.timeout, self.max_connections)


def waiting_pool(client: Any, max_connections: int, wait: float) -> Any:
    """Give ``client`` (a fresh ``redis.Redis`` or ``redis.asyncio.Redis``, no connection made yet) a
    waiting pool of ``max_connections`` connections, with the connection settings redis-py chose for it.

    Returns the client.
    """
    old = client.connection_pool
    kind = AsyncWaitingConnectionPool if isinstance(client, redis.asyncio.Redis) else WaitingConnectionPool
    client.connection_pool = kind(
        connection_class=old.connection_class,
        max_connections=max_connections,
        timeout=wait,
        **old.connection_kwargs,
    )
    return client


class WaitingAsyncRedisCluster(redis.asyncio.cluster.RedisCluster):
    """``redis.asyncio`` cluster client whose commands wait (up to ``connection_wait`` seconds) for a
    node connection when all ``max_connections`` of that node are busy, instead of failing at once."""

    def __init__(self, *args: Any, connection_wait: float = 10.0, **kwargs: Any) -> None:
        self.connection_wait = connection_wait  # not "wait": that is the WAIT command's method
        super().__init__(*args, **kwargs)

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        run = super().execute_command
        return await acall_when_free(lambda: run(*args, **kwargs), self.connection_wait)
