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

A connection that carried a command to its whole reply is kept for the next command (at most
:data:`KEEP` per pool, for at most :data:`FRESH` seconds idle) instead of going back to the pool.
The pool checks every connection it lends for unread data: a non-blocking read between two
changes of the socket's timeout, three system calls, and each lets go of the GIL. In a LangGraph
graph the saver's calls run in background threads while the graph runs Python in the main
thread, and a thread that lets go of the GIL waits until the other lets go in turn (measured:
a saver call's round trip takes 0.3-1.8 ms there, against 0.1 ms alone). A kept connection
needs no such check: every command sent on it was read to its end, or the connection was
closed. What else the check finds, a socket the server closed meanwhile, can only have
happened in the 50 ms since the connection's last reply, the same moment as a close during a
command: the connection's retry policy meets it as it meets that (``connect()``'s reconnects
and sends again; a client without retries gets the ``ConnectionError``). Connections are kept
only with redis-py 6 or later, where the pool is redis-py's own ``ConnectionPool`` (or one that
says it lends connections the same way, like memstore_nb's waiting pool, which takes them back
when it finds itself full) with room for :data:`KEEP` * 8 connections, and without a client-side
cache. A kept connection is still the pool's (checked out of it): ``client.close()`` closes it,
and a forked process never uses its parent's.
"""

from __future__ import annotations

import inspect
import os
import threading
import time
from typing import Any

import redis
import redis.exceptions

__all__ = ["FRESH", "KEEP", "KEEPS", "KEPT", "Kept", "command", "give_back_kept", "is_direct"]

#: Connections kept idle per pool at most (and no more than one in eight of the pool's limit).
KEEP = 2
#: Seconds a kept connection may sit idle; one idle longer goes back to the pool, whose check runs on its next use.
FRESH = 0.05
#: The pool's attribute that holds its kept connections (a :class:`Kept`).
KEPT = "memstore_nb_kept"
_SHARE = 8

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
#: Whether connections are kept at all: not with redis-py 5, whose pool and connections differ in how
#: they count, lend and reconnect (its clients get the pool's check on every command, as before).
KEEPS = not _NAMED


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
    conn = _kept(pool)
    if conn is None:
        conn = pool.get_connection(args[0]) if _NAMED else pool.get_connection()
    else:
        try:
            conn.connect()  # closed since (client.close(), a move): connects as the pool's would, outside the retry
        except BaseException:
            pool.release(conn)
            raise
    in_step = False
    try:
        reply = conn.retry.call_with_retry(lambda: _send(conn, args, never_decode), lambda _error: conn.disconnect())
        in_step = True
        return reply
    except redis.exceptions.ResponseError:
        in_step = True  # the reply was read whole: the connection is in step
        raise
    except BaseException:
        conn.disconnect()  # a reply may be half read (an interrupt, a timeout): never reuse the connection
        raise
    finally:
        if _moved(conn):
            in_step = False
        _give_back(pool, conn, in_step)


def _send(conn: Any, args: tuple[Any, ...], never_decode: bool) -> Any:
    conn.send_command(*args)
    return conn.read_response(disable_decoding=never_decode)


class Kept:
    """The connections :func:`command` keeps for one pool: ``(connection, when it was last used)``."""

    __slots__ = ("allowed", "idle")

    def __init__(self, allowed: bool) -> None:
        self.allowed = allowed
        self.idle: list[tuple[Any, float]] = []


_HOLDING = threading.Lock()


def give_back_kept(pool: Any) -> int:
    """Give every connection :func:`command` keeps for ``pool`` back to it (for a caller that finds it
    full); how many there were."""
    kept: Kept | None = getattr(pool, KEPT, None)
    count = 0
    while kept is not None and kept.idle:
        try:
            conn, _since = kept.idle.pop()
        except IndexError:
            break
        pool.release(conn)
        count += 1
    return count


def _moved(conn: Any) -> bool:
    """Whether the server announced a move (redis-py 8): the connection is closed, to reconnect on its next use."""
    should = getattr(conn, "should_reconnect", None)
    if should is not None and should():
        conn.disconnect()
        return True
    return False


def _kept(pool: Any) -> Any:
    """A kept connection of ``pool`` that is fresh, or None."""
    kept: Kept | None = getattr(pool, KEPT, None)
    if kept is not None:
        idle = kept.idle
        while idle:
            try:
                conn, since = idle.pop()
            except IndexError:  # another thread took the last one
                break
            if conn.pid == os.getpid() and time.monotonic() - since < FRESH:
                _moved(conn)
                return conn
            pool.release(conn)  # idle too long, or the parent process's: the pool's own checks decide
    return None


def _give_back(pool: Any, conn: Any, in_step: bool) -> None:
    if in_step and conn.pid == os.getpid():
        kept: Kept | None = getattr(pool, KEPT, None)
        if kept is None:
            kept = _holder(pool)
        if kept.allowed and len(kept.idle) < KEEP:
            kept.idle.append((conn, time.monotonic()))
            return
    pool.release(conn)


def _holder(pool: Any) -> Kept:
    with _HOLDING:
        kept: Kept | None = getattr(pool, KEPT, None)
        if kept is None:
            kept = Kept(_may_keep(pool))
            setattr(pool, KEPT, kept)  # on the pool, so pool and connections are collected together
        return kept


def _may_keep(pool: Any) -> bool:
    """Whether connections of ``pool`` may be kept between commands (see the module's docstring)."""
    kind = type(pool)
    if not KEEPS:
        return False
    if kind is not redis.ConnectionPool and not getattr(kind, "lends_like_connection_pool", False):
        return False
    return getattr(pool, "cache", None) is None and pool.max_connections >= KEEP * _SHARE
