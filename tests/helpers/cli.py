"""Helpers for the notebook, demo and command-line tests: URLs, the CLI in a subprocess, process trees."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis

from memstore_nb.local import start_local_redis

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"


def db_url(base: str, db: int) -> str:
    """``base`` with its database index replaced by ``db``."""
    parts = urlsplit(base if "://" in base else f"redis://{base}")
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, ""))


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("MEMSTORE_NB_PASSWORD", None)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def run_cli(
    *args: str, timeout: float = 120, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``memstore-nb ARGS`` in a subprocess (``python -m memstore_nb.cli``), captured."""
    return subprocess.run(
        [sys.executable, "-m", "memstore_nb.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=cli_env(env),
        cwd=cwd or REPO,
        check=False,
    )


def process_tree(root: int) -> list[tuple[int, str, str]]:
    """(pid, start time, command) of every live descendant of ``root``, from /proc."""
    children: dict[int, list[int]] = {}
    info: dict[int, tuple[str, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        info[int(entry.name)] = (fields[19], cmd)
    found = []
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append((child, *info[child]))
            todo.append(child)
    return found


def still_running(pid: int, start: str) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] == start and fields[0] != "Z"


class Background:
    """A long-running ``memstore-nb`` command (demo, view): read its output, interrupt it, check what it leaves."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "memstore_nb.cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(env),
            cwd=REPO,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        for stream, sink in ((self.proc.stdout, self.stdout), (self.proc.stderr, self.stderr)):
            threading.Thread(target=self._pump, args=(stream, sink), daemon=True).start()

    def _pump(self, stream: object, sink: list[str]) -> None:
        for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
            sink.append(line)
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float = 90) -> re.Match[str]:
        """The first output line matching ``pattern`` (stdout or stderr)."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            found = regex.search(line)
            if found:
                return found
        self.stop()
        raise AssertionError(f"no line matched {pattern!r}:\n{''.join(self.stdout)}\n{''.join(self.stderr)}")

    def interrupt(self, timeout: float = 60) -> tuple[int, list[tuple[int, str, str]]]:
        """Ctrl-C (SIGINT) the command; returns its exit code and the processes it had started."""
        tree = process_tree(self.proc.pid)
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=timeout)
        time.sleep(0.5)  # let orphans that init adopted be reaped
        return code, tree

    def stop(self) -> None:
        if self.proc.poll() is None:
            for pid, start, _cmd in process_tree(self.proc.pid):
                if still_running(pid, start):
                    os.kill(pid, signal.SIGKILL)
            self.proc.kill()
            self.proc.wait()


# -- fixtures (imported by the conftest of tests/cli and tests/notebooks) --------------------------


@pytest.fixture(scope="session")
def cluster_url() -> Iterator[str]:
    """A real 3-shard Redis Cluster for the tests that need one (Method 2 of the walkthrough)."""
    with start_local_redis(cluster=True) as cluster:
        yield cluster.url


@pytest.fixture()
def fresh_db(redis_url: str, request: pytest.FixtureRequest) -> Iterator[tuple[str, redis.Redis]]:
    """A database of the suite's Redis that only this test uses, empty before and after: (url, client)."""
    db = 10 + sum(map(ord, request.node.name)) % 6  # 10..15: away from db 0 that the other tests share
    url = db_url(redis_url, db)
    client = redis.Redis.from_url(url, protocol=2, decode_responses=True)
    client.flushdb()
    yield url, client
    client.flushdb()
    client.close()


@pytest.fixture()
def spawn() -> Iterator[Callable[..., Background]]:
    """``spawn(*args)`` starts a long-running command; whatever is left of it is killed after the test."""
    started: list[Background] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Background:
        started.append(Background(*args, env=env))
        return started[-1]

    yield start
    for command in started:
        command.stop()
