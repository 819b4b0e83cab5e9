"""A cluster primary killed (SIGKILL) in the middle of a LangGraph conversation: nothing lost, nothing doubled."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
import redis
from helpers.graphs import agent_graph, contents, human

from memstore_nb.checkpoint.layout import ThreadKeys
from memstore_nb.checkpoint.saver import MemorystoreSaver
from memstore_nb.connection import connect
from memstore_nb.local import LocalRedis, start_local_redis


def admin(node: LocalRedis) -> redis.Redis:
    return redis.Redis(host=node.host, port=node.port, protocol=2, decode_responses=True)


def turn(graph: Any, config: dict[str, Any], text: str, deadline: float, errors: list[BaseException]) -> None:
    """One turn, completed the way an app would after an error: resume it if its input was stored, else send it."""
    sent = False
    while True:
        try:
            if not sent:
                graph.invoke(human(text), config)
                return
            state = graph.get_state(config)
            if text not in contents(state.values.get("messages", [])):
                graph.invoke(human(text), config)
            elif state.next:
                graph.invoke(None, config)
            return
        except redis.RedisError as exc:
            errors.append(exc)
            sent = True
            assert time.monotonic() < deadline, f"the turn {text!r} did not complete: {errors[-3:]}"
            time.sleep(0.2)


@pytest.mark.slow
def test_primary_killed_mid_conversation() -> None:
    with start_local_redis(cluster=True, shards=3, replicas=1) as cluster:
        client = connect(cluster.url, cluster=True)
        graph = agent_graph(MemorystoreSaver(client, ttl=3600))
        thread = f"failover-{uuid.uuid4().hex[:8]}"
        config = {"configurable": {"thread_id": thread}}
        errors: list[BaseException] = []
        deadline = time.monotonic() + 60
        for i in range(10):
            turn(graph, config, f"turn {i}", deadline, errors)

        slot_key = ThreadKeys(thread).thread
        primary = cluster.node_for_key(slot_key)
        (replica,) = cluster.replicas_of(primary)
        # Replication is asynchronous: let the replica catch up first (as WAIT would), then crash.
        with admin(primary) as conn:
            written = int(conn.info("replication")["master_repl_offset"])
        with admin(replica) as conn:
            limit = time.monotonic() + 5
            while int(conn.info("replication")["slave_repl_offset"]) < written:
                assert time.monotonic() < limit, "the replica did not catch up"
                time.sleep(0.01)
        primary.kill()

        def takeover() -> None:
            with admin(replica) as conn:
                conn.execute_command("CLUSTER", "FAILOVER", "TAKEOVER")

        promote = threading.Timer(0.5, takeover)
        crashed = time.monotonic()
        promote.start()
        try:
            turn(graph, config, "turn 10", deadline, errors)
            # That turn could only complete on the promoted replica (the client's retries, or ours, bridged it).
            assert time.monotonic() - crashed > 0.4
            for i in range(11, 20):
                turn(graph, config, f"turn {i}", deadline, errors)
        finally:
            promote.join(10)

        assert cluster.node_for_key(slot_key).port == replica.port
        state = graph.get_state(config)
        expected = [text for i in range(20) for text in (f"turn {i}", f"echo turn {i} " + "x" * 180)]
        assert contents(state.values["messages"]) == expected  # nothing lost, nothing doubled, in order
        history = list(graph.get_state_history(config))
        ids = [s.config["configurable"]["checkpoint_id"] for s in history]
        assert len(ids) == len(set(ids))
        parents = {s.parent_config["configurable"]["checkpoint_id"] for s in history if s.parent_config}
        assert parents <= set(ids)  # every checkpoint's parent is still there
        inputs = [s for s in history if s.metadata and s.metadata.get("source") == "input"]
        assert len(inputs) == 20
        assert 0 < client.pttl(slot_key) <= 3_600_000
        client.close()
