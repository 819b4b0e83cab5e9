"""The store's errors: a value it cannot keep, and stored data it cannot use."""

from __future__ import annotations

from ..errors import MemstoreError

__all__ = ["StoreDataError", "StoreValueError"]


class StoreValueError(MemstoreError, ValueError, TypeError):
    """A value the store cannot keep: not a mapping, not JSON, or an embedding of the wrong size.

    It is both a ``ValueError`` and a ``TypeError``, so code written for ``InMemoryStore`` (whose
    ``dict(value)`` raises one or the other) catches it. Nothing of the batch was written.
    """


class StoreDataError(MemstoreError, ValueError):
    """Stored data the store cannot use: a key of another type, a damaged item, vectors of another size.

    Attributes:
        key: the Redis key concerned.
    """

    def __init__(self, message: str, key: str = "") -> None:
        self.key = key
        super().__init__(message)
