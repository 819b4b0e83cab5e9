"""The public names users and notebooks rely on (DESIGN.md), pinned."""

from __future__ import annotations

import subprocess
import sys

import memstore_nb

PUBLIC = {
    "ChatHistoryViewer",
    "ConnectionForm",
    "Endpoint",
    "MemorystoreChatMessageHistory",
    "MemorystoreSaver",
    "MemorystoreStore",
    "MemstoreError",
    "SessionInfo",
    "__version__",
    "aconnect",
    "authenticate",
    "connect",
    "list_sessions",
    "parse_endpoint",
    "session_info",
    "set_project",
    "start_local_redis",
}


def test_all_is_pinned() -> None:
    assert set(memstore_nb.__all__) == PUBLIC


def test_every_public_name_resolves() -> None:
    for name in memstore_nb.__all__:
        assert getattr(memstore_nb, name) is not None, name
    assert memstore_nb.ChatHistoryViewer.__name__ == "ChatHistoryViewer"
    assert memstore_nb.ConnectionForm.__name__ == "ConnectionForm"


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        memstore_nb.NoSuchThing  # type: ignore[attr-defined]
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_import_starts_nothing_and_loads_no_widgets() -> None:
    code = (
        "import sys, memstore_nb, threading;"
        "assert 'ipywidgets' not in sys.modules, 'ipywidgets loaded';"
        "assert 'google.auth' not in sys.modules, 'google.auth loaded';"
        "assert threading.active_count() == 1, threading.enumerate();"
        "import memstore_nb.local.server as l; assert not l._live, 'a server was started'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_version_is_the_distribution_version() -> None:
    from importlib.metadata import version

    assert memstore_nb.__version__ == version("memstore-nb")


HEAVY = ("redis", "langchain_core", "google.auth", "ipywidgets", "orjson")


def test_import_is_lazy_and_every_name_still_imports() -> None:
    code = (
        "import sys, memstore_nb, memstore_nb.cli.parser;"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules];"
        "assert heavy == [], f'import memstore_nb loaded {heavy}';"
        "from memstore_nb import " + ", ".join(sorted(PUBLIC)) + ";"
        "assert 'redis' in sys.modules and memstore_nb.connect is connect"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_version_and_help_load_nothing_heavy() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from memstore_nb.cli.parser import main\n"
        "for argv in (['--version'], ['--help'], ['show', '--help']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "        main(argv)\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "assert heavy == [], heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
