"""Writes whose outcome is unknown, remembered by content so that a caller's retry reuses their write id."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable

from .ids import new_write_id

__all__ = ["Ledger"]


class Ledger:
    """Writes whose outcome is unknown, by content, so the same content sent again reuses its write id.

    After :class:`~memstore_nb.server_errors.WriteUnconfirmed` a caller retries with the same
    messages; sending them under the first write's id lets the server recognise the retry instead
    of storing them twice. Content is hashed only while some write is unconfirmed, so the usual
    call pays nothing for the bookkeeping. At most ``limit`` writes are remembered (the oldest goes).
    """

    def __init__(self, limit: int = 64) -> None:
        self._limit = limit
        self._ids: dict[bytes, str] = {}
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    @staticmethod
    def fingerprint(parts: Iterable[str]) -> bytes:
        """A digest of the write's content (key, options, each message), told apart part by part."""
        digest = hashlib.sha256()
        for part in parts:
            digest.update(b"\x1e" + part.encode("utf-8", "surrogatepass"))
        return digest.digest()

    def id_for(self, fingerprint: bytes) -> str:
        """The id of the unconfirmed write of this content, or a new one."""
        with self._lock:
            return self._ids.get(fingerprint) or new_write_id()

    def unconfirmed(self, fingerprint: bytes, write_id: str) -> None:
        """Remember that the write ``write_id`` of this content may or may not have been applied."""
        with self._lock:
            if fingerprint not in self._ids and len(self._ids) >= self._limit:
                self._ids.pop(next(iter(self._ids)))
            self._ids[fingerprint] = write_id

    def settled(self, fingerprint: bytes | None) -> None:
        """Forget the write of this content: it was applied, or refused with nothing written."""
        if fingerprint is not None:
            with self._lock:
                self._ids.pop(fingerprint, None)
