"""The persistent local store behind ENDPOINT = "local": started once, reused, durable, private, race-safe."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from memstore_nb import connect
from memstore_nb.local import store as local_store
from memstore_nb.local.store import LocalStore

WHO = textwrap.dedent(
    """
    import json, sys
    from memstore_nb.local import store as local_store
    if len(sys.argv) > 1:  # a start line: both racers begin within a few milliseconds
        import time
        while time.time() < float(sys.argv[1]):
            time.sleep(0.001)
    store = local_store.ensure()
    print(json.dumps({"socket": str(store.socket), "pid": store.pid, "started": store.started}))
    """
)


@pytest.fixture()
def store_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data directory of this test's own; whatever store runs there is stopped afterwards.

    A short path (the store's unix socket lives in it; pytest's tmp_path can be too deep for one).
    """
    with tempfile.TemporaryDirectory(prefix="mnb-") as parent:
        directory = Path(parent) / "store"
        monkeypatch.setenv("MEMSTORE_NB_DATA_DIR", str(directory))
        yield directory
        local_store.stop()


def run_python(*args: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", WHO, *args], capture_output=True, text=True, timeout=60, check=True)
    return dict(json.loads(done.stdout))


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "memstore_nb.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
        check=False,
    )


def server_processes(directory: Path) -> list[int]:
    """Pids of the server processes working in this directory (a server chdirs to its data dir)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")) == directory.resolve() and entry.name != str(os.getpid()):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def client_of(store: LocalStore) -> redis.Redis:
    return redis.Redis(unix_socket_path=str(store.socket), password=store.password, protocol=2, decode_responses=True)


def test_first_use_starts_it_and_another_process_reuses_it(store_dir: Path) -> None:
    first = run_python()
    assert first["started"] is True
    second = run_python()
    assert second == {**first, "started": False}
    assert server_processes(store_dir) == [first["pid"]], "one server, outliving the process that started it"
    record = json.loads((store_dir / "store.json").read_text())
    assert record["process"]["pid"] == first["pid"] and first["socket"] == str(store_dir / "store.sock")
    assert Path(record["server"]["binary"]).is_file() and record["server"]["family"] in ("redis", "valkey")


def test_server_is_private_and_durable(store_dir: Path) -> None:
    store = local_store.ensure()
    client = client_of(store)
    assert client.config_get("appendonly") == {"appendonly": "yes"}
    assert client.config_get("appendfsync") == {"appendfsync": "always"}, "a write is on disk before its reply"
    assert client.config_get("port") == {"port": "0"}, "no TCP listener at all"
    assert stat.S_IMODE(os.stat(store.socket).st_mode) & 0o077 == 0
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(unix_socket_path=str(store.socket), protocol=2).ping()
    assert stat.S_IMODE((store_dir / "store.password").stat().st_mode) == 0o600
    assert stat.S_IMODE(store_dir.stat().st_mode) == 0o700
    client.rpush("kept", "a", "b")
    client.close()
    files = [path for path in store_dir.rglob("*") if path.is_file()]
    assert any("appendonly" in path.name for path in files)
    assert all(stat.S_IMODE(path.stat().st_mode) & 0o077 == 0 for path in files), "nothing readable by others"

    assert local_store.stop() is True
    assert local_store.running() is None
    assert server_processes(store_dir) == []
    again = local_store.ensure()
    assert again.started and again.pid != store.pid and again.socket == store.socket, "the same address"
    client = client_of(again)
    assert client.lrange("kept", 0, -1) == ["a", "b"], "the AOF brought the data back"
    client.close()


def test_two_racing_starters_get_one_server(store_dir: Path) -> None:
    start_line = str(time.time() + 3.0)  # both interpreters are up by then, even on a busy machine
    racers = [
        subprocess.Popen([sys.executable, "-c", WHO, start_line], stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    results = [json.loads(racer.communicate(timeout=60)[0]) for racer in racers]
    assert {(r["socket"], r["pid"]) for r in results} == {(results[0]["socket"], results[0]["pid"])}
    assert sorted(r["started"] for r in results) == [False, True], "exactly one of them started it"
    assert server_processes(store_dir) == [results[0]["pid"]]


def test_a_crashed_server_is_replaced(store_dir: Path) -> None:
    store = local_store.ensure()
    os.kill(store.pid, signal.SIGKILL)  # the server this test started
    while Path(f"/proc/{store.pid}").exists() and "Z" not in Path(f"/proc/{store.pid}/stat").read_text().split()[2]:
        time.sleep(0.01)
    again = local_store.ensure()
    assert again.started and again.pid != store.pid and client_of(again).ping()


def test_connect_local_reaches_the_store_across_processes(store_dir: Path) -> None:
    client = connect("local")
    client.rpush("shared-session", "hello")
    client.close()
    script = "from memstore_nb import connect; print(connect('local').lrange('shared-session', 0, -1))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[b'hello']"


def test_cli_local_status_stop_reset(store_dir: Path) -> None:
    stopped = cli("local", "status")
    assert stopped.returncode == 3 and "stopped" in stopped.stdout

    started = cli("local", "start")
    assert started.returncode == 0 and "started the local store" in started.stdout
    assert "already running" in cli("local", "start").stdout
    status = cli("local", "status", "--json")
    assert status.returncode == 0
    info = json.loads(status.stdout)
    assert info["running"] and info["directory"] == str(store_dir)

    quick = cli("quickstart", "--keep")
    assert quick.returncode == 0 and f"using the local store at {info['url']} " in quick.stderr
    keys = json.loads(cli("local", "status", "--json").stdout)["keys"]
    assert keys >= 1  # the kept session (and whatever bookkeeping its write left)

    refused = cli("local", "reset", stdin="")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert json.loads(cli("local", "status", "--json").stdout)["keys"] == keys, "nothing deleted without confirmation"

    stop = cli("local", "stop")
    assert stop.returncode == 0 and "data kept" in stop.stdout
    assert cli("local", "stop").stdout.strip() == "not running"
    assert json.loads(cli("local", "status", "--json").stdout)["data_bytes"] > 0

    (store_dir / "notes.txt").write_text("not the store's")
    reset = cli("local", "reset", "--yes")
    assert (
        reset.returncode == 0
        and "deleted" in reset.stdout
        and "kept what the store did not make: notes.txt" in reset.stderr
    )
    assert sorted(p.name for p in store_dir.iterdir()) == ["notes.txt"], "only the store's own files are deleted"
    fresh = json.loads(cli("local", "status", "--json").stdout)
    assert fresh["running"] is False


def test_password_never_shown(store_dir: Path) -> None:
    outputs = [
        cli("local", "start"),
        cli("local", "status"),
        cli("local", "status", "--json"),
        cli("quickstart"),
        cli("sessions"),
        cli("show", "no-such-session"),
    ]
    store = local_store.ensure()
    secret = (store_dir / "store.password").read_text().strip()
    assert secret == store.password and len(secret) >= 32
    for done in outputs:
        assert secret not in done.stdout + done.stderr, done.args
    assert secret not in repr(store) and secret not in store.url
    for pid in server_processes(store_dir):
        assert secret.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes(), "the password is not in ps"
    assert server_processes(store_dir), "the loop above checked a server"
    assert secret not in (store_dir / "store.log").read_text()
    assert secret not in (store_dir / "store.json").read_text()
    assert not (store_dir / "server.conf").exists(), "the configuration goes through a pipe, never a file"


def cli_on_a_terminal(answer: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI with a pseudo-terminal as stdin, typing ``answer`` at its prompt."""
    import pty

    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "memstore_nb.cli", *args],
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.write(leader, answer.encode() + b"\n")
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(leader)
        os.close(follower)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_reset_on_a_terminal_asks_first(store_dir: Path) -> None:
    store = local_store.ensure()
    client_of(store).set("precious", "1")

    declined = cli_on_a_terminal("no", "local", "reset")
    assert declined.returncode == 1 and "type 'yes' to confirm" in declined.stdout
    assert "nothing deleted" in declined.stdout
    assert client_of(store).get("precious") == "1"

    confirmed = cli_on_a_terminal("yes", "local", "reset")
    assert confirmed.returncode == 0 and "deleted the local store's data" in confirmed.stdout
    assert local_store.running() is None and not store_dir.exists()
    fresh = local_store.ensure()
    assert client_of(fresh).get("precious") is None


def _as_left_by(store_dir: Path, files: dict[str, str]) -> None:
    """Keep the data of a stopped store, drop the store's own files, and put ``files`` beside the data."""
    for name in ("store.json", "store.password", "store.log", ".lock"):
        (store_dir / name).unlink()
    for name, text in files.items():
        (store_dir / name).write_text(text)


def test_a_store_made_by_memstore_nb_0_1_keeps_its_data(store_dir: Path) -> None:
    client_of(local_store.ensure()).rpush("old", "kept")
    local_store.stop()
    _as_left_by(store_dir, {"password": "old-password\n", "server.conf": 'requirepass "old-password"\n'})
    again = local_store.ensure()
    assert client_of(again).lrange("old", 0, -1) == ["kept"]
    assert again.password != "old-password", "the old password file is not read"
    assert (store_dir / "password").read_text() == "old-password\n"


def test_data_the_store_did_not_make_is_refused(store_dir: Path) -> None:
    from memstore_nb.errors import LocalStoreError

    client_of(local_store.ensure()).rpush("theirs", "x")
    local_store.stop()
    _as_left_by(store_dir, {})
    with pytest.raises(LocalStoreError, match="appendonlydir, which the local store did not make"):
        local_store.ensure()
    assert not (store_dir / "store.json").exists()
