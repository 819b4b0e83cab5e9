"""memstore-nb: LangChain chat message history in Redis / Memorystore, for notebooks."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from .auth import authenticate, set_project
from .endpoint import Endpoint, aconnect, connect, parse_endpoint
from .errors import MemstoreError
from .history import MemorystoreChatMessageHistory
from .local import start_local_redis
from .sessions import SessionInfo, list_sessions, session_info

if TYPE_CHECKING:
    from .form import ConnectionForm
    from .viewer.widget import ChatHistoryViewer

try:
    __version__ = version("memstore-nb")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "ChatHistoryViewer",
    "ConnectionForm",
    "Endpoint",
    "MemorystoreChatMessageHistory",
    "MemstoreError",
    "SessionInfo",
    "__version__",
    "aconnect",
    "authenticate",
    "connect",
    "list_sessions",
    "parse_endpoint",
    "session_info",
    "set_project",
    "start_local_redis",
]

# The widgets load ipywidgets (and its front-end comm machinery); app code that
# only stores history should not pay for that, so they load on first use.
_LAZY = {"ChatHistoryViewer": ".viewer.widget", "ConnectionForm": ".form"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
