"""``list(None)``: every thread's checkpoints, threads taken from SCAN in batches, one pipelined round trip per batch.

Each batch sends one LIST script call per thread in a non-transactional pipeline (split by node on a
cluster); a thread whose first page came back full is then continued with the per-thread paging.
Order and results are those of walking the threads one by one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from itertools import islice
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointTuple, get_checkpoint_id

from ..errors import CheckpointError
from .core import SaverCore
from .pages import Budget, Page, select

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
    saver: SaverCore, reply: Any, call: Any, filter: dict[str, Any] | None, before: RunnableConfig | None
) -> tuple[Page, list[CheckpointTuple]]:
    """(the first page, its items that pass filter/before); raises CheckpointError for a broken thread."""
    if isinstance(reply, BaseException):
        failed = call.failed(reply)
        raise failed from reply
    page = saver.decode_list(call, reply)
    return page, list(select(page.items, filter, before))


def _batch(threads: list[tuple[str, bool]]) -> list[str]:
    """The thread ids of a batch stored in this layout; the others are logged and skipped."""
    for thread_id, legacy in threads:
        if legacy:
            log.warning("listing every thread: skipped %r, stored in the old layout (upgrade_threads)", thread_id)
    return [thread_id for thread_id, legacy in threads if not legacy]


def list_all(
    saver: SaverCore,
    filter: dict[str, Any] | None,
    before: RunnableConfig | None,
    budget: Budget,
) -> Iterator[CheckpointTuple]:
    """Sync ``list(None, ...)``."""
    cursor = (get_checkpoint_id(before) if before else None) or ""
    threads = saver.calls.thread_ids(saver.key_prefix)
    while not budget.spent:
        size, page = _plan(budget, bool(filter))
        found = [*islice(threads, size)]
        if not found:
            return
        calls = [saver.list_call(_conf(t), cursor, page) for t in _batch(found)]
        replies = saver.calls.read_many(calls) if calls else []
        for call, reply in zip(calls, replies, strict=True):
            try:
                first, chosen = _first(saver, reply, call, filter, before)
                for item in chosen:
                    yield item
                    budget.take()
                    if budget.spent:
                        return
                if first.rows == page and first.last is not None:
                    yield from saver.list_one(_conf(call.keys.thread_id), filter, before, budget, first.last)
            except CheckpointError as exc:
                log.warning("listing every thread: skipped a broken one: %s", exc)
            if budget.spent:
                return


async def alist_all(
    saver: SaverCore,
    filter: dict[str, Any] | None,
    before: RunnableConfig | None,
    budget: Budget,
) -> AsyncIterator[CheckpointTuple]:
    """Async ``list(None, ...)`` on a redis.asyncio client."""
    cursor = (get_checkpoint_id(before) if before else None) or ""
    threads = saver.calls.athread_ids(saver.key_prefix).__aiter__()
    done = False
    while not budget.spent and not done:
        size, page = _plan(budget, bool(filter))
        found: list[tuple[str, bool]] = []
        while len(found) < size:
            try:
                found.append(await threads.__anext__())
            except StopAsyncIteration:
                done = True
                break
        if not found:
            return
        calls = [saver.list_call(_conf(t), cursor, page) for t in _batch(found)]
        replies = await saver.calls.aread_many(calls) if calls else []
        for call, reply in zip(calls, replies, strict=True):
            try:
                first, chosen = _first(saver, reply, call, filter, before)
                for item in chosen:
                    yield item
                    budget.take()
                    if budget.spent:
                        return
                if first.rows == page and first.last is not None:
                    last = first.last
                    async for item in saver.alist_one(_conf(call.keys.thread_id), filter, before, budget, last):
                        yield item
            except CheckpointError as exc:
                log.warning("listing every thread: skipped a broken one: %s", exc)
            if budget.spent:
                return
