"""LangGraph checkpoints on plain Redis / Memorystore: :class:`MemorystoreSaver` and thread helpers.

Needs the ``langgraph`` extra (``pip install langgraph-checkpoint``, or ``pip install -e ".[langgraph]"``
in a clone); importing ``memstore_nb`` itself never does.
"""

from __future__ import annotations

from typing import Any

from ..errors import MissingExtraError, install_hint

__all__ = [
    "CheckpointDiff",
    "CheckpointSummary",
    "CheckpointTasks",
    "MemorystoreSaver",
    "UpgradeReport",
    "checkpoint_tasks",
    "compare_checkpoints",
    "history_to_state",
    "import_history",
    "is_thread_key",
    "list_threads",
    "message_times",
    "thread_checkpoints",
    "thread_messages",
    "thread_to_history",
    "upgrade_threads",
]

_HOME = {
    "MemorystoreSaver": ".saver",
    "CheckpointDiff": ".diff",
    "CheckpointTasks": ".diff",
    "checkpoint_tasks": ".diff",
    "compare_checkpoints": ".diff",
    "CheckpointSummary": ".views",
    "message_times": ".views",
    "UpgradeReport": ".legacy",
    "upgrade_threads": ".legacy",
    "history_to_state": ".migrate",
    "import_history": ".migrate",
    "thread_to_history": ".migrate",
    "is_thread_key": ".threads",
    "list_threads": ".threads",
    "thread_checkpoints": ".threads",
    "thread_messages": ".threads",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    try:
        import langgraph.checkpoint.base
    except ImportError as exc:
        raise MissingExtraError(
            f"{name} needs LangGraph's checkpoint package, which is not installed: "
            f"{install_hint('langgraph', 'langgraph-checkpoint')}, then restart the kernel"
        ) from exc
    return getattr(import_module(_HOME[name], __name__), name)
