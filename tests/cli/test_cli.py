"""`memstore-nb` end to end: every subcommand in a subprocess against the suite's Redis (or its own)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import nbformat
import pytest
import redis
import redis.cluster
from helpers.cli import Background, process_tree, run_cli, still_running
from langchain_core.messages import messages_from_dict

import memstore_nb
from memstore_nb.demo import conversations, seed
from memstore_nb.history import MemorystoreChatMessageHistory
from memstore_nb.local import start_local_redis

pytestmark = pytest.mark.integration

SECRET = "s3cret-auth-string"

SUBCOMMANDS = ("demo", "run", "sessions", "show", "view", "quickstart")


def _fetch(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=60) as reply:
        return reply.status, reply.read().decode(errors="replace")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _assert_one_line_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("memstore-nb: error: "), done.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def _assert_all_stopped(code: int, tree: list[tuple[int, str, str]], *expected: str) -> None:
    assert code in (0, 130)
    commands = " ".join(cmd for _pid, _start, cmd in tree)
    for name in expected:
        assert name in commands, f"{name} was never started: {commands}"
    left = [cmd for pid, start, cmd in tree if still_running(pid, start)]
    assert left == [], f"left running after Ctrl-C: {left}"


def test_version_and_help() -> None:
    done = run_cli("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"memstore-nb {memstore_nb.__version__}"
    done = run_cli("--help")
    assert done.returncode == 0
    for name in SUBCOMMANDS:
        assert name in done.stdout
    for name in SUBCOMMANDS:
        sub = run_cli(name, "--help")
        assert sub.returncode == 0 and "--endpoint" in sub.stdout, name


def test_console_script_is_installed() -> None:
    exe = shutil.which("memstore-nb")
    assert exe, "pip install -e . puts the memstore-nb command on PATH"
    done = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout.strip() == f"memstore-nb {memstore_nb.__version__}"


def test_quickstart_against_an_endpoint_deletes_its_session(redis_url: str, client: redis.Redis) -> None:
    done = run_cli("quickstart", "--endpoint", redis_url)
    assert done.returncode == 0, done.stderr
    assert "wrote 5 messages" in done.stdout
    assert "human  What is Memorystore?" in done.stdout
    assert list(client.scan_iter(match="quickstart-*")) == []


def test_quickstart_keep(redis_url: str, client: redis.Redis) -> None:
    done = run_cli("quickstart", "--keep", "--endpoint", redis_url)
    assert done.returncode == 0, done.stderr
    keys = list(client.scan_iter(match="quickstart-*"))
    try:
        assert len(keys) == 1 and client.llen(keys[0]) == 5 and 0 < client.ttl(keys[0]) <= 600
    finally:
        if keys:
            client.delete(*keys)


def test_quickstart_local_uses_the_suites_local_store() -> None:
    done = run_cli("quickstart")
    assert done.returncode == 0, done.stderr
    where = done.stderr.split("the local store at unix://")[1].split()[0]
    assert f"(data in {os.environ['MEMSTORE_NB_DATA_DIR']})" in done.stderr, "never the user's own store"
    assert "deleted the quickstart session" in done.stdout
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(where)  # the local store outlives the command
    again = run_cli("quickstart")
    assert f"using the local store at unix://{where} " in again.stderr


def test_quickstart_local_cluster_stops_every_node() -> None:
    done = run_cli("quickstart", "--endpoint", "local-cluster")
    assert done.returncode == 0, done.stderr
    assert "started an embedded Redis Cluster at redis://127.0.0.1:" in done.stderr
    port = int(done.stderr.split("redis://127.0.0.1:")[1].split()[0])
    assert "wrote 5 messages" in done.stdout
    assert not _listening(port)


def test_sessions_and_show_on_a_cluster(cluster_url: str) -> None:
    cluster = redis.cluster.RedisCluster.from_url(cluster_url, protocol=2)
    ids = seed(cluster, prefix="cli-cluster:")
    try:
        done = run_cli("sessions", "--endpoint", cluster_url, "--match", "cli-cluster:*")
        assert done.returncode == 0, done.stderr
        assert {row.split()[0] for row in done.stdout.splitlines()[1:]} == set(ids)
        tail = run_cli("show", "cli-cluster:spanish-tutor-long", "--tail", "1", "--endpoint", cluster_url)
        assert tail.stdout.startswith("#2999 human:")
    finally:
        cluster.delete(*ids)
        cluster.close()


def test_sessions_table_and_json(client: redis.Redis, redis_url: str, session_id: str) -> None:
    prefix = f"{session_id}:"
    seed(client, prefix=prefix)
    done = run_cli("sessions", "--endpoint", redis_url, "--match", f"{prefix}*")
    assert done.returncode == 0, done.stderr
    rows = done.stdout.splitlines()
    assert rows[0].split()[:3] == ["SESSION", "KIND", "MESSAGES"]
    assert {row.split()[0] for row in rows[1:]} == {prefix + c.name for c in conversations()}
    assert all(row.split()[1] == "memstore" for row in rows[1:])
    long_row = next(row for row in rows if row.startswith(prefix + "spanish-tutor-long"))
    assert "3,000" in long_row
    assert "s " in next(row for row in rows if row.startswith(prefix + "temporary-chat"))  # a TTL in seconds

    done = run_cli("sessions", "--endpoint", redis_url, "--match", f"{prefix}*", "--json")
    docs = {d["session_id"]: d for d in json.loads(done.stdout)}
    assert docs[prefix + "spanish-tutor-long"]["length"] == 3000
    assert docs[prefix + "support-refund"]["ttl"] is None
    assert 0 < docs[prefix + "temporary-chat"]["ttl"] <= 3600

    limited = run_cli("sessions", "--endpoint", redis_url, "--match", f"{prefix}*", "--limit", "2")
    assert len(limited.stdout.splitlines()) == 3 and "--limit 0" in limited.stderr

    none = run_cli("sessions", "--endpoint", redis_url, "--match", "no-such-session-*")
    assert none.returncode == 0 and "no sessions match" in none.stdout


def test_show_text_tail_and_json(client: redis.Redis, redis_url: str, session_id: str) -> None:
    prefix = f"{session_id}:"
    seed(client, prefix=prefix, only=["weather-agent", "spanish-tutor-long", "xss-probe"])
    done = run_cli("show", prefix + "weather-agent", "--endpoint", redis_url)
    assert done.returncode == 0, done.stderr
    assert '#2 ai: → get_weather({"city": "Paris", "unit": "celsius"})' in done.stdout
    assert "#3 tool: [call_paris]" in done.stdout

    tail = run_cli("show", prefix + "spanish-tutor-long", "--tail", "3", "--endpoint", redis_url)
    indices = [line.split()[0] for line in tail.stdout.splitlines() if line.startswith("#")]
    assert indices == ["#2997", "#2998", "#2999"]

    full = run_cli("show", prefix + "spanish-tutor-long", "--json", "--endpoint", redis_url)
    docs = json.loads(full.stdout)
    assert len(docs) == 3000  # streamed in LRANGE windows, still one valid JSON array
    stored = MemorystoreChatMessageHistory(client, prefix + "spanish-tutor-long")
    assert messages_from_dict(docs[-2:]) == stored[-2:]

    xss = run_cli("show", prefix + "xss-probe", "--endpoint", redis_url)
    assert "<script>alert('xss')</script>" in xss.stdout  # a terminal shows text as it is


def test_show_marks_corrupt_entries_and_missing_sessions(client: redis.Redis, redis_url: str, session_id: str) -> None:
    client.rpush(session_id, '{"type": "human", "data": {"content": "hello"}}', "not json")
    done = run_cli("show", session_id, "--endpoint", redis_url)
    assert done.returncode == 0
    assert "#0 human: hello" in done.stdout and "#1 !! unreadable entry" in done.stdout
    _assert_one_line_error(run_cli("show", session_id + "-missing", "--endpoint", redis_url), "no session")
    client.set(session_id + "-string", "x")
    _assert_one_line_error(run_cli("show", session_id + "-string", "--endpoint", redis_url), "string")


def test_errors_are_one_line_exit_2() -> None:
    _assert_one_line_error(run_cli("sessions", "--endpoint", "http://example.invalid"), "http")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: refused
        _assert_one_line_error(run_cli("sessions", "--endpoint", f"127.0.0.1:{port}"), f"127.0.0.1:{port}")
    bad_usage = run_cli("show", "x", "--tail", "-1")
    assert bad_usage.returncode == 2 and "Traceback" not in bad_usage.stderr


def _tiny_notebook(path: Path, body: str) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('ENDPOINT = "local"\nSESSION = "unset"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_run_injects_parameters_and_endpoint(
    tmp_path: Path, redis_url: str, client: redis.Redis, session_id: str
) -> None:
    source = _tiny_notebook(
        tmp_path / "write.ipynb",
        "from memstore_nb.connection import connect\n"
        "from langchain_core.messages import HumanMessage\n"
        "from memstore_nb.history import MemorystoreChatMessageHistory\n"
        "MemorystoreChatMessageHistory(connect(ENDPOINT), SESSION).add_message(HumanMessage(ENDPOINT))\n",
    )
    output = tmp_path / "out.ipynb"
    done = run_cli("run", str(source), "-p", "SESSION", session_id, "--endpoint", redis_url, "-o", str(output))
    assert done.returncode == 0, done.stderr
    assert output.is_file()
    history = MemorystoreChatMessageHistory(client, session_id)
    assert [m.content for m in history.messages] == [redis_url]
    assert "injected-parameters" in json.dumps(nbformat.read(output, as_version=4).dict())


def test_run_reports_a_failing_cell_in_one_line(tmp_path: Path) -> None:
    source = _tiny_notebook(tmp_path / "fail.ipynb", "raise ValueError(f'boom {SESSION!r}')")
    done = run_cli("run", str(source), "-p", "SESSION", "42", "-o", str(tmp_path / "out.ipynb"))
    assert done.returncode == 1
    assert "ValueError: boom 42" in done.stderr and "Traceback" not in done.stderr
    _assert_one_line_error(run_cli("run", str(tmp_path / "missing.ipynb")), "no notebook")


@pytest.mark.slow
def test_run_interrupted_leaves_no_kernel_or_redis(spawn: Callable[..., Background], tmp_path: Path) -> None:
    source = _tiny_notebook(
        tmp_path / "slow.ipynb",
        "from memstore_nb import connect\nclient = connect(ENDPOINT)\nprint('connected', flush=True)\n"
        "import time\ntime.sleep(120)",
    )
    run = spawn("run", str(source), "-o", str(tmp_path / "out.ipynb"), "--endpoint", "local-cluster")
    run.wait_for(r"^running ")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until the kernel has started its embedded cluster
        if "redis-server" in " ".join(cmd for _pid, _start, cmd in process_tree(run.proc.pid)):
            break
        time.sleep(0.2)
    code, tree = run.interrupt()
    _assert_all_stopped(code, tree, "ipykernel", "-server")


@pytest.mark.slow
def test_demo_seeds_the_local_store_once_serves_the_viewer_and_ctrl_c_stops_all(
    spawn: Callable[..., Background],
) -> None:
    from memstore_nb.local import store as local_store

    demo = spawn("demo", "--no-browser", "--prefix", "demo-once:")
    demo.wait_for(r"the demo data lives in the local store, " + os.environ["MEMSTORE_NB_DATA_DIR"])
    demo.wait_for(r"seeded 7 demo sessions")
    demo.wait_for(r"demo sessions at local:")
    url = demo.wait_for(r"viewer page: (http://\S+)").group(1)
    store = local_store.running()
    assert store is not None
    probe = redis.Redis(unix_socket_path=str(store.socket), password=store.password, protocol=2)
    assert probe.llen("demo-once:spanish-tutor-long") == 3000
    status, page = _fetch(url)
    assert status == 200 and "voila" in page.lower()
    assert any("3,032/3,032" in line for line in demo.stderr), "progress bar on stderr"

    code, tree = demo.interrupt()
    _assert_all_stopped(code, tree, "voila")
    assert not _listening(int(url.split(":")[2].split("/")[0]))
    assert probe.ping(), "the local store keeps running, and keeps the data"

    again = spawn("demo", "--no-browser", "--prefix", "demo-once:")
    again.wait_for(r"the demo data is already there: not seeded again")
    again.wait_for(r"viewer page: ")
    again.interrupt()
    assert probe.llen("demo-once:spanish-tutor-long") == 3000
    probe.delete(*probe.keys("demo-once:*"))
    probe.close()


@pytest.mark.slow
def test_view_on_an_endpoint_then_ctrl_c(spawn: Callable[..., Background], redis_url: str) -> None:
    view = spawn("view", "--no-browser", "--endpoint", redis_url)
    url = view.wait_for(r"viewer page: (http://\S+)").group(1)
    status, _page = _fetch(url)
    assert status == 200
    code, tree = view.interrupt()
    _assert_all_stopped(code, tree, "voila")


@pytest.mark.slow
def test_demo_lab_on_an_endpoint_then_ctrl_c(
    spawn: Callable[..., Background], redis_url: str, client: redis.Redis, session_id: str
) -> None:
    prefix = f"{session_id}:"
    lab = spawn("demo", "--lab", "--no-browser", "--endpoint", redis_url, "--prefix", prefix)
    url = lab.wait_for(r"JupyterLab: (http://\S+)").group(1)
    assert client.llen(prefix + "support-refund") == len(conversations()[0].messages)
    status, page = _fetch(url)
    assert status == 200 and "JupyterLab" in page
    contents = json.loads(_fetch(url.replace("/lab?", "/api/contents?"))[1])
    assert "chat_message_history.ipynb" in {item["name"] for item in contents["content"]}
    code, tree = lab.interrupt()
    _assert_all_stopped(code, tree, "jupyterlab")


@pytest.fixture(scope="module")
def password_url() -> Iterator[str]:
    """A Redis that wants an AUTH string (Memorystore's AUTH feature), its URL without the password."""
    with start_local_redis(args=["--requirepass", SECRET]) as server:
        yield server.url


def test_password_from_the_environment_is_used_and_never_printed(password_url: str) -> None:
    env = {"MEMSTORE_NB_PASSWORD": SECRET}
    done = run_cli("quickstart", "--endpoint", password_url, env=env)
    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout + done.stderr
    refused = run_cli("sessions", "--endpoint", password_url)
    _assert_one_line_error(refused)
    assert SECRET not in refused.stderr


@pytest.mark.slow
def test_demo_with_a_password_url_hides_it_and_the_page_connects(
    spawn: Callable[..., Background], password_url: str
) -> None:
    with_password = password_url.replace("redis://", f"redis://:{SECRET}@")
    demo = spawn("demo", "--no-browser", "--endpoint", with_password, "--prefix", "pw-demo:")
    shown = demo.wait_for(r"demo sessions at (\S+):").group(1)
    assert shown == password_url.replace("redis://", "redis://:***@")
    url = demo.wait_for(r"viewer page: (http://\S+)").group(1)
    status, page = _fetch(url)
    assert status == 200
    assert "Could not open the chat history viewer" not in page  # the page's kernel authenticated
    assert SECRET not in page
    code, tree = demo.interrupt()
    _assert_all_stopped(code, tree, "voila")
    assert SECRET not in "".join(demo.stdout + demo.stderr)
