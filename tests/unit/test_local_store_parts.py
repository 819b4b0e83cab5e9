"""The local store's pure parts: config quoting, which server reads which data, process identity."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

import pytest

from memstore_nb import processes
from memstore_nb.local.daemon import config_text, quoted
from memstore_nb.local.formats import Server


@pytest.mark.parametrize("value", ['a"b', "a\\b", "a\nappendonly no", "tab\there", "é", "\x1b[31m", "plain"])
def test_a_quoted_value_stays_on_its_line_and_in_its_quotes(value: str) -> None:
    text = quoted(value)
    assert text.startswith('"') and text.endswith('"') and "\n" not in text
    inner = text[1:-1]
    assert '"' not in inner.replace('\\"', "") and all(0x20 <= ord(c) < 0x7F for c in inner)


def test_the_config_has_no_tcp_port_and_writes_before_it_replies(tmp_path: Path) -> None:
    lines = config_text(tmp_path / 'odd"\ndir', "pw").splitlines()
    assert "port 0" in lines and "appendfsync always" in lines and "unixsocketperm 700" in lines
    assert len([line for line in lines if line.startswith("dir ")]) == 1, "a path cannot add a directive"


@pytest.mark.parametrize(
    ("reader", "writer", "reads"),
    [
        (Server("valkey", (9, 1, 2)), Server("valkey", (9, 0)), True),
        (Server("valkey", (9, 1, 2)), Server("redis", (7, 2)), True),
        (Server("valkey", (9, 1, 2)), Server("redis", (7, 4)), False),
        (Server("redis", (6, 2, 14)), Server("valkey", (9, 0)), False),
        (Server("redis", (7, 0, 15)), Server("valkey", (9, 0)), False),
        (Server("redis", (6, 2, 14)), Server("redis", (7, 0)), False),
        (Server("redis", (7, 0, 15)), Server("redis", (6, 2)), True),
    ],
)
def test_which_server_reads_which_data(reader: Server, writer: Server, reads: bool) -> None:
    assert reader.reads(writer) is reads


def test_identity_names_one_process_and_a_signal_needs_it() -> None:
    proc = subprocess.Popen(["sleep", "30"])
    try:
        who = processes.identity(proc.pid)
        assert who is not None and who.is_current() and who.exe.endswith("sleep") and who.cwd == os.getcwd()
        recycled = dataclasses.replace(who, start=str(int(who.start) - 1))  # the same pid, another process
        assert not recycled.is_current()
        assert processes.signal_if_same(recycled, 15) is False and proc.poll() is None
        assert processes.signal_if_same(who, 15) is True
        assert proc.wait(timeout=10) == -15
    finally:
        proc.kill()
        proc.wait()


def test_identity_without_proc_comes_from_ps(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(processes, "_PROC", tmp_path / "no-proc")
    who = processes.identity(os.getpid())
    assert who is not None and who.cwd == "" and who.start and who.exe
    assert processes.identity(who.pid) == who
