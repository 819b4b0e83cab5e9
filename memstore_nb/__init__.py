"""memstore-nb: LangChain chat message history in Redis / Memorystore, for notebooks."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .errors import MemstoreError
from .history import MemorystoreChatMessageHistory
from .local import start_local_redis

try:
    __version__ = version("memstore-nb")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "MemorystoreChatMessageHistory",
    "MemstoreError",
    "__version__",
    "start_local_redis",
]
