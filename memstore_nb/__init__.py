"""memstore-nb: LangChain chat message history in Redis / Memorystore, for notebooks."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for type checkers and IDEs; at run time each name loads on first use
    from .checkpoint.saver import MemorystoreSaver
    from .connection.auth import authenticate, set_project
    from .connection.client import aconnect, connect
    from .connection.endpoint import Endpoint, parse_endpoint
    from .connection.form import ConnectionForm
    from .errors import MemstoreError
    from .history.chat import MemorystoreChatMessageHistory
    from .local.launch import start_local_redis
    from .longterm.store import MemorystoreStore
    from .sources.base import SessionInfo
    from .sources.catalog import list_sessions, session_info
    from .viewer.widget import ChatHistoryViewer

    __version__: str

__all__ = [
    "ChatHistoryViewer",
    "ConnectionForm",
    "Endpoint",
    "MemorystoreChatMessageHistory",
    "MemorystoreSaver",
    "MemorystoreStore",
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

# `import memstore_nb` loads nothing heavy: redis, langchain-core, google-auth and ipywidgets
# load with the first name that needs them, so `memstore-nb --version` answers at once.
_WHERE = {
    "ChatHistoryViewer": ".viewer.widget",
    "ConnectionForm": ".connection.form",
    "Endpoint": ".connection.endpoint",
    "MemorystoreChatMessageHistory": ".history.chat",
    "MemorystoreSaver": ".checkpoint",
    "MemorystoreStore": ".longterm",
    "MemstoreError": ".errors",
    "SessionInfo": ".sources.base",
    "aconnect": ".connection.client",
    "authenticate": ".connection.auth",
    "connect": ".connection.client",
    "list_sessions": ".sources.catalog",
    "parse_endpoint": ".connection.endpoint",
    "session_info": ".sources.catalog",
    "set_project": ".connection.auth",
    "start_local_redis": ".local.launch",
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("memstore-nb")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value: Any = _version()
    elif name in _WHERE:
        value = getattr(import_module(_WHERE[name], __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # cached: the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
