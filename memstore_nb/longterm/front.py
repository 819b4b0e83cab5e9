"""Running the store's flows on a client: one pipeline per step (split by node on a cluster), sync or asyncio.

Every reply comes back as bytes (``NEVER_DECODE``), whatever ``decode_responses`` the client has,
so vectors and values are read the same way everywhere. A script new to a server is loaded with
``EVAL``; an exactly-once write whose reply was lost is sent again with the same write id
(:meth:`~memstore_nb.writes.OnceScript.run`), which the server recognises.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import redis.asyncio.cluster
import redis.cluster
import redis.exceptions

from ..sending import command
from .calls import ALL, ANY, Call, Embed, Flow

__all__ = ["AsyncRunner", "Runner"]

_TRANSIENT = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, ConnectionError, TimeoutError)
_OPTIONS = {"NEVER_DECODE": True}


def _again(reply: Any) -> bool:
    """Whether a call's reply asks for the call to be sent once more on its own."""
    return isinstance(reply, (redis.exceptions.NoScriptError, *_TRANSIENT))


class Runner:
    """Runs flows on a ``redis.Redis`` or ``RedisCluster``.

    Args:
        client: the client.
        embeddings: LangChain ``Embeddings`` (or None when the store has no index).
    """

    def __init__(self, client: Any, embeddings: Any = None) -> None:
        self.client = client
        self.embeddings = embeddings
        self.cluster = isinstance(client, redis.cluster.RedisCluster)

    def run(self, flow: Flow) -> Any:
        reply: Any = None
        try:
            step = next(flow)
            while True:
                reply = self._embed(step) if isinstance(step, Embed) else self.send(step)
                step = flow.send(reply)
        except StopIteration as stop:
            return stop.value

    def _embed(self, step: Embed) -> list[Any]:
        if step.query:
            return [self.embeddings.embed_query(text) for text in step.texts]
        return list(self.embeddings.embed_documents(step.texts)) if step.texts else []

    def send(self, calls: Sequence[Call]) -> list[Any]:
        """Send one round trip; each call's reply (or its error) in order."""
        if len(calls) == 1 and calls[0].route not in (ALL, ANY):  # no pipeline for one call
            return [self._one(calls[0])]
        replies: list[Any] = [None] * len(calls)
        piped = [i for i, call in enumerate(calls) if call.route not in (ALL, ANY)]
        if piped:
            pipe = self.client.pipeline(transaction=False)
            for i in piped:
                pipe.execute_command(*calls[i].evalsha(), **self._options(calls[i]))
            try:
                answers = pipe.execute(raise_on_error=False)
            except _TRANSIENT as exc:  # the whole round trip failed: each call alone, once more
                answers = [exc] * len(piped)
            for i, answer in zip(piped, answers, strict=True):
                replies[i] = self._alone(calls[i]) if _again(answer) else answer
        for i, call in enumerate(calls):
            if call.route in (ALL, ANY):
                replies[i] = self._keyless(call)
        return replies

    def _one(self, call: Call) -> Any:
        try:
            reply = command(self.client, *call.evalsha(), never_decode=True)
        except Exception as exc:
            reply = exc
        return self._alone(call) if _again(reply) else reply

    def _options(self, call: Call) -> dict[str, Any]:
        if not self.cluster:
            return _OPTIONS
        # a sync cluster pipeline would ask a node where each script goes: name the node instead
        return {**_OPTIONS, "target_nodes": self.client.get_node_from_key(call.route)}

    def _alone(self, call: Call) -> Any:
        try:
            if call.once is not None:
                outcome = call.once.run(self.client, call.route, call.keys, call.args, write_id=call.write_id)
                return outcome.result if outcome.applied else b"REPLAY"
            if call.script is not None:
                try:
                    return command(self.client, *call.evalsha(), never_decode=True)
                except redis.exceptions.NoScriptError:
                    return command(self.client, *call.eval(), never_decode=True)
            return self.client.execute_command(*call.args, **_OPTIONS)
        except redis.exceptions.RedisError as exc:
            return exc

    def _keyless(self, call: Call) -> Any:
        try:
            if not self.cluster:
                reply = self.client.execute_command(*call.args, **_OPTIONS)
                return [reply] if call.route == ALL else reply
            if call.route == ALL:  # each primary's reply or error: one refusing does not stop the others
                return [self._on(node, call.args) for node in self.client.get_primaries()]
            return self.client.execute_command(*call.args, target_nodes=self.client.get_random_node(), **_OPTIONS)
        except redis.exceptions.RedisError as exc:
            return exc

    def _on(self, node: Any, args: tuple[Any, ...]) -> Any:
        try:
            return self.client.execute_command(*args, target_nodes=node, **_OPTIONS)
        except redis.exceptions.RedisError as exc:
            return exc


class AsyncRunner:
    """:class:`Runner` for ``redis.asyncio`` clients (``Redis`` and ``RedisCluster``)."""

    def __init__(self, client: Any, embeddings: Any = None) -> None:
        self.client = client
        self.embeddings = embeddings
        self.cluster = isinstance(client, redis.asyncio.cluster.RedisCluster)

    async def run(self, flow: Flow) -> Any:
        reply: Any = None
        try:
            step = next(flow)
            while True:
                if isinstance(step, Embed):
                    reply = await self._embed(step)
                else:
                    reply = await self.send(step)
                step = flow.send(reply)
        except StopIteration as stop:
            return stop.value

    async def _embed(self, step: Embed) -> list[Any]:
        if step.query:
            return list(await asyncio.gather(*(self.embeddings.aembed_query(text) for text in step.texts)))
        return list(await self.embeddings.aembed_documents(step.texts)) if step.texts else []

    async def send(self, calls: Sequence[Call]) -> list[Any]:
        if len(calls) == 1 and calls[0].route not in (ALL, ANY):  # no pipeline for one call
            return [await self._one(calls[0])]
        replies: list[Any] = [None] * len(calls)
        piped = [i for i, call in enumerate(calls) if call.route not in (ALL, ANY)]
        if piped:
            pipe = self.client.pipeline(transaction=False)
            for i in piped:
                pipe.execute_command(*calls[i].evalsha(), **_OPTIONS)
            try:
                answers = await pipe.execute(raise_on_error=False)
            except _TRANSIENT as exc:
                answers = [exc] * len(piped)
            for i, answer in zip(piped, answers, strict=True):
                replies[i] = await self._alone(calls[i]) if _again(answer) else answer
        for i, call in enumerate(calls):
            if call.route in (ALL, ANY):
                replies[i] = await self._keyless(call)
        return replies

    async def _one(self, call: Call) -> Any:
        try:
            reply = await self.client.execute_command(*call.evalsha(), **_OPTIONS)
        except Exception as exc:
            reply = exc
        return await self._alone(call) if _again(reply) else reply

    async def _alone(self, call: Call) -> Any:
        try:
            if call.once is not None:
                outcome = await call.once.arun(self.client, call.route, call.keys, call.args, write_id=call.write_id)
                return outcome.result if outcome.applied else b"REPLAY"
            if call.script is not None:
                try:
                    return await self.client.execute_command(*call.evalsha(), **_OPTIONS)
                except redis.exceptions.NoScriptError:
                    return await self.client.execute_command(*call.eval(), **_OPTIONS)
            return await self.client.execute_command(*call.args, **_OPTIONS)
        except redis.exceptions.RedisError as exc:
            return exc

    async def _keyless(self, call: Call) -> Any:
        try:
            if not self.cluster:
                reply = await self.client.execute_command(*call.args, **_OPTIONS)
                return [reply] if call.route == ALL else reply
            if call.route == ALL:  # each primary's reply or error: one refusing does not stop the others
                return [await self._on(node, call.args) for node in self.client.get_primaries()]
            return await self.client.execute_command(*call.args, target_nodes=self.client.get_random_node(), **_OPTIONS)
        except redis.exceptions.RedisError as exc:
            return exc

    async def _on(self, node: Any, args: tuple[Any, ...]) -> Any:
        try:
            return await self.client.execute_command(*args, target_nodes=node, **_OPTIONS)
        except redis.exceptions.RedisError as exc:
            return exc
