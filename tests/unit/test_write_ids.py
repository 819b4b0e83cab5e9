"""Write ids (memstore_nb.writes.new_write_id): unique in a process, across threads and after fork."""

from __future__ import annotations

import os
import threading

from memstore_nb.writes import marker_key, new_write_id


def test_write_ids_are_unique_across_threads_and_name_the_current_window() -> None:
    ids: list[str] = []

    def make() -> None:
        ids.extend(new_write_id() for _ in range(5000))

    threads = [threading.Thread(target=make) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(ids) == 20_000 and len(set(ids)) == 20_000
    assert marker_key("{s}:chat", ids[0]).startswith("{s}:memstore-nb:wid:")


def test_a_forked_child_draws_new_write_ids() -> None:
    before = new_write_id()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: one id, sent to the parent
        os.write(write, new_write_id().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 200).decode()
    os.close(read)
    after = new_write_id()
    # The child's random part differs from the parent's, which keeps its own.
    assert child.split(".")[1][:16] != before.split(".")[1][:16] == after.split(".")[1][:16]
