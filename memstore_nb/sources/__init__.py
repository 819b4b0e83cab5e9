"""Every kind of chat history a database holds, read through one interface.

:func:`list_sessions`, :func:`session_info`, :func:`summarize_sessions` and :func:`open_transcript`
work on every kind — upstream/memstore-nb lists, langchain-community lists, LangGraph threads, and
any source added with :func:`register_source` — so the CLI and the viewer never care which.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import face

if TYPE_CHECKING:
    from .base import (
        COMMUNITY,
        COMMUNITY_PREFIX,
        LANGGRAPH,
        MEMSTORE,
        BaseTranscript,
        HistorySource,
        SessionId,
        SessionInfo,
        SessionNotFound,
        SessionStats,
        SessionSummary,
        Transcript,
        kind_of,
        list_kind,
    )
    from .catalog import (
        find_session,
        list_sessions,
        open_transcript,
        register_source,
        registered_sources,
        session_info,
        source_for,
        summarize_sessions,
        unregister_source,
    )
    from .langgraph import LangGraphThreads, ThreadTranscript
    from .lists import ListSource, ListTranscript, find_in_session, read_raw, session_stats

_WHERE = {
    **dict.fromkeys(
        [
            "COMMUNITY",
            "COMMUNITY_PREFIX",
            "LANGGRAPH",
            "MEMSTORE",
            "BaseTranscript",
            "HistorySource",
            "SessionId",
            "SessionInfo",
            "SessionNotFound",
            "SessionStats",
            "SessionSummary",
            "Transcript",
            "kind_of",
            "list_kind",
        ],
        ".base",
    ),
    **dict.fromkeys(
        [
            "find_session",
            "list_sessions",
            "open_transcript",
            "register_source",
            "registered_sources",
            "session_info",
            "source_for",
            "summarize_sessions",
            "unregister_source",
        ],
        ".catalog",
    ),
    "LangGraphThreads": ".langgraph",
    "ThreadTranscript": ".langgraph",
    **dict.fromkeys(["ListSource", "ListTranscript", "find_in_session", "read_raw", "session_stats"], ".lists"),
}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = face(__name__, _WHERE)
