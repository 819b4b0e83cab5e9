"""``list(None)``: every thread's checkpoints, threads taken from SCAN in batches, one pipelined round trip per batch.

Each batch sends one LIST script call per thread in a non-transactional pipeline (split by node on a
cluster); a thread whose first page came back full is then continued with the per-thread paging.
Order and results are those of walking the threads one by one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointTuple, get_checkpoint_id

from ..errors import CheckpointError
from .core import Budget, select

if TYPE_CHECKING:
    from .saver import MemorystoreSaver

__all__ = ["BATCH", "FIRST_PAGE", "alist_all", "list_all"]

log = logging.getLogger(__name__)

BATCH = 100  # threads per pipelined round trip
FIRST_PAGE = 10  # checkpoints asked of each thread in a batch (a full page is continued one by one)


def _plan(budget: Budget, filtered: bool) -> tuple[int, int]:
    """(threads in the next batch, checkpoints asked of each)."""
    if filtered or budget.left is None:
        return BATCH, FIRST_PAGE
    # Unfiltered, every thread that exists yields at least one checkpoint: no more threads than rows wanted.
    return max(1, min(BATCH, budget.left)), max(1, min(FIRST_PAGE, budget.left))


def _conf(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}}


def _first(
    saver: MemorystoreSaver, reply: Any, call: Any, filter: dict[str, Any] | None, before: RunnableConfig | None
) -> tuple[list[CheckpointTuple], list[CheckpointTuple]]:
    """(every item of the first page, the ones that pass filter/before); raises CheckpointError for a broken thread."""
    if isinstance(reply, BaseException):
        failed = call.failed(reply)
        raise failed from reply
    items = saver._decode_list(call, reply)
    return items, list(select(items, filter, before))


def list_all(
    saver: MemorystoreSaver,
    filter: dict[str, Any] | None,
    before: RunnableConfig | None,
    budget: Budget,
) -> Iterator[CheckpointTuple]:
    """Sync ``list(None, ...)``."""
    cursor = (get_checkpoint_id(before) if before else None) or ""
    threads = saver._calls.thread_ids(saver.key_prefix)
    while not budget.spent:
        size, page = _plan(budget, bool(filter))
        batch = [*islice(threads, size)]
        if not batch:
            return
        calls = [saver._list_call(_conf(t), cursor, page) for t in batch]
        replies = saver._calls.read_many(calls)
        for call, reply in zip(calls, replies, strict=True):
            try:
                items, chosen = _first(saver, reply, call, filter, before)
                for item in chosen:
                    yield item
                    budget.take()
                    if budget.spent:
                        return
                if len(items) == page:
                    last = items[-1].config["configurable"]["checkpoint_id"]
                    yield from saver._list_one(_conf(call.keys.thread_id), filter, before, budget, last)
            except CheckpointError as exc:
                log.warning("listing every thread: skipped a broken one: %s", exc)
            if budget.spent:
                return


async def alist_all(
    saver: MemorystoreSaver,
    filter: dict[str, Any] | None,
    before: RunnableConfig | None,
    budget: Budget,
) -> AsyncIterator[CheckpointTuple]:
    """Async ``list(None, ...)`` on a redis.asyncio client."""
    cursor = (get_checkpoint_id(before) if before else None) or ""
    threads = saver._calls.athread_ids(saver.key_prefix).__aiter__()
    done = False
    while not budget.spent and not done:
        size, page = _plan(budget, bool(filter))
        batch: list[str] = []
        while len(batch) < size:
            try:
                batch.append(await threads.__anext__())
            except StopAsyncIteration:
                done = True
                break
        if not batch:
            return
        calls = [saver._list_call(_conf(t), cursor, page) for t in batch]
        replies = await saver._calls.aread_many(calls)
        for call, reply in zip(calls, replies, strict=True):
            try:
                items, chosen = _first(saver, reply, call, filter, before)
                for item in chosen:
                    yield item
                    budget.take()
                    if budget.spent:
                        return
                if len(items) == page:
                    last = items[-1].config["configurable"]["checkpoint_id"]
                    async for item in saver._alist_one(_conf(call.keys.thread_id), filter, before, budget, last):
                        yield item
            except CheckpointError as exc:
                log.warning("listing every thread: skipped a broken one: %s", exc)
            if budget.spent:
                return
