"""The retry policy of memstore-nb clients: wait out restarts and failovers, never repeat a write blindly."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis
import redis.asyncio.retry
import redis.cluster
from redis.backoff import EqualJitterBackoff
from redis.retry import Retry

__all__ = ["AsyncBoundedRetry", "BoundedRetry", "RetryingRedisCluster", "no_retry"]

log = logging.getLogger(__name__)
T = TypeVar("T")

_retry_depth = threading.local()
_PERMANENT_TEXT = (
    "certificate",
    "wrong version number",
    "record layer failure",
    "packet length too long",
    "unknown protocol",
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name resolution",
    "no address associated",
    "no such file or directory",
    "timeout reading from",
    "timeout writing to",
)


def _is_transient(error: BaseException) -> bool:
    """True for failures a short wait can cure: refused, reset, closed, connect timeout.

    Never retried: authentication (retrying a wrong password only delays the error), certificate
    and TLS-version errors, unknown hosts and missing socket files (they will not fix themselves),
    and read/write timeouts — the server may already have run the command, so repeating an RPUSH
    could store a message twice; the caller gets the error instead.
    """
    if isinstance(error, (redis.exceptions.AuthenticationError, redis.exceptions.AuthorizationError)):
        return False
    if type(error).__name__ in ("ExternalAuthProviderError", "MaxConnectionsError"):
        return False
    text = str(error).lower()
    return not any(marker in text for marker in _PERMANENT_TEXT)


class BoundedRetry(Retry):
    """redis-py ``Retry`` that retries only transient errors, with jittered exponential backoff,
    and gives up once ``budget`` seconds have passed since the first failure.

    redis-py nests retries (a command retry around a socket-connect retry); only the outermost
    call retries here, so the budget is the real bound on the wait.
    """

    def __init__(self, budget: float = 10.0, *, base: float = 0.05, cap: float = 1.0, retries: int = 30) -> None:
        super().__init__(
            EqualJitterBackoff(cap=cap, base=base),
            retries,
            (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, socket.timeout),
        )
        self.budget = budget

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BoundedRetry) and self.budget == other.budget and super().__eq__(other)

    __hash__ = Retry.__hash__

    def call_with_retry(
        self,
        do: Callable[[], T],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> T:
        depth = getattr(_retry_depth, "value", 0)
        _retry_depth.value = depth + 1
        try:
            if depth:
                return do()  # the outer call retries, within its budget
            return self._retry_loop(do, fail, is_retryable, with_failure_count)
        finally:
            _retry_depth.value = depth

    def _retry_loop(
        self,
        do: Callable[[], T],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None,
        with_failure_count: bool,
    ) -> T:
        self._backoff.reset()
        failures = 0
        deadline = 0.0
        while True:
            try:
                return do()
            except self._supported_errors as error:
                if (is_retryable and not is_retryable(error)) or not _is_transient(error):
                    raise
                failures += 1
                if failures == 1:
                    deadline = time.monotonic() + self.budget
                if with_failure_count:
                    fail(error, failures)
                else:
                    fail(error)
                pause = self._backoff.compute(failures)
                if failures > self._retries or time.monotonic() + pause > deadline:
                    raise
                log.debug("retrying after %s (attempt %d, %.2fs)", type(error).__name__, failures, pause)
                time.sleep(pause)


class AsyncBoundedRetry(redis.asyncio.retry.Retry):
    """The :class:`BoundedRetry` policy for ``redis.asyncio`` clients: transient errors only,
    jittered exponential backoff, and no retry once ``budget`` seconds have passed since the first
    failure."""

    def __init__(self, budget: float = 10.0, *, base: float = 0.05, cap: float = 1.0, retries: int = 30) -> None:
        super().__init__(
            EqualJitterBackoff(cap=cap, base=base),
            retries,
            (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, socket.timeout),  # type: ignore[arg-type]
        )
        self.budget = budget

    async def call_with_retry(  # type: ignore[override]
        self,
        do: Callable[[], Any],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> Any:
        import asyncio

        self._backoff.reset()
        failures = 0
        deadline = 0.0
        while True:
            try:
                return await do()
            except self._supported_errors as error:
                if (is_retryable and not is_retryable(error)) or not _is_transient(error):
                    raise
                failures += 1
                if failures == 1:
                    deadline = time.monotonic() + self.budget
                await (fail(error, failures) if with_failure_count else fail(error))
                pause = self._backoff.compute(failures)
                if failures > self._retries or time.monotonic() + pause > deadline:
                    raise
                log.debug("retrying after %s (attempt %d, %.2fs)", type(error).__name__, failures, pause)
                await asyncio.sleep(pause)


def no_retry() -> Retry:
    """A policy that never retries: used for the first probe, so a wrong port fails at once."""
    return BoundedRetry(budget=0.0, retries=0)


class RetryingRedisCluster(redis.cluster.RedisCluster):
    """``RedisCluster`` whose commands wait out a failover instead of failing within milliseconds.

    redis-py's cluster client re-reads the topology after a connection error and retries at once,
    a few times, with no pause; while a replica is being promoted (seconds) every attempt fails.
    Here each command also goes through a :class:`BoundedRetry` (backoff, time budget),
    which additionally retries ``CLUSTERDOWN`` (the cluster's state while a shard has no primary).
    """

    def __init__(self, *args: Any, outer_retry: BoundedRetry | None = None, **kwargs: Any) -> None:
        # redis-py's own (immediate) cluster retries stay at their default; the pause is ours.
        self._outer_retry = outer_retry
        super().__init__(*args, **kwargs)

    def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        retry = getattr(self, "_outer_retry", None)
        if retry is None:
            return super().execute_command(*args, **kwargs)
        plain = super().execute_command
        try:
            return retry.call_with_retry(
                lambda: _cluster_down_as_connection_error(plain, args, kwargs), lambda _error: None
            )
        except _ClusterDown as exc:
            raise exc.original from None


class _ClusterDown(redis.exceptions.ConnectionError):
    """CLUSTERDOWN, carried through the retry loop as a transient connection failure."""

    def __init__(self, original: Exception) -> None:
        super().__init__(str(original))
        self.original = original


def _cluster_down_as_connection_error(call: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    try:
        return call(*args, **kwargs)
    except (redis.exceptions.ClusterDownError, redis.exceptions.SlotNotCoveredError) as exc:
        raise _ClusterDown(exc) from exc
