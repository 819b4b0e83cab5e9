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


def test_strict_nbval_over_the_committed_outputs_in_sequence_on_one_store(tmp_path: Path) -> None:
    # Every notebook on ONE local store, one after the other, as a reader runs them: each leaves the
    # store as it found it, so what one wrote never changes what the next prints (issue 18, item 10).
    # The nested run keeps its coverage data to itself: two runs writing one .coverage corrupt it.
    env = {**os.environ, "COVERAGE_FILE": str(tmp_path / ".coverage"), "MEMSTORE_NB_DATA_DIR": str(tmp_path / "store")}
    command = [*NBVAL_COMMAND, *(f"notebooks/{path.name}" for path in sorted(NOTEBOOKS.glob("*.ipynb")))]
    try:
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=1200, check=False, env=env)
    finally:
        stop = [sys.executable, "-m", "memstore_nb.cli", "local", "stop"]
        subprocess.run(stop, env=env, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout


def _assert_left_as_found(client: Any, before: set[str]) -> None:
    """Nothing the notebook wrote stays, but the exactly-once write markers, which expire by themselves."""
    _assert_only_expiring_markers(client, set(client.keys("*")) - before)


def test_chat_message_history_writes_to_the_injected_endpoints(
    tmp_path: Path, fresh_db: tuple[str, redis.Redis], cluster_url: str
) -> None:
    url, client = fresh_db
    cluster = redis.cluster.RedisCluster.from_url(cluster_url, protocol=2, decode_responses=True)
    pushes_before = _rpush_calls(cluster)

    nb = _execute(
        "chat_message_history.ipynb", tmp_path, ENDPOINT=url, CLUSTER_ENDPOINT=cluster_url, PROJECT_ID="msnb-test-1"
    )

    # Method 1 wrote to the injected database (what it printed came from there); "Cleaning up"
    # cleared every session it wrote, there and on the cluster.
    text = _stdout(nb)
    assert "2 messages, expiring in about 60 minutes" in text and "messages stored: 100" in text
    assert "   ai: 50 squared is 2500." in text and "sessions this notebook left behind: []" in text
    _assert_left_as_found(client, set())
    # Method 2 used the injected cluster (two messages, one RPUSH each), not an embedded one.
    assert _rpush_calls(cluster) - pushes_before == 2
    assert cluster.exists("session1") == 0
    assert "Connected to a cluster: True (3 primaries)" in text
    assert "Does this work on Redis Cluster too?" in text
    assert "Project set to msnb-test-1" in text  # one form holds every parameter papermill can set
    cluster.close()


def test_history_viewer_seeds_and_lists_the_injected_endpoint(
    tmp_path: Path, fresh_db: tuple[str, redis.Redis]
) -> None:
    url, client = fresh_db
    nb = _execute("history_viewer.ipynb", tmp_path, ENDPOINT=url, SEED_DEMO=True, MATCH="demo:*")
    text = _stdout(nb)
    assert "7 sessions (at most 200 shown)" in text and "demo:temporary-chat: 2 messages, expires in about 60" in text
    assert "deleted the 7 demo sessions this notebook wrote; 0 were there before and stay" in text
    _assert_left_as_found(client, set())


def test_history_viewer_keeps_demo_data_that_was_there_and_runs_the_same_twice(
    tmp_path: Path, fresh_db: tuple[str, redis.Redis]
) -> None:
    # `memstore-nb run` twice on one database: the same outputs; demo data someone else keeps stays.
    url, client = fresh_db
    client.rpush("demo:weather-agent", '{"type": "human", "data": {"content": "kept"}}')
    outputs = []
    for run in ("first", "second"):
        output = tmp_path / f"{run}.ipynb"
        command = [sys.executable, "-m", "memstore_nb.cli", "run", str(NOTEBOOKS / "history_viewer.ipynb")]
        command += ["--endpoint", url, "-y", "SEED_DEMO=true", "-p", "MATCH", "demo:*", "-o", str(output)]
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        outputs.append(_stdout(nbformat.read(output, as_version=4)))
        assert client.lrange("demo:weather-agent", 0, -1) == ['{"type": "human", "data": {"content": "kept"}}']
        _assert_left_as_found(client, {"demo:weather-agent"})
    assert "deleted the 6 demo sessions this notebook wrote; 1 were there before and stay" in outputs[0]
    assert outputs[0] == outputs[1]


def test_history_viewer_leaves_a_real_instance_alone_by_default(
    tmp_path: Path, fresh_db: tuple[str, redis.Redis]
) -> None:
    url, client = fresh_db
    client.rpush("existing-chat", '{"type": "human", "data": {"content": "hello"}}')
    nb = _execute("history_viewer.ipynb", tmp_path, ENDPOINT=url)
    assert sorted(client.keys("*")) == ["existing-chat"]
    assert "1 sessions (at most 200 shown):\n  existing-chat" in _stdout(nb)
    assert "deleted the 0 demo sessions this notebook wrote" in _stdout(nb)


def test_langchain_notebook_keeps_two_sessions_then_clears_them(
    tmp_path: Path, fresh_db: tuple[str, redis.Redis]
) -> None:
    url, client = fresh_db
    nb = _execute("langchain_with_history.ipynb", tmp_path, ENDPOINT=url)
    text = _stdout(nb)
    for user in ("alice", "bob"):  # read back from the injected database before the clean-up
        assert f"langchain:{user}: 6 messages (human ai human ai human ai), expires in about 24 hours" in text
    assert "Lisbon" in text and "Carbonara" in text
    assert "(model saw 6 messages)" in text
    assert "warnings raised: 0" in text
    assert "left behind: []" in text
    _assert_left_as_found(client, set())


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
