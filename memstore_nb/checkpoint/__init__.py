"""LangGraph checkpoints on plain Redis / Memorystore: :class:`MemorystoreSaver` and thread helpers.

Needs the ``langgraph`` extra (``pip install langgraph-checkpoint``, or ``pip install -e ".[langgraph]"``
in a clone); importing ``memstore_nb`` itself never does.
"""

from __future__ import annotations

from ..lazy import face

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
    "messages_first_held",
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
    "messages_first_held": ".views",
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


__getattr__, __dir__ = face(
    __name__, _HOME, requires=("langgraph.checkpoint.base", "langgraph-checkpoint", "langgraph")
)
