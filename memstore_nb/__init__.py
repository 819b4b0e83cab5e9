"""memstore-nb: LangChain chat message history in Redis / Memorystore, for notebooks."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for type checkers and IDEs; at run time each name loads on first use
    from .auth import authenticate, set_project
    from .checkpoint.saver import MemorystoreSaver
    from .endpoint import Endpoint, aconnect, connect, parse_endpoint
    from .errors import MemstoreError
    from .form import ConnectionForm
    from .history import MemorystoreChatMessageHistory
    from .local import start_local_redis
    from .longterm.store import MemorystoreStore
    from .sessions import SessionInfo, list_sessions, session_info
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
    "ConnectionForm": ".form",
    "Endpoint": ".endpoint",
    "MemorystoreChatMessageHistory": ".history",
    "MemorystoreSaver": ".checkpoint",
    "MemorystoreStore": ".longterm",
    "MemstoreError": ".errors",
    "SessionInfo": ".sessions",
    "aconnect": ".endpoint",
    "authenticate": ".auth",
    "connect": ".endpoint",
    "list_sessions": ".sessions",
    "parse_endpoint": ".endpoint",
    "session_info": ".sessions",
    "set_project": ".auth",
    "start_local_redis": ".local",
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
