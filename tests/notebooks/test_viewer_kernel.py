"""The viewer in a real Jupyter kernel (ipykernel via nbclient): what happens between cells."""

from __future__ import annotations

import json

import nbformat
import redis
from langchain_core.messages import HumanMessage
from nbclient import NotebookClient

from memstore_nb import MemorystoreChatMessageHistory


def test_a_viewer_built_with_a_session_lists_the_table_right_after_its_cell(
    fresh_db: tuple[str, redis.Redis],
) -> None:
    url, client = fresh_db
    for sid in ("kernel-a", "kernel-b"):
        MemorystoreChatMessageHistory(client, sid).add_messages([HumanMessage(f"hi {sid}")])
    build = (
        "import json, redis\n"
        "from memstore_nb import ChatHistoryViewer\n"
        f"client = redis.Redis.from_url({url!r}, protocol=2)\n"
        "viewer = ChatHistoryViewer(client, match='kernel-*', session_id='kernel-b')\n"
        "print(json.dumps([viewer._table.built, len(viewer.items)]))\n"
    )
    after = (
        "table = viewer._table\n"
        "print(json.dumps([table.built, sorted(v for _, v in table.select.options), table.select.value]))\n"
    )
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(build), nbformat.v4.new_code_cell(after)]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    first, second = (json.loads(cell.outputs[0]["text"]) for cell in nb.cells)
    assert first == [False, 1]  # the cell ends with the session shown and the table not made yet
    assert second == [True, ["kernel-a", "kernel-b"], "kernel-b"]  # listed by the kernel, nobody asked
