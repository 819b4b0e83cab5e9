"""LangGraph long-term memory on plain Redis / Memorystore: :class:`MemorystoreStore` (a ``BaseStore``).

Needs the ``langgraph`` extra (``pip install langgraph``, or ``pip install -e ".[langgraph]"`` in a
clone); importing ``memstore_nb`` itself never does.
"""

from __future__ import annotations

from ..lazy import face

__all__ = ["MemorystoreStore", "StoreDataError", "StoreValueError"]

_HOME = {
    "MemorystoreStore": ".store",
    "StoreDataError": ".errors",
    "StoreValueError": ".errors",
}
__getattr__, __dir__ = face(__name__, _HOME, requires=("langgraph.store.base", "langgraph", "langgraph"))
