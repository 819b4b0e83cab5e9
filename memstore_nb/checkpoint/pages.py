"""Paging through checkpoints: the rows a list() call still wants, the ones it keeps, where the next page starts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointTuple, get_checkpoint_id

__all__ = ["PAGE", "Budget", "Page", "next_cursor", "select"]

PAGE = 100


@dataclass
class Page:
    """One LIST reply: the checkpoints read, how many rows it had, and the last row's (id, namespace)."""

    items: list[CheckpointTuple]
    rows: int
    last: tuple[str, str] | None


def next_cursor(config: RunnableConfig, last: tuple[str, str]) -> tuple[str, str | None]:
    """Where the next LIST page starts: after the last row's id (and, across namespaces, its namespace)."""
    return (last[0], last[1] if config["configurable"].get("checkpoint_ns") is None else None)


def select(
    items: list[CheckpointTuple], filter: dict[str, Any] | None, before: RunnableConfig | None
) -> Iterator[CheckpointTuple]:
    limit_id = get_checkpoint_id(before) if before else None
    for item in items:
        if limit_id and item.config["configurable"]["checkpoint_id"] >= limit_id:
            continue
        if filter and not all(item.metadata.get(k) == v for k, v in filter.items()):
            continue
        yield item


class Budget:
    """How many more checkpoints a list() call may yield (None: no limit)."""

    def __init__(self, limit: int | None) -> None:
        self.left = limit

    @property
    def spent(self) -> bool:
        return self.left is not None and self.left <= 0

    def take(self) -> None:
        if self.left is not None:
            self.left -= 1

    def page(self, filtered: bool) -> int:
        return PAGE if filtered or self.left is None else min(PAGE, self.left)
