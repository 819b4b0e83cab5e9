"""The notebooks: strict nbval over the committed outputs, and papermill runs against the suite's own Redis."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import papermill
import pytest
import redis
import redis.cluster
from helpers.cli import NOTEBOOKS, REPO

from memstore_nb.writes import MARKER_TTL_SECONDS

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NBVAL_COMMAND = [
    sys.executable,
    "-m",
    "pytest",
    "-p",
    "no:cacheprovider",
    "--cov-report=",
    "-q",
    "--nbval",
    "--nbval-current-env",
    "--nbval-sanitize-with",
    "notebooks/sanitize.cfg",
]


def _execute(name: str, tmp_path: Path, **parameters: Any) -> Any:
    """Run a notebook top to bottom with papermill, parameters injected; returns the executed notebook."""
    output = tmp_path / name
    papermill.execute_notebook(
        str(NOTEBOOKS / name),
        str(output),
        parameters=parameters,
        cwd=str(NOTEBOOKS),
        kernel_name="python3",
        progress_bar=False,
    )
    nb = nbformat.read(output, as_version=4)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", out
    return nb


def _stdout(nb: Any) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def _rpush_calls(cluster: redis.cluster.RedisCluster) -> int:
    stats = cluster.info("commandstats", target_nodes=redis.cluster.RedisCluster.PRIMARIES)
    return sum(int(node.get("cmdstat_rpush", {}).get("calls", 0)) for node in stats.values())


@pytest.mark.parametrize("notebook", sorted(path.name for path in NOTEBOOKS.glob("*.ipynb")))
def test_strict_nbval_over_the_committed_outputs(tmp_path: Path, notebook: str) -> None:
    # The nested run keeps its coverage data to itself: two runs writing one .coverage corrupt it.
    # Each notebook meets a fresh local store, as a first-time reader does (`local` keeps its data).
    env = {**os.environ, "COVERAGE_FILE": str(tmp_path / ".coverage"), "MEMSTORE_NB_DATA_DIR": str(tmp_path / "store")}
    command = [*NBVAL_COMMAND, f"notebooks/{notebook}"]
    try:
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900, check=False, env=env)
    finally:
        stop = [sys.executable, "-m", "memstore_nb.cli", "local", "stop"]
        subprocess.run(stop, env=env, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout


def test_chat_message_history_writes_to_the_injected_endpoints(
    tmp_path: Path, fresh_db: tuple[str, redis.Redis], cluster_url: str
) -> None:
    url, client = fresh_db
    cluster = redis.cluster.RedisCluster.from_url(cluster_url, protocol=2, decode_responses=True)
    pushes_before = _rpush_calls(cluster)

    nb = _execute(
        "chat_message_history.ipynb", tmp_path, ENDPOINT=url, CLUSTER_ENDPOINT=cluster_url, PROJECT_ID="msnb-test-1"
    )

    # Method 1 wrote to the injected database; "Cleaning up" cleared session1 there and on the cluster.
    assert client.exists("session1") == 0
    assert client.llen("session-ttl") == 2 and 0 < client.ttl("session-ttl") <= 3600
    assert client.llen("session-batch") == 100
    assert '"50 squared is 2500."' in client.lindex("session-batch", -1)
    # Method 2 used the injected cluster (two messages, one RPUSH each), not an embedded one.
    assert _rpush_calls(cluster) - pushes_before == 2
    assert cluster.exists("session1") == 0
    text = _stdout(nb)
    assert "Connected to a cluster: True (3 primaries)" in text
    assert "Does this work on Redis Cluster too?" in text
    assert "Project set to msnb-test-1" in text  # one form holds every parameter papermill can set
    cluster.close()


def test_history_viewer_seeds_and_lists_the_injected_endpoint(
    tmp_path: Path, fresh_db: tuple[str, redis.Redis]
) -> None:
    url, client = fresh_db
    nb = _execute("history_viewer.ipynb", tmp_path, ENDPOINT=url, SEED_DEMO=True, MATCH="demo:*")
    assert client.llen("demo:spanish-tutor-long") == 3000
    assert client.llen("demo:weather-agent") == 10
    assert 0 < client.ttl("demo:temporary-chat") <= 3600
    assert "7 sessions (at most 200 shown)" in _stdout(nb)


def test_history_viewer_leaves_a_real_instance_alone_by_default(
    tmp_path: Path, fresh_db: tuple[str, redis.Redis]
) -> None:
    url, client = fresh_db
    client.rpush("existing-chat", '{"type": "human", "data": {"content": "hello"}}')
    nb = _execute("history_viewer.ipynb", tmp_path, ENDPOINT=url)
    assert sorted(client.keys("*")) == ["existing-chat"]
    assert "1 sessions (at most 200 shown):\n  existing-chat" in _stdout(nb)


def test_langchain_notebook_keeps_two_sessions(tmp_path: Path, fresh_db: tuple[str, redis.Redis]) -> None:
    url, client = fresh_db
    nb = _execute("langchain_with_history.ipynb", tmp_path, ENDPOINT=url)
    for user in ("alice", "bob"):
        key = f"langchain:{user}"
        assert client.llen(key) == 6
        kinds = [doc.split('"type": "')[1].split('"')[0] for doc in client.lrange(key, 0, -1)]
        assert kinds == ["human", "ai"] * 3
        assert 0 < client.ttl(key) <= 86400
    assert "Lisbon" in client.lindex("langchain:alice", 1)
    assert "Carbonara" in client.lindex("langchain:bob", 1)
    text = _stdout(nb)
    assert "(model saw 6 messages)" in text
    assert "warnings raised: 0" in text


def _script_calls(cluster: redis.cluster.RedisCluster) -> int:
    stats = cluster.info("commandstats", target_nodes=redis.cluster.RedisCluster.PRIMARIES)
    names = ("cmdstat_evalsha", "cmdstat_eval")
    return sum(int(node.get(name, {}).get("calls", 0)) for node in stats.values() for name in names)


def _assert_only_expiring_markers(client: Any, keys: set[str]) -> None:
    """What a deleted thread leaves: only the exactly-once write markers, which expire by themselves."""
    for key in keys:
        assert ":memstore-nb:wid:" in key, key
        assert 0 < client.ttl(key) <= 2 * MARKER_TTL_SECONDS, key  # two windows after its generation began


def _assert_agent_remembered(text: str) -> None:
    assert "ai: Your name is Ada." in text  # across turns
    assert "ai: You asked about Lisbon.\nmessages in the thread: 10" in text  # across the "restart"
    assert "14 checkpoints, newest first:" in text
    assert "latest state of the thread: 6 messages, last: In Porto today" in text  # the fork
    assert "the Lisbon branch is still there: True" in text
    assert "notebook:ada: 19 checkpoints" in text and "notebook:bob: 8 checkpoints" in text
    assert "notebook:bob deleted; latest checkpoint now: None" in text


def test_langgraph_memory_keeps_its_threads_in_the_injected_endpoint(
    tmp_path: Path, fresh_db: tuple[str, redis.Redis]
) -> None:
    url, client = fresh_db
    client.set("someone-else", "kept")
    info = client.info("commandstats")
    scripts_before = sum(int(info.get(n, {}).get("calls", 0)) for n in ("cmdstat_evalsha", "cmdstat_eval"))

    nb = _execute("langgraph_memory.ipynb", tmp_path, ENDPOINT=url)

    _assert_agent_remembered(_stdout(nb))
    info = client.info("commandstats")
    scripts_after = sum(int(info.get(n, {}).get("calls", 0)) for n in ("cmdstat_evalsha", "cmdstat_eval"))
    assert scripts_after - scripts_before > 50  # the checkpoints went to the injected database
    left = set(client.keys("*")) - {"someone-else"}
    assert client.get("someone-else") == "kept"
    _assert_only_expiring_markers(client, left)  # its threads deleted, nothing else touched


def test_langgraph_memory_runs_on_a_cluster(tmp_path: Path, cluster_url: str) -> None:
    cluster = redis.cluster.RedisCluster.from_url(cluster_url, protocol=2, decode_responses=True)
    before = _script_calls(cluster)

    nb = _execute("langgraph_memory.ipynb", tmp_path, ENDPOINT=cluster_url)

    _assert_agent_remembered(_stdout(nb))
    assert _script_calls(cluster) - before > 50
    left = set(cluster.scan_iter(match="*notebook:*", target_nodes=redis.cluster.RedisCluster.PRIMARIES))
    _assert_only_expiring_markers(cluster, left)
    cluster.close()


def test_langgraph_memory_runs_on_the_embedded_cluster(tmp_path: Path) -> None:
    nb = _execute("langgraph_memory.ipynb", tmp_path, ENDPOINT="local-cluster")
    _assert_agent_remembered(_stdout(nb))
