"""The chat history viewer: safe HTML rendering and the ipywidgets browser."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .widget import ChatHistoryViewer

__all__ = ["ChatHistoryViewer"]


def __getattr__(name: str) -> Any:
    # render.py stays importable without ipywidgets: the widget loads on first use.
    if name == "ChatHistoryViewer":
        from .widget import ChatHistoryViewer

        return ChatHistoryViewer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
