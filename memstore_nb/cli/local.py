"""``memstore-nb local status|start|stop|reset``: the persistent local store behind ``--endpoint local``."""

from __future__ import annotations

import argparse
import json
import sys

from .output import CliError, note, safe, say

__all__ = ["cmd_local", "confirmed"]


def _shown(text: str) -> str:
    """``text`` for the terminal: :func:`safe` only when it holds a control or format character (a path
    rarely does, and ``safe`` loads the message codec, which these quick commands do not need otherwise)."""
    return text if text.isprintable() else safe(text)


def confirmed(question: str) -> bool:
    """Ask ``question`` on the terminal; only a typed "yes" is yes (Ctrl-D or an empty answer is no)."""
    try:
        answer = input(question)
    except EOFError:
        say("")
        return False
    return answer.strip().lower() == "yes"


def cmd_local(args: argparse.Namespace) -> int:
    from ..local import store as local_store

    if args.action == "start":
        store = local_store.ensure()
        verb = "started" if store.started else "already running:"
        say(f"{verb} the local store at {_shown(store.url)} ({store.version}, pid {store.pid})")
        say(f"data in {_shown(str(store.directory))}")
        return 0
    if args.action == "stop":
        if local_store.stop():
            say(f"stopped the local store (data kept in {_shown(str(local_store.data_dir()))})")
        else:
            info = local_store.status()
            say("not running" + (" (it stopped itself: the disk is full)" if "disk full" in info["state"] else ""))
        return 0
    if args.action == "reset":
        return _reset(args)
    return _status(args)


def _reset(args: argparse.Namespace) -> int:
    from ..local import store as local_store

    directory = _shown(str(local_store.data_dir()))
    if not args.yes:
        if not sys.stdin.isatty():
            raise CliError(f"reset deletes every key in {directory}: confirm with --yes (no terminal to ask)")
        if not confirmed(f"delete all data of the local store in {directory}? type 'yes' to confirm: "):
            say("nothing deleted")
            return 1
    left = local_store.reset()
    say(f"deleted the local store's data in {directory}")
    if left:
        note(f"kept what the store did not make: {', '.join(_shown(name) for name in left)}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from ..local import store as local_store

    info = local_store.status()
    if args.json:
        say(json.dumps(info, indent=1))  # ASCII only: every control or bidi character escaped
        return 0 if info["running"] else 3
    say(f"data:    {_shown(info['directory'])} ({info['data_bytes']:,} bytes on disk)")
    if "free_bytes" in info:
        say(f"disk:    {info['free_bytes']:,} bytes free on {_shown(info['mount'])}")
    if info["running"]:
        keys = info.get("keys", "?")
        say(f"{info['state']}: {_shown(info['url'])} (pid {info['pid']}, {info['version']}, {keys} keys)")
        say(f"binary:  {_shown(info['binary'])}")
    elif info["state"] == "stopped: disk full":
        say("stopped: the disk is full (free some space, then `memstore-nb local start`)")
    else:
        say("stopped (any command with --endpoint local starts it)")
    return 0 if info["running"] else 3
