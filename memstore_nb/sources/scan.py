"""Finding the chat sessions kept in Redis lists: SCAN (never KEYS) on every primary, each candidate checked."""

from __future__ import annotations

import contextlib
import logging
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import redis
import redis.cluster

from ..codec import Raw, load_json
from ..replies import reply_text, version_tuple
from .base import SessionId, list_kind

__all__ = ["list_keys", "scan_type_supported"]

log = logging.getLogger(__name__)


_SCAN_TYPE_SINCE = (6, 0)
# client -> whether its servers have SCAN ... TYPE: asked once per client (an INFO round trip), not per listing.
_SCAN_TYPE: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def list_keys(client: Any, match: str, count: int, community_prefixes: Sequence[str] = ()) -> Iterator[SessionId]:
    """The list keys matching ``match`` whose first element is a LangChain message, as :class:`SessionId`.

    On Redis >= 6.0 SCAN filters by type on the server; on 5.x each candidate's TYPE is asked
    in the same pipelined batch as its first element. A ``RedisCluster`` is scanned on every
    primary. Keys are checked in pipelined batches that grow to ``count``, so the first
    sessions come quickly and 100,000 keys cost about 100 SCAN calls and a little over 100
    round trips of checks. Keys that are not valid UTF-8 are skipped (with a warning). Keys under
    ``message_store:`` or one of ``community_prefixes`` are ``"community"`` sessions.
    """
    typed = scan_type_supported(client)
    keys = client.scan_iter(match=match, count=count, **({"_type": "list"} if typed else {}))
    for batch in _batches(keys, count):
        yield from _sessions_in(client, batch, typed, community_prefixes)


def _batches(items: Iterable[Raw], size: int) -> Iterator[list[Raw]]:
    # Start small and double up to ``size``: the first screenful of sessions
    # arrives after a few dozen keys are checked, long listings still pay one
    # round trip per ``size`` keys.
    limit = min(size, 64)
    batch: list[Raw] = []
    for item in items:
        batch.append(item)
        if len(batch) >= limit:
            yield batch
            batch = []
            limit = min(size, limit * 2)
    if batch:
        yield batch


def _sessions_in(
    client: Any, keys: Sequence[Raw], typed: bool, community_prefixes: Sequence[str] = ()
) -> Iterator[SessionId]:
    # Per key: its TYPE (before Redis 6), its idle time, then its first element. TYPE and OBJECT do not
    # touch the key; LINDEX does, so the idle time is asked first and travels with the id (``idle``).
    per = 2 if typed else 3
    pipe = client.pipeline(transaction=False)
    for key in keys:
        if not typed:
            pipe.type(key)
        pipe.object("idletime", key)
        pipe.lindex(key, 0)
    replies = pipe.execute(raise_on_error=False)
    for i, key in enumerate(keys):
        found = replies[per * i : per * i + per]
        if not typed and reply_text(found[0]) != "list":
            continue
        idle, first = found[-2], found[-1]
        if isinstance(first, Exception) or first is None or not _looks_like_message(first):
            continue
        try:
            text = key.decode("utf-8") if isinstance(key, bytes) else key
        except UnicodeDecodeError:
            log.warning("skipping session key that is not valid UTF-8: %r", key[:80])
            continue
        sid = SessionId(text, list_kind(text, community_prefixes))
        sid.idle = None if isinstance(idle, Exception) or idle is None else int(idle)  # LFU servers refuse it
        yield sid


def _looks_like_message(raw: Raw) -> bool:
    # The shape check only; full validation happens when a message is shown.
    try:
        doc = load_json(raw)
    except (ValueError, RecursionError):
        return False
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("type"), str)
        and isinstance(doc.get("data"), dict)
        and "content" in doc["data"]
    )


def scan_type_supported(client: Any) -> bool:
    """True when every server behind ``client`` has SCAN ... TYPE (Redis >= 6.0); asked once per client."""
    try:
        return _SCAN_TYPE[client]
    except (KeyError, TypeError):  # TypeError: a client that cannot be weakly referenced
        pass
    supported = _ask_scan_type(client)
    with contextlib.suppress(TypeError):
        _SCAN_TYPE[client] = supported
    return supported


def _ask_scan_type(client: Any) -> bool:
    try:
        if isinstance(client, redis.cluster.RedisCluster):
            replies = client.info("server", target_nodes=redis.cluster.RedisCluster.PRIMARIES)
            infos = list(replies.values()) if "redis_version" not in replies else [replies]
        else:
            infos = [client.info("server")]
    except redis.ResponseError:  # INFO disabled (renamed): assume the old server
        return False
    versions = [version_tuple(info.get("redis_version", "0")) for info in infos if isinstance(info, dict)]
    return bool(versions) and min(versions) >= _SCAN_TYPE_SINCE
