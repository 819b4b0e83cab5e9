"""The long-term memory notebook on an injected cluster: twice on one store, same story, nothing left behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import papermill
import pytest
import redis
import redis.cluster
from helpers.cli import NOTEBOOKS

from memstore_nb.writes import MARKER_TTL_SECONDS

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NAME = "langgraph_long_term_memory.ipynb"


def _stdout(tmp_path: Path, endpoint: str, run: int) -> str:
    output = tmp_path / f"run{run}-{NAME}"
    papermill.execute_notebook(
        str(NOTEBOOKS / NAME), str(output), parameters={"ENDPOINT": endpoint}, cwd=str(NOTEBOOKS), progress_bar=False
    )
    nb = nbformat.read(output, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    return "".join(o.get("text", "") for o in outputs)


def _left(client: Any) -> set[str]:
    return {k for k in client.scan_iter(match="*") if "notebook-ltm" in k or "memories" in k}


def test_twice_on_a_cluster_with_the_same_outputs(tmp_path: Path, cluster_url: str) -> None:
    cluster = redis.cluster.RedisCluster.from_url(cluster_url, protocol=2, decode_responses=True)
    cluster.set("someone-else", "kept")
    first = _stdout(tmp_path, cluster_url, 1)
    assert "You told me before: you like green tea." in first  # another thread, the same user
    assert "You told me before: you live in Porto." in first
    assert "namespaces left: []\nkeys left under the prefix: 0" in first
    assert _stdout(tmp_path, cluster_url, 2) == first
    for key in _left(cluster):  # only the exactly-once markers, which expire by themselves
        assert ":memstore-nb:wid:" in key and 0 < cluster.ttl(key) <= 2 * MARKER_TTL_SECONDS, key
    assert cluster.get("someone-else") == "kept"
    cluster.delete("someone-else")
    cluster.close()
