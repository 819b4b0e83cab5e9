"""memstore_nb works without LangGraph; MemorystoreSaver then says which extra to install."""

from __future__ import annotations

import subprocess
import sys

BLOCK_LANGGRAPH = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "langgraph" or name.startswith("langgraph."):
            raise ImportError(f"No module named {name!r} (blocked by the test)")
        return None
sys.meta_path.insert(0, Block())
"""


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", BLOCK_LANGGRAPH + code], capture_output=True, text=True, timeout=60)


def test_import_without_langgraph_and_a_clear_error_on_use() -> None:
    done = run(
        "import memstore_nb\n"
        "from memstore_nb.errors import MissingExtraError, MemstoreError\n"
        "assert 'langgraph' not in sys.modules\n"
        "try:\n"
        "    from memstore_nb import MemorystoreSaver\n"
        "except MissingExtraError as exc:\n"
        "    assert isinstance(exc, MemstoreError) and isinstance(exc, ImportError)\n"
        "    print(exc)\n"
        "else:\n"
        "    raise SystemExit('no error')\n"
    )
    assert done.returncode == 0, done.stderr
    # memstore-nb is not on PyPI: the advice installs what exists (the package, or the extra from a clone)
    assert "pip install langgraph-checkpoint" in done.stdout and 'pip install -e ".[langgraph]"' in done.stdout
    assert '"memstore-nb[langgraph]"' not in done.stdout and "MemorystoreSaver" in done.stdout


def test_importing_memstore_nb_does_not_load_langgraph() -> None:
    code = (
        "import sys, memstore_nb; assert 'langgraph' not in sys.modules and 'memstore_nb.checkpoint' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_saver_resolves_lazily_with_langgraph() -> None:
    import memstore_nb
    from memstore_nb.checkpoint.saver import MemorystoreSaver

    assert memstore_nb.MemorystoreSaver is MemorystoreSaver


def test_list_cache_is_bounded_by_entries_and_items() -> None:
    from memstore_nb.checkpoint import records

    cache = records.ListCache()
    big = list(range(records._CACHE_ITEMS // 3 + 1))
    for n in range(4):
        cache.update({(f"t{n}", "", "messages"): records._Stored(f"messages#{n}", big, 0)}, "token")
    assert cache.get(("t0", "", "messages")) is None  # least recently used, evicted
    assert cache.get(("t3", "", "messages")) is not None and cache._items <= records._CACHE_ITEMS
    cache.forget("t3")
    assert cache.get(("t3", "", "messages")) is None
    for n in range(records._CACHE_SIZE + 10):
        cache.update({(f"s{n}", "", "m"): records._Stored("m#1", [1], 0)}, "token")
    assert len(cache._entries) == records._CACHE_SIZE
