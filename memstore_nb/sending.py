"""One command on a sync ``redis.Redis``: redis-py's own connection, pool and retry, not its per-command bookkeeping.

redis-py's ``Redis.execute_command`` wraps every command in work that a script call of ours does
not need (observability timers and counters, closures for the retry, a per-command check for
``HIMPORT``, response callbacks that scripts do not have): about 30 microseconds a command
in redis-py 8, a third of a round trip over a Unix socket, and the saver makes six calls a graph
turn. :func:`command` sends on a connection taken from the client's own pool, through the
connection's own retry policy (so ``connect()``'s patient retry, a full pool's wait and redis-py's
reconnect all apply as before), and reads the reply with the connection's own parser.

It does so only for a client it can stand in for: a plain ``redis.Redis`` (or a subclass) whose
``execute_command`` is redis-py's own — not a cluster or async client, not a single-connection
client, not one whose class or instance has it replaced (tracing and test doubles replace it:
they then see every command as before) and without a response callback for the command.
Any other client gets ``execute_command``, unchanged.
"""

from __future__ import annotations

import inspect
from typing import Any

import redis
import redis.exceptions

__all__ = ["command", "is_direct"]

_EXECUTE = redis.Redis.execute_command
_PARSE = redis.Redis.parse_response


def _needs_command_name() -> bool:
    """redis-py 5's ``ConnectionPool.get_connection`` requires the command's name; 6 deprecates it."""
    try:
        parameters = list(inspect.signature(redis.ConnectionPool.get_connection).parameters.values())[1:]
    except (TypeError, ValueError):  # pragma: no cover - a redis-py that hides its signature
        return True
    first = parameters[0] if parameters else None
    return first is not None and first.kind is first.POSITIONAL_OR_KEYWORD and first.default is first.empty


_NAMED = _needs_command_name()


def is_direct(client: Any) -> bool:
    """Whether :func:`command` sends on ``client`` itself (else it calls ``client.execute_command``)."""
    kind = type(client)
    return (
        isinstance(client, redis.Redis)
        and kind.execute_command is _EXECUTE
        and kind.parse_response is _PARSE
        and "execute_command" not in client.__dict__
        and getattr(client, "connection", None) is None
    )


def command(client: Any, *args: Any, never_decode: bool = False) -> Any:
    """``client.execute_command(*args)`` (with ``NEVER_DECODE`` when ``never_decode``), the same
    reply or the same exception, sent directly where :func:`is_direct` allows.

    Only for commands without a response callback of their own (``EVALSHA``, ``EVAL``): the reply
    is what the connection's parser returns.
    """
    if not is_direct(client) or args[0] in client.response_callbacks:
        if never_decode:
            return client.execute_command(*args, NEVER_DECODE=True)
        return client.execute_command(*args)
    pool = client.connection_pool
    conn = pool.get_connection(args[0]) if _NAMED else pool.get_connection()
    try:
        return conn.retry.call_with_retry(lambda: _send(conn, args, never_decode), lambda _error: conn.disconnect())
    except redis.exceptions.ResponseError:
        raise  # the reply was read whole: the connection is in step
    except BaseException:
        conn.disconnect()  # a reply may be half read (an interrupt, a timeout): never reuse the connection
        raise
    finally:
        should = getattr(conn, "should_reconnect", None)
        if should is not None and should():  # redis-py 8: the server announced a move
            conn.disconnect()
        pool.release(conn)


def _send(conn: Any, args: tuple[Any, ...], never_decode: bool) -> Any:
    conn.send_command(*args)
    return conn.read_response(disable_decoding=never_decode)
