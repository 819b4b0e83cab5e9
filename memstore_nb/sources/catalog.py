"""Every kind of history in one database, through one door: list, summarize, describe and open any session.

The list kinds are built in (:class:`~memstore_nb.sources.lists.ListSource`); LangGraph threads join
when ``langgraph`` is installed (:class:`~memstore_nb.sources.langgraph.LangGraphThreads`, found by
``find_spec``, imported only when a thread is read); :func:`register_source` adds any other.
Whatever :func:`list_sessions` yields, :func:`session_info`, :func:`summarize_sessions` and
:func:`open_transcript` accept.
"""

from __future__ import annotations

import builtins
import importlib.util
from collections.abc import Iterator, Sequence
from typing import Any

from ..clients import checked_text
from ..errors import ArgumentError
from .base import (
    LANGGRAPH,
    HistorySource,
    SessionId,
    SessionInfo,
    SessionNotFound,
    SessionSummary,
    SourceDefaults,
    Transcript,
    kind_of,
    list_kind,
)
from .lists import ListSource

__all__ = [
    "checked_community_prefixes",
    "find_session",
    "known_kinds",
    "list_sessions",
    "open_transcript",
    "register_source",
    "registered_sources",
    "session_info",
    "source_for",
    "source_of",
    "summarize_sessions",
    "unregister_source",
]

_LISTS = ListSource()
_SOURCES: dict[str, HistorySource] = {}
_AUTOLOADED = False


def _autoload() -> None:
    # LangGraph threads join the catalog when langgraph is installed. Only its presence is checked
    # (find_spec, no import): `import memstore_nb` and listing without it stay light and quiet.
    global _AUTOLOADED
    if _AUTOLOADED:
        return
    _AUTOLOADED = True
    try:
        present = importlib.util.find_spec("langgraph") is not None
    except (ImportError, ValueError, AttributeError):
        present = False
    if present and LANGGRAPH not in _SOURCES:
        from .langgraph import LangGraphThreads

        _SOURCES[LANGGRAPH] = LangGraphThreads()


def register_source(source: HistorySource) -> None:
    """Make :func:`list_sessions`, :func:`session_info` and the viewer list and open ``source.kind`` too.

    A source registered for a kind replaces the one before it (``LangGraphThreads(key_prefix="app:")``
    replaces the default LangGraph source). A source without ``exists`` or ``info`` (written for
    memstore-nb 0.1) gets :class:`~memstore_nb.sources.SourceDefaults`' ones.
    """
    if source.kind in _LISTS.kinds:
        raise ArgumentError(f"kind {source.kind!r} is built in; pick another name", source.kind)
    _autoload()
    _SOURCES[source.kind] = source if isinstance(source, SourceDefaults) else _Adapted(source)


class _Adapted(SourceDefaults):
    """A source registered as it is, with :class:`SourceDefaults` for what it does not answer itself."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.kind = source.kind

    def list(self, client: Any, match: str, count: int) -> Iterator[str]:
        return self.source.list(client, match, count)  # type: ignore[no-any-return]

    def summarize(self, client: Any, session_ids: Sequence[str]) -> builtins.list[SessionSummary]:
        return self.source.summarize(client, session_ids)  # type: ignore[no-any-return]

    def open(self, client: Any, session_id: str) -> Any:
        return self.source.open(client, session_id)

    def exists(self, client: Any, session_id: str) -> bool:
        own = getattr(self.source, "exists", None)  # optional in the 0.1 protocol
        return bool(own(client, session_id)) if own is not None else super().exists(client, session_id)

    def info(self, client: Any, session_id: str, page_size: int = 50) -> SessionInfo:
        own = getattr(self.source, "info", None)  # optional in the 0.1 protocol
        return own(client, session_id, page_size) if own is not None else super().info(client, session_id, page_size)


def unregister_source(kind: str) -> None:
    """Forget the source registered for ``kind`` (nothing happens when there is none)."""
    _autoload()
    _SOURCES.pop(kind, None)


def registered_sources() -> builtins.list[HistorySource]:
    """The plug-in sources, in registration order (``"langgraph"`` first when LangGraph is installed)."""
    _autoload()
    return list(_SOURCES.values())


def source_for(kind: str) -> HistorySource | None:
    """The registered source that reads ``kind``, or None (also for the built-in list kinds)."""
    _autoload()
    return _SOURCES.get(kind)


def checked_community_prefixes(prefixes: Sequence[str], client: Any = None) -> tuple[str, ...]:
    """``community_prefixes`` as :func:`list_sessions` takes them: one string or several, each non-empty text.

    Raises:
        ArgumentError: a prefix is empty or not text Redis can be sent.
    """
    if isinstance(prefixes, str):  # one prefix given as a string: "chat:" is not ("c", "h", ...)
        prefixes = (prefixes,)
    checked = tuple(checked_text("community_prefixes item", p, client) for p in prefixes)
    if any(not p for p in checked):
        raise ArgumentError("an empty community prefix would make every list a community history", prefixes)
    return checked


def list_sessions(
    client: Any, match: str = "*", *, count: int = 1000, community_prefixes: Sequence[str] = ()
) -> Iterator[str]:
    """Yield the chat sessions of every kind, lazily, with SCAN (never KEYS).

    A key counts as a session when it is a LIST whose first element is a LangChain message in
    ``message_to_dict`` form, so other lists in the same database do not show up. Each id is a
    :class:`~memstore_nb.sources.SessionId` (a ``str``) whose ``kind`` is ``"memstore"``
    (upstream layout, oldest first) or ``"community"`` (langchain-community's
    ``message_store:`` keys, newest first); the registered sources (LangGraph threads) follow,
    with their own kind. A ``redis.cluster.RedisCluster`` is scanned on every primary.

    langchain-community's ``RedisChatMessageHistory`` takes a ``key_prefix`` of its own
    (``key_prefix="chat:"``): name it in ``community_prefixes`` and its lists are listed as
    ``"community"`` (read newest-first, in conversation order) instead of ``"memstore"``.

    SCAN may report a key twice while Redis resizes its table; callers that must not show
    duplicates keep a set of what they have shown.

    Args:
        client: a ``redis.Redis`` or ``redis.cluster.RedisCluster``.
        match: glob pattern (``"chat:*"`` for sessions stored with ``key_prefix="chat:"``).
        count: SCAN's COUNT hint and the size of each checking batch.
        community_prefixes: key prefixes of langchain-community histories besides its default
            ``message_store:`` (a string is one prefix).

    Yields:
        Session ids, as :class:`~memstore_nb.sources.SessionId`. Keys that are not valid UTF-8 are skipped.

    Raises:
        ArgumentError: ``match`` is not text the client can send, ``count`` is below 1, or a
            community prefix is empty or not text.

    Example:
        >>> for sid in itertools.islice(list_sessions(client, "user-*"), 20):  # doctest: +SKIP
        ...     print(sid)
        >>> list(list_sessions(client, "chat:*", community_prefixes=["chat:"]))  # doctest: +SKIP
        [SessionId('chat:alice')]  # kind "community"
    """
    checked_text("match", match, client)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ArgumentError(f"count must be a whole number of at least 1, got {count!r}", count)
    return _listing(client, match, count, checked_community_prefixes(community_prefixes, client))


def _listing(client: Any, match: str, count: int, community_prefixes: tuple[str, ...]) -> Iterator[str]:
    yield from _LISTS.list(client, match, count, community_prefixes=community_prefixes)
    for source in registered_sources():
        for sid in source.list(client, match, count):
            yield sid if isinstance(sid, SessionId) and sid.kind == source.kind else SessionId(sid, source.kind)


def find_session(client: Any, session_id: str, kind: str | None = None) -> SessionId | None:
    """``session_id`` with the kind of the source that holds it: ``kind`` when given (or when
    ``session_id`` is a :class:`SessionId`), else the first source that has it (lists first); None
    when no source does.

    Raises:
        ArgumentError: ``session_id`` is not text the client can send, or ``kind`` names no source
            (the message lists the kinds there are, and says to install langgraph for threads).
    """
    checked_text("session_id", session_id, client)
    kind = kind or getattr(session_id, "kind", None)
    if kind:
        if kind not in _LISTS.kinds:
            source_of(kind)  # an unknown kind is an error, not "no such session"
        return SessionId(str(session_id), kind)
    if _LISTS.exists(client, session_id):
        return SessionId(str(session_id), list_kind(session_id))
    for source in registered_sources():
        if source.exists(client, session_id):
            return SessionId(str(session_id), source.kind)
    return None


def known_kinds() -> builtins.list[str]:
    """Every kind a session can be read as: the list kinds and the registered sources', sorted."""
    return sorted({*_LISTS.kinds, *(s.kind for s in registered_sources())})


def source_of(kind: str) -> HistorySource:
    """The registered source for ``kind``, or an :class:`ArgumentError` that lists the kinds there are."""
    source = source_for(kind)
    if source is None:
        known = known_kinds()
        hint = "" if LANGGRAPH in known else " (LangGraph threads need langgraph: pip install langgraph-checkpoint)"
        raise ArgumentError(
            f"no reader for {kind!r} histories: the kinds are {', '.join(known)}{hint} "
            "(add a reader with memstore_nb.sources.register_source)",
            kind,
        )
    return source


def session_info(client: Any, session_id: str, *, page_size: int = 50, kind: str | None = None) -> SessionInfo:
    """Describe one session of any kind: length, TTL, memory, first and last message, roles.

    Args:
        client: a ``redis.Redis`` or ``redis.cluster.RedisCluster``.
        session_id: an id as :func:`list_sessions` yields it, or a plain key / thread id (its
            kind is then found: a list key first, else a LangGraph thread).
        page_size: how many of the latest messages to load for the roles count.
        kind: read it as this kind (``"community"`` for a langchain-community history stored
            under another prefix).

    Returns:
        A :class:`SessionInfo`; it shows as a small table in a notebook.

    Raises:
        SessionNotFound: no source holds it.
        WrongTypeError: the key holds something other than a list.

    Example:
        >>> session_info(client, "session1")  # doctest: +SKIP
        SessionInfo(session_id='session1', length=4, ttl=3581, memory=1200, roles={'ai': 2, 'human': 2})
    """
    found = find_session(client, session_id, kind)
    if found is None:
        raise SessionNotFound(str(session_id))
    if found.kind in _LISTS.kinds:
        return _LISTS.info(client, found, page_size, found.kind)
    return source_of(found.kind).info(client, found, page_size)


def summarize_sessions(client: Any, session_ids: Sequence[str], *, memory: bool = False) -> list[SessionSummary]:
    """One :class:`SessionSummary` per id, each kind's in one pipelined round trip where it can.

    The newest message is the list's last element, or its first for ``"community"`` histories
    (LPUSH). A session that vanished (or changed type) since it was listed gets ``length=0``.

    Args:
        client: a ``redis.Redis`` or ``redis.cluster.RedisCluster``.
        session_ids: ids as :func:`list_sessions` yields them (plain strings are classified by their key).
        memory: also ask MEMORY USAGE for each list (one more command per id, same round trip).
    """
    if not session_ids:
        return []
    by_kind: dict[str, list[str]] = {}
    for sid in session_ids:
        by_kind.setdefault(kind_of(sid), []).append(sid)
    out: dict[tuple[str, str], SessionSummary] = {}
    lists = [sid for kind in _LISTS.kinds for sid in by_kind.pop(kind, [])]
    if lists:
        rows = _LISTS.summarize(client, lists, memory=memory)
        out.update(((str(sid), kind_of(sid)), row) for sid, row in zip(lists, rows, strict=True))
    for kind, ids in by_kind.items():
        rows = source_of(kind).summarize(client, ids)
        out.update(((str(sid), kind), row) for sid, row in zip(ids, rows, strict=True))
    return [out[(str(sid), kind_of(sid))] for sid in session_ids]


def open_transcript(client: Any, session_id: str, kind: str | None = None) -> Transcript:
    """The conversation behind ``session_id``, whatever its kind.

    Args:
        client: a ``redis.Redis`` or ``redis.cluster.RedisCluster``.
        session_id: an id as :func:`list_sessions` yields it.
        kind: its kind, when ``session_id`` is a plain string of another kind than its key says.

    Raises:
        ArgumentError: no source reads that kind, or ``session_id`` is not text the client can send.
    """
    checked_text("session_id", session_id, client)
    kind = kind or kind_of(session_id)
    if kind in _LISTS.kinds:
        return _LISTS.open(client, session_id, kind)
    return source_of(kind).open(client, session_id)
