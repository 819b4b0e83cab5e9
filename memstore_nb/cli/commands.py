"""The commands that read and write sessions: quickstart, sessions, show."""

from __future__ import annotations

import argparse
import sys
import uuid
from typing import Any

from .connection import redis_for
from .output import CliError, json_text, note, one_line, safe, say

__all__ = ["SESSION_KEYS", "cmd_quickstart", "cmd_sessions", "cmd_show", "session_doc"]


def cmd_quickstart(args: argparse.Namespace) -> int:
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    from ..codec import message_role, message_summary
    from ..history.chat import MemorystoreChatMessageHistory

    with redis_for(args) as (client, _url):
        session_id = f"quickstart-{uuid.uuid4().hex[:8]}"
        history = MemorystoreChatMessageHistory(client, session_id, ttl=600)
        history.add_messages(
            [
                SystemMessage("You are a concise assistant."),
                HumanMessage("What is Memorystore?"),
                AIMessage("Google Cloud's managed Redis and Valkey service."),
                HumanMessage("And where does this chat live?"),
                AIMessage(f"In one Redis LIST, at key {session_id!r}."),
            ]
        )
        say(f"wrote {len(history)} messages to session {session_id!r}; read back:")
        for i, message in enumerate(history.messages):
            say(f"  #{i} {safe(message_role(message)):<6} {safe(one_line(message_summary(message)))}")
        if args.keep:
            say(f"kept (expires in 10 minutes): memstore-nb show {session_id} --endpoint ...")
        else:
            history.clear()
            say("deleted the quickstart session again (use --keep to keep it)")
    return 0


def cmd_sessions(args: argparse.Namespace) -> int:
    from ..sources.base import kind_of
    from ..sources.catalog import list_sessions, summarize_sessions

    with redis_for(args) as (client, _url):
        # Sorted by id, so a listing is the same every time (SCAN's order is not); SCAN may
        # report a key twice, the set keeps it once.
        # A thread may share its id with a list key: (id, kind) is what is unique.
        unique = {(str(s), kind_of(s)): s for s in list_sessions(client, match=args.match)}
        ids = [unique[k] for k in sorted(unique)]
        if args.limit and len(ids) > args.limit:
            note(f"(showing the first {args.limit} of {len(ids)} by id; use --limit 0 for all)")
            ids = ids[: args.limit]
        rows = []
        for low in range(0, len(ids), 200):  # one pipelined round trip per 200 sessions
            rows.extend(summarize_sessions(client, ids[low : low + 200]))
        if args.json:
            say(json_text([session_doc(r) for r in rows], indent=1))
            return 0
        if not rows:
            say(f"no sessions match {safe(repr(args.match))}")
            return 0
        shown = [safe(r.session_id) for r in rows]
        width = max(len("SESSION"), *(len(i) for i in shown))
        kinds = max(len("KIND"), *(len(r.kind) for r in rows))
        say(f"{'SESSION':<{width}}  {'KIND':<{kinds}}  {'MESSAGES':>8}  {'TTL':>7}  LAST MESSAGE")
        for r, session_id in zip(rows, shown, strict=True):
            ttl = "-" if r.ttl is None else f"{r.ttl}s"
            last = f"{safe(r.last_role)}: {safe(one_line(r.last_preview, 60))}" if r.length else "(gone)"
            say(f"{session_id:<{width}}  {safe(r.kind):<{kinds}}  {r.length:>8,}  {ttl:>7}  {last}")
    return 0


SESSION_KEYS = ("session_id", "kind", "length", "ttl", "last_role", "last_preview")


def session_doc(row: Any) -> dict[str, Any]:
    """One ``sessions --json`` element; docs/cli.md documents these keys, a test pins them."""
    return {key: getattr(row, key) for key in SESSION_KEYS}


def cmd_show(args: argparse.Namespace) -> int:
    from langchain_core.messages import message_to_dict

    from ..codec import message_role, message_summary
    from ..errors import MemstoreError
    from ..sources.base import SessionNotFound
    from ..sources.catalog import find_session, open_transcript

    with redis_for(args) as (client, _url):
        try:
            found = find_session(client, args.session_id, args.kind)
            if found is None:
                raise SessionNotFound(args.session_id)
            history = open_transcript(client, found, found.kind)
            length = history.stats().length
        except SessionNotFound:
            raise CliError(
                f"no session {safe(repr(args.session_id))}: the key does not exist (it may have expired or been "
                "deleted); list the existing ones with `memstore-nb sessions` (same --endpoint)"
            ) from None
        except MemstoreError as exc:
            raise CliError(safe(str(exc))) from None
        start = 0 if args.tail is None else max(length - args.tail, 0)
        chunk = 500  # LRANGE windows: a 100,000-message session is never loaded at once
        if args.json:
            sys.stdout.write("[")
        first = True
        for low in range(start, length, chunk):
            for offset, item in enumerate(history.read_range(low, min(low + chunk, length) - 1)):
                index = low + offset
                if args.json:
                    doc = {"index": index, "error": str(item)} if isinstance(item, Exception) else message_to_dict(item)
                    sys.stdout.write(("\n " if first else ",\n ") + json_text(doc))
                elif isinstance(item, Exception):
                    say(f"#{index} !! unreadable entry: {safe(str(item))}")
                else:
                    say(f"#{index} {safe(message_role(item))}: {safe(message_summary(item), keep_lines=True)}")
                first = False
        if args.json:
            sys.stdout.write("\n]\n")
            sys.stdout.flush()
    return 0
