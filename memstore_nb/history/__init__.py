"""MemorystoreChatMessageHistory: LangChain chat history in one Redis LIST per session (sync and async)."""

from __future__ import annotations

from .chat import MemorystoreChatMessageHistory

__all__ = ["MemorystoreChatMessageHistory"]
