"""LangGraph long-term memory on plain Redis / Memorystore: :class:`MemorystoreStore` (a ``BaseStore``).

Needs the ``langgraph`` extra (``pip install "memstore-nb[langgraph]"``); importing
``memstore_nb`` itself never does.
"""

from __future__ import annotations

from typing import Any

from ..errors import MissingExtraError

__all__ = ["MemorystoreStore", "StoreDataError", "StoreValueError"]

_HOME = {
    "MemorystoreStore": ".store",
    "StoreDataError": ".errors",
    "StoreValueError": ".errors",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    try:
        import langgraph.store.base
    except ImportError as exc:
        raise MissingExtraError(
            f"{name} needs LangGraph, which is not installed: "
            'run `pip install "memstore-nb[langgraph]"` (then restart the kernel)'
        ) from exc
    return getattr(import_module(_HOME[name], __name__), name)
