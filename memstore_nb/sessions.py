"""Finding chat sessions in Redis and describing them: SCAN, LLEN, TTL, MEMORY USAGE, standalone and cluster."""

from __future__ import annotations

import contextlib
import html
import logging
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

import redis
import redis.cluster

from .codec import content_text, decode_message, escape_controls, load_json, message_role, message_text, reply_text
from .errors import CorruptMessageError, MemstoreError, WrongTypeError
from .kinds import COMMUNITY, MEMSTORE, SessionId, kind_of, list_kind, registered_sources, source_for

__all__ = [
    "SessionId",
    "SessionInfo",
    "SessionNotFound",
    "SessionStats",
    "SessionSummary",
    "entry_role",
    "find_in_session",
    "list_sessions",
    "session_info",
    "session_stats",
    "summarize_sessions",
]

log = logging.getLogger(__name__)

SyncClient = Union[redis.Redis, redis.cluster.RedisCluster]
Raw = Union[bytes, str]

_PREVIEW_CHARS = 80
_SCAN_TYPE_SINCE = (6, 0)
# client -> whether its servers have SCAN ... TYPE: asked once per client (an INFO round trip), not per listing.
_SCAN_TYPE: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


class SessionNotFound(MemstoreError, KeyError):
    """The session's key does not exist (never written, deleted, or expired).

    Attributes:
        session_id: the key that was looked up.
    """

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        super().__init__(
            f"no session {session_id!r}: the key does not exist (it may have expired or been deleted); "
            "list the existing ones with list_sessions(client)"
        )

    def __str__(self) -> str:  # KeyError would show the repr of the whole message
        return str(self.args[0])


# -- listing ----------------------------------------------------------------


def list_sessions(client: SyncClient, match: str = "*", *, count: int = 1000) -> Iterator[str]:
    """Yield the chat sessions of every kind, lazily, with SCAN (never KEYS).

    A key counts as a session when it is a LIST whose first element is a
    LangChain message in ``message_to_dict`` form, so other lists in the same
    database do not show up. Each id is a :class:`~memstore_nb.kinds.SessionId`
    (a ``str``) whose ``kind`` is ``"memstore"`` (upstream layout, oldest first)
    or ``"community"`` (langchain-community's ``message_store:`` keys, newest
    first); sources registered with :func:`~memstore_nb.kinds.register_source`
    (LangGraph threads) follow, with their own kind. On Redis >= 6.0 SCAN filters by type on the
    server; on 5.x each candidate's TYPE is asked in the same pipelined batch
    as its first element. A ``redis.cluster.RedisCluster`` is scanned on
    every primary. Keys are checked in pipelined batches that grow to
    ``count``, so the first sessions come quickly and 100,000 keys cost about
    100 SCAN calls and a little over 100 round trips of checks.

    SCAN may report a key twice while Redis resizes its table; callers that
    must not show duplicates keep a set of what they have shown.

    Args:
        client: a ``redis.Redis`` or ``redis.cluster.RedisCluster``.
        match: glob pattern (``"chat:*"`` for sessions stored with ``key_prefix="chat:"``).
        count: SCAN's COUNT hint and the size of each checking batch.

    Yields:
        Session ids: the keys, as :class:`~memstore_nb.kinds.SessionId`. Keys that are not valid UTF-8 are skipped.

    Example:
        >>> for sid in itertools.islice(list_sessions(client, "user-*"), 20):  # doctest: +SKIP
        ...     print(sid)
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    typed = _scan_type_supported(client)
    keys = client.scan_iter(match=match, count=count, **({"_type": "list"} if typed else {}))
    for batch in _batches(keys, count):
        yield from _sessions_in(client, batch, typed)
    for source in registered_sources():
        for sid in source.list(client, match, count):
            yield SessionId(sid, source.kind)


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


def _sessions_in(client: SyncClient, keys: Sequence[Raw], typed: bool) -> Iterator[str]:
    pipe = client.pipeline(transaction=False)
    for key in keys:
        if not typed:
            pipe.type(key)
        pipe.lindex(key, 0)
    replies = pipe.execute(raise_on_error=False)
    step = 1 if typed else 2
    for i, key in enumerate(keys):
        if not typed and reply_text(replies[2 * i]) != "list":
            continue
        first = replies[i * step + step - 1]
        if isinstance(first, Exception) or first is None or not _looks_like_message(first):
            continue
        try:
            text = key.decode("utf-8") if isinstance(key, bytes) else key
            yield SessionId(text, list_kind(text))
        except UnicodeDecodeError:
            log.warning("skipping session key that is not valid UTF-8: %r", key[:80])


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


def _scan_type_supported(client: SyncClient) -> bool:
    """True when every server behind ``client`` has SCAN ... TYPE (Redis >= 6.0); asked once per client."""
    try:
        return _SCAN_TYPE[client]
    except (KeyError, TypeError):  # TypeError: a client that cannot be weakly referenced
        pass
    supported = _ask_scan_type(client)
    with contextlib.suppress(TypeError):
        _SCAN_TYPE[client] = supported
    return supported


def _ask_scan_type(client: SyncClient) -> bool:
    try:
        if isinstance(client, redis.cluster.RedisCluster):
            replies = client.info("server", target_nodes=redis.cluster.RedisCluster.PRIMARIES)
            infos = list(replies.values()) if "redis_version" not in replies else [replies]
        else:
            infos = [client.info("server")]
    except redis.ResponseError:  # INFO disabled (renamed): assume the old server
        return False
    versions = [_version(info.get("redis_version", "0")) for info in infos if isinstance(info, dict)]
    return bool(versions) and min(versions) >= _SCAN_TYPE_SINCE


def _version(text: Any) -> tuple[int, ...]:
    parts = []
    for piece in str(text).split(".")[:3]:
        digits = piece[: len(piece) - len(piece.lstrip("0123456789"))]
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


# -- describing -------------------------------------------------------------


@dataclass(frozen=True)
class SessionStats:
    """What the viewer's header shows: size, expiry, memory."""

    session_id: str
    length: int
    ttl: int | None
    memory: int | None
    kind: str = MEMSTORE


@dataclass(frozen=True)
class SessionSummary:
    """One row of a session list: size, expiry and the latest message."""

    session_id: str
    length: int
    ttl: int | None
    last_role: str
    last_preview: str
    kind: str = MEMSTORE
    memory: int | None = None

    def label(self) -> str:
        """A one-line plain-text description (for a list row; plain text, so escape it before using it in HTML)."""
        ttl = "no TTL" if self.ttl is None else f"TTL {_duration(self.ttl)}"
        name = escape_controls(self.session_id)  # bidi and control characters shown, never obeyed
        if self.length == 0:
            return f"{name} · gone"
        msgs = "message" if self.length == 1 else "messages"
        preview = escape_controls(self.last_preview)
        return f"{name} · {self.length:,} {msgs} · {ttl} · {self.last_role}: {preview}"


@dataclass(frozen=True)
class SessionInfo:
    """A session at a glance, as :func:`session_info` returns it.

    Attributes:
        session_id: the key.
        length: number of messages (LLEN).
        ttl: seconds until the key expires, or ``None`` when it has no expiry.
        memory: bytes the key uses (MEMORY USAGE), or ``None`` when the server refuses the command.
        first_role, first_preview: who spoke first, and the start of what they said.
        last_role, last_preview: the same for the latest message.
        roles: how many messages of each role the loaded page holds.
        page_size: how many of the latest messages ``roles`` counts.
        kind: ``"memstore"``, ``"community"`` or a plug-in source's kind (see :mod:`memstore_nb.kinds`).
    """

    session_id: str
    length: int
    ttl: int | None
    memory: int | None
    first_role: str
    first_preview: str
    last_role: str
    last_preview: str
    roles: dict[str, int] = field(default_factory=dict)
    page_size: int = 0
    kind: str = MEMSTORE

    def __repr__(self) -> str:
        return (
            f"SessionInfo(session_id={self.session_id!r}, kind={self.kind!r}, length={self.length}, ttl={self.ttl}, "
            f"memory={self.memory}, roles={self.roles})"
        )

    def _repr_html_(self) -> str:
        esc = html.escape
        ttl = "no expiry" if self.ttl is None else _duration(self.ttl)
        memory = "unknown (MEMORY USAGE refused)" if self.memory is None else f"{self.memory:,} bytes"
        roles = ", ".join(f"{esc(role)}: {n}" for role, n in sorted(self.roles.items())) or "none"
        rows = [
            ("session", f"<code>{esc(escape_controls(self.session_id))}</code>"),
            ("kind", esc(self.kind)),
            ("messages", f"{self.length:,}"),
            ("TTL", esc(ttl)),
            ("memory", esc(memory)),
            ("first", f"<b>{esc(self.first_role)}</b>: {esc(self.first_preview)}"),
            ("last", f"<b>{esc(self.last_role)}</b>: {esc(self.last_preview)}"),
            (f"roles (last {self.page_size})", roles),
        ]
        cell = 'style="text-align:left;padding-right:1em"'
        body = "".join(f"<tr><th {cell}>{name}</th><td {cell}>{value}</td></tr>" for name, value in rows)
        return f'<table class="msnb-session-info">{body}</table>'


def session_info(client: SyncClient, session_id: str, *, page_size: int = 50) -> SessionInfo:
    """Describe one session in one round trip (plus a TYPE when it is not a list).

    Args:
        client: a ``redis.Redis`` or ``redis.cluster.RedisCluster``.
        session_id: the key (include any ``key_prefix``).
        page_size: how many of the latest messages to load for the roles count.

    Returns:
        A :class:`SessionInfo`; it shows as a small table in a notebook.

    Raises:
        SessionNotFound: the key does not exist.
        WrongTypeError: the key holds something other than a list.

    Example:
        >>> session_info(client, "session1")  # doctest: +SKIP
        SessionInfo(session_id='session1', length=4, ttl=3581, memory=1200, roles={'ai': 2, 'human': 2})
    """
    kind = kind_of(session_id)
    newest_first = kind == COMMUNITY
    pipe = client.pipeline(transaction=False)
    pipe.llen(session_id)
    pipe.ttl(session_id)
    pipe.memory_usage(session_id)
    pipe.lindex(session_id, -1 if newest_first else 0)
    if newest_first:
        pipe.lrange(session_id, 0, max(page_size, 1) - 1)
    else:
        pipe.lrange(session_id, -max(page_size, 1), -1)
    length, ttl, memory, first, page = pipe.execute(raise_on_error=False)
    length = _checked_length(client, session_id, length)
    if newest_first and isinstance(page, list):
        page = page[::-1]
    items = [_decode(raw, session_id, length - len(page) + i) for i, raw in enumerate(page)]
    first_role, first_preview = _preview(_decode(first, session_id, 0) if first is not None else None)
    last_role, last_preview = _preview(items[-1] if items else None)
    roles = Counter(entry_role(item) for item in items)
    return SessionInfo(
        session_id=session_id,
        length=length,
        ttl=_ttl(ttl),
        memory=None if isinstance(memory, Exception) or memory is None else int(memory),
        first_role=first_role,
        first_preview=first_preview,
        last_role=last_role,
        last_preview=last_preview,
        roles=dict(roles),
        page_size=len(items),
        kind=kind,
    )


def session_stats(client: SyncClient, session_id: str) -> SessionStats:
    """Length, TTL and memory of one session in one round trip (LLEN, TTL, MEMORY USAGE).

    Raises:
        SessionNotFound: the key does not exist.
        WrongTypeError: the key holds something other than a list.
    """
    pipe = client.pipeline(transaction=False)
    pipe.llen(session_id)
    pipe.ttl(session_id)
    pipe.memory_usage(session_id)
    length, ttl, memory = pipe.execute(raise_on_error=False)
    return SessionStats(
        session_id=session_id,
        length=_checked_length(client, session_id, length),
        ttl=_ttl(ttl),
        memory=None if isinstance(memory, Exception) or memory is None else int(memory),
        kind=kind_of(session_id),
    )


def summarize_sessions(client: SyncClient, session_ids: Sequence[str], *, memory: bool = False) -> list[SessionSummary]:
    """One :class:`SessionSummary` per id, in one pipelined round trip (LLEN, TTL, the newest message each).

    The newest message is the list's last element, or its first for ``"community"``
    histories (LPUSH). Ids of plug-in kinds are summarized by their source. A key
    that vanished (or changed type) since it was listed gets ``length=0``.

    Args:
        client: a ``redis.Redis`` or ``redis.cluster.RedisCluster``.
        session_ids: ids as :func:`list_sessions` yields them (plain strings are classified by their key).
        memory: also ask MEMORY USAGE for each (one more command per id, same round trip).
    """
    if not session_ids:
        return []
    lists = [sid for sid in session_ids if source_for(kind_of(sid)) is None]
    out: dict[str, SessionSummary] = {}
    if lists:
        per = 4 if memory else 3
        pipe = client.pipeline(transaction=False)
        for sid in lists:
            pipe.llen(sid)
            pipe.ttl(sid)
            pipe.lindex(sid, 0 if kind_of(sid) == COMMUNITY else -1)
            if memory:
                pipe.memory_usage(sid)
        replies = pipe.execute(raise_on_error=False)
        for i, sid in enumerate(lists):
            length, ttl, last = replies[per * i : per * i + 3]
            kind = kind_of(sid)
            if isinstance(length, Exception) or not length:
                out[sid] = SessionSummary(sid, 0, None, "", "", kind)
                continue
            index = int(length) - 1
            role, preview = _preview(_decode(last, sid, index) if isinstance(last, (bytes, str)) else None)
            used = replies[per * i + 3] if memory else None
            size = None if isinstance(used, Exception) or used is None else int(used)
            out[sid] = SessionSummary(sid, int(length), _ttl(ttl), role, preview, kind, size)
    by_kind: dict[str, list[str]] = {}
    for sid in session_ids:
        if sid not in out:
            by_kind.setdefault(kind_of(sid), []).append(sid)
    for kind, ids in by_kind.items():
        source = source_for(kind)
        if source is not None:
            out.update(zip(ids, source.summarize(client, ids), strict=True))
    return [out[sid] for sid in session_ids]


def find_in_session(
    client: SyncClient,
    session_id: str,
    text: str,
    *,
    chunk_size: int = 1000,
    progress: Callable[[int, int], None] | None = None,
) -> list[int]:
    """Indices of the messages whose text contains ``text``, ignoring case.

    Reads the list in LRANGE windows of ``chunk_size``, so memory stays flat
    for any session size; ``progress(done, total)`` is called after each window.
    An unreadable element is searched as its raw text.

    Raises:
        SessionNotFound: the key does not exist.
        WrongTypeError: the key holds something other than a list.
    """
    needle = text.casefold()
    total = session_stats(client, session_id).length
    hits: list[int] = []
    if not needle:
        return hits
    start = 0
    while start < total:
        try:
            raws = read_raw(client, session_id, start, start + chunk_size - 1)
        except redis.ResponseError as exc:
            raise _wrong_type(client, session_id, exc) from exc
        if not raws:  # the list shrank meanwhile
            break
        hits.extend(start + i for i, raw in enumerate(raws) if needle in _searchable(raw).casefold())  # type: ignore[union-attr]
        start += len(raws)
        if progress is not None:
            progress(min(start, total), total)
    return hits


def read_raw(client: SyncClient, session_id: str, start: int, end: int) -> list[Raw]:
    """Elements ``start``..``end`` (inclusive, 0 = oldest, not negative) as stored, in conversation order.

    A ``"community"`` history is stored newest first, so its window is read from the
    other end (LRANGE with negative indices) and reversed; nothing is rewritten.
    """
    if kind_of(session_id) == COMMUNITY:
        return list(client.lrange(session_id, -(end + 1), -(start + 1)))[::-1]  # type: ignore[union-attr]
    return list(client.lrange(session_id, start, end))  # type: ignore[union-attr]


def _searchable(raw: Raw) -> str:
    # orjson and a dict walk instead of building pydantic models: 100,000
    # messages search in well under a second this way.
    try:
        doc = load_json(raw)
        content = doc["data"]["content"]
    except (ValueError, RecursionError, KeyError, TypeError, IndexError):
        return reply_text(raw)
    return content_text(content)


# -- helpers ----------------------------------------------------------------


def _checked_length(client: SyncClient, key: str, reply: Any) -> int:
    if isinstance(reply, redis.ResponseError):
        raise _wrong_type(client, key, reply) from reply
    if isinstance(reply, Exception):
        raise reply
    if not reply:  # Redis never keeps an empty list: 0 means no key
        raise SessionNotFound(key)
    return int(reply)


def _wrong_type(client: SyncClient, key: str, exc: redis.ResponseError) -> Exception:
    if "WRONGTYPE" not in str(exc):
        return exc
    try:
        actual = reply_text(client.type(key))  # type: ignore[arg-type]
    except redis.RedisError:
        actual = "non-list value"
    return WrongTypeError(key, actual)


def _decode(raw: Any, key: str, index: int) -> Any:
    if isinstance(raw, Exception) or raw is None:
        return None
    try:
        return decode_message(raw, key=key, index=index)
    except CorruptMessageError as exc:
        return exc


def entry_role(item: Any) -> str:
    """A list entry's role for filters and counts: the message's role, or ``"unreadable"``."""
    return "unreadable" if isinstance(item, CorruptMessageError) else message_role(item)


def _preview(item: Any) -> tuple[str, str]:
    if item is None:
        return "", ""
    if isinstance(item, CorruptMessageError):
        return "unreadable", _shorten(item.preview)
    return message_role(item), _shorten(message_text(item))


def _shorten(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _PREVIEW_CHARS else flat[: _PREVIEW_CHARS - 1] + "…"


def _ttl(reply: Any) -> int | None:
    if isinstance(reply, Exception) or reply is None or int(reply) < 0:
        return None
    return int(reply)


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"
