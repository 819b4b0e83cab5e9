"""What one store decides once: its key prefix, its vector kind, and the little state its writes share."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .layout import NamespaceKeys, Registry

__all__ = ["EXACT", "INDEXED", "NO_VECTORS", "Settings"]

EXACT = "x"  # vectors as rows of the namespace's matrices, ranked by the client (plain Redis)
INDEXED = "i"  # vectors as hash documents in an FT.CREATE index (a server with vector search)
NO_VECTORS = ""  # the store has no index

# A namespace is registered again by a process after this long (ms), and a registry entry found
# empty is removed only when nobody registered it for twice as long: a put registers before it
# writes, and the gap between the two is far shorter.
REGISTER_EVERY_MS = 5 * 60_000
UNREGISTER_AFTER_MS = 2 * REGISTER_EVERY_MS


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class Settings:
    """A store's fixed choices (made by :class:`~memstore_nb.longterm.store.MemorystoreStore`).

    Attributes:
        key_prefix: text in front of every key.
        kind: :data:`EXACT`, :data:`INDEXED` or :data:`NO_VECTORS`.
        dims: the embeddings' size (0 without an index).
        paths: the default ``(path, tokens)`` pairs to embed.
        index_name: the FT index (``INDEXED`` only).
    """

    key_prefix: str = ""
    kind: str = NO_VECTORS
    dims: int = 0
    paths: list[tuple[str, Any]] = field(default_factory=list)
    index_name: str = ""
    registry: Registry = field(init=False)
    _registered: dict[str, int] = field(init=False, default_factory=dict)
    _keys: dict[tuple[str, ...], NamespaceKeys] = field(init=False, default_factory=dict)
    _born: int = field(init=False, default=0)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.registry = Registry(self.key_prefix)

    def keys(self, namespace: tuple[str, ...]) -> NamespaceKeys:
        """The namespace's key names (cached: most stores use few namespaces, often)."""
        found = self._keys.get(namespace)
        if found is None:
            if len(self._keys) > 4096:
                self._keys.clear()
            found = self._keys[namespace] = NamespaceKeys(namespace, self.key_prefix)
        return found

    def born(self) -> int:
        """A strictly increasing time (us) for namespaces this process creates: their order in searches."""
        with self._lock:
            self._born = max(self._born + 1, time.time_ns() // 1000)
            return self._born

    def to_register(self, names: list[str]) -> tuple[int, list[str]]:
        """Now (ms) and the namespaces (as text) this process has not registered lately, marked as registered now."""
        moment = now_ms()
        due = [
            name for name in dict.fromkeys(names) if moment - self._registered.get(name, -(2**62)) > REGISTER_EVERY_MS
        ]
        if len(self._registered) > 65536:
            self._registered.clear()
        for name in due:
            self._registered[name] = moment
        return moment, due

    def registered_at(self, names: list[str]) -> list[Any]:
        """``[name, when, ...]`` for the namespaces this process registered (and forgets them)."""
        pairs: list[Any] = []
        for name in dict.fromkeys(names):
            moment = self._registered.pop(name, None)
            if moment is not None:
                pairs += [name, moment]
        return pairs

    def unregistered(self, names: list[str]) -> None:
        """Forget that these were registered (their registration failed, or they were found empty)."""
        for name in names:
            self._registered.pop(name, None)
