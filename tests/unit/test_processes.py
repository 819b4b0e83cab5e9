"""processes.marked: a page's processes found by the variable they inherit, whoever their parent is now."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time

from memstore_nb.processes import marked, process_tree, same_process

# The parent starts a child in a session of its own (as jupyter_client starts a kernel), prints the
# child's pid and exits: the child is reparented and no longer in the parent's tree.
PARENT = """
import subprocess, sys
child = subprocess.Popen(
    [sys.executable, "-c", "import time; time.sleep(60)"],
    start_new_session=True,
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
)
print(child.pid, flush=True)
"""


def test_an_orphaned_child_is_still_found_by_its_mark_and_nothing_else_is() -> None:
    mark = secrets.token_hex(8)
    env = {**os.environ, "MEMSTORE_NB_PAGE": mark}
    parent = subprocess.run([sys.executable, "-c", PARENT], env=env, capture_output=True, text=True, timeout=30)
    child = int(parent.stdout.strip())
    try:
        assert child not in dict(process_tree(os.getpid()))  # reparented: no longer a descendant of ours
        found = dict(marked("MEMSTORE_NB_PAGE", mark))
        assert list(found) == [child] and same_process(child, found[child])
        assert marked("MEMSTORE_NB_PAGE", secrets.token_hex(8)) == []  # another page's mark finds nothing
        assert marked("MEMSTORE_NB_PAGE", mark[:-1]) == []  # a prefix of the value is not the value
    finally:
        os.kill(child, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while marked("MEMSTORE_NB_PAGE", mark) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marked("MEMSTORE_NB_PAGE", mark) == []
