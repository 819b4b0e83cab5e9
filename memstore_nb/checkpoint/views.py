"""What a history viewer shows of a thread: its checkpoints page by page, message times, a diff, a checkpoint's tasks.

Sync clients, one script call each where a page or a pass over the thread is concerned (scripts
below; every walk bounded like the saver's). Values are decoded with the saver's serializer
(LangGraph's ``JsonPlusSerializer`` unless given).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from langgraph.checkpoint.serde.base import SerializerProtocol

from ..errors import CheckpointError
from .calls import Call, Calls
from .layout import BLOB_EMPTY, ThreadKeys, check_prefix, check_text, split_value, text
from .scripts import Script

__all__ = ["CheckpointSummary", "message_times", "messages_first_held", "node_of", "thread_checkpoints"]

# KEYS[1] hash, KEYS[2] index; ARGV[1] namespace, ARGV[2] channel, ARGV[3] most checkpoints. In one
# pass over the namespace's checkpoints, oldest first: {id, time, pieces of the channel's value no
# earlier checkpoint held (newest first), and the record when it has no time in its header}.
_TIMES = Script(
    """
local h, ix = KEYS[1], KEYS[2]
local token, e = thread_state(h, ix)
if e then return e end
local n = ns_number(h, ARGV[1])
if not n then return {} end
local prefix = ARGV[2] .. '#'
local seen, out = {}, {}
local ids = redis.call('ZRANGEBYLEX', ix, '[' .. n .. ':', '(' .. n .. ';', 'LIMIT', 0, tonumber(ARGV[3]))
for _, mem in ipairs(ids) do
  local rec = redis.call('HGET', h, 'c:' .. mem)
  local hd = rec and refs(rec)
  if hd then
    local f, steps, fresh = nil, 0, {}
    for _, r in ipairs(hd['b']) do
      if string.sub(r, 1, #prefix) == prefix then f = r end
    end
    while f and not seen[f] and steps < MAX_WALK do
      seen[f] = true
      steps = steps + 1
      local v = redis.call('HGET', h, 'b:' .. n .. ':' .. f)
      if not v then break end
      fresh[#fresh + 1] = v
      local kind, base = piece(v)
      f = base
    end
    if #fresh > 0 then
      local ts = hd['t']
      if type(ts) == 'string' then
        out[#out + 1] = {string.sub(mem, #n + 2), ts, fresh}
      else
        out[#out + 1] = {string.sub(mem, #n + 2), '', fresh, rec}
      end
    end
  end
end
return out
"""
)

# KEYS[1] hash, KEYS[2] index; ARGV[1] namespace, ARGV[2] before this id (''), ARGV[3] count. Newest
# first: {id, record, its writes' header lines, its parent's header line (''), the parent's writes'
# header lines}; an unreadable checkpoint is {id, 0, why}.
_PAGE = Script(
    """
local h, ix = KEYS[1], KEYS[2]
local token, e = thread_state(h, ix)
if e then return e end
local n = ns_number(h, ARGV[1])
if not n then return {} end
local function first_line(v)
  local nl = string.find(v, '\\n', 1, true)
  if nl then return string.sub(v, 1, nl - 1) end
  return ''
end
local function writes(cid)
  local out = {}
  local raw = redis.call('HGET', h, 'x:' .. n .. ':' .. cid)
  if not raw then return out end
  local ok, list = pcall(cjson.decode, raw)
  if not ok or type(list) ~= 'table' then return out end
  for _, f in ipairs(list) do
    if type(f) == 'string' then
      local v = redis.call('HGET', h, 'w:' .. n .. ':' .. cid .. '#' .. f)
      if v then out[#out + 1] = first_line(v) end
    end
  end
  return out
end
local hi = '(' .. n .. ';'
if ARGV[2] ~= '' then hi = '(' .. n .. ':' .. ARGV[2] end
local out = {}
for _, mem in ipairs(redis.call('ZREVRANGEBYLEX', ix, hi, '[' .. n .. ':', 'LIMIT', 0, tonumber(ARGV[3]))) do
  local cid = string.sub(mem, #n + 2)
  local rec = redis.call('HGET', h, 'c:' .. mem)
  local hd = rec and head(rec)
  if not hd then
    out[#out + 1] = {cid, 0, 'an unreadable checkpoint header'}
  else
    local parent, pwrites = '', {}
    if type(hd['p']) == 'string' then
      local prec = redis.call('HGET', h, 'c:' .. n .. ':' .. hd['p'])
      if prec then parent = first_line(prec) end
      pwrites = writes(hd['p'])
    end
    out[#out + 1] = {cid, rec, writes(cid), parent, pwrites}
  end
end
return out
"""
)


def _serde(serde: SerializerProtocol | None) -> SerializerProtocol:
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    return serde or JsonPlusSerializer()


def _run(client: Any, script: Script, keys: ThreadKeys, ns: str, args: list[Any]) -> Any:
    check_text(ns, "checkpoint_ns")
    call = Call(script, keys, [keys.thread, keys.order], [ns, *args], ns=ns)
    return Calls(client).read(call)


def node_of(task_path: Any) -> str | None:
    """The node a task ran (``"~__pregel_pull, model"`` -> ``"model"``), or None when the path does not say."""
    parts = [p.strip() for p in str(task_path or "").replace("~", "").split(",")]
    names = [p for p in parts if p and not p.isdigit() and not p.startswith("__pregel_")]
    return names[-1] if names else None


_SPECIAL = ("__error__", "__interrupt__", "__resume__", "__scheduled__", "__pregel_tasks")


def _writers(lines: list[Any]) -> tuple[str, ...]:
    """The nodes whose (non-special) writes these write header lines are."""
    found: list[str] = []
    for line in lines:
        try:
            channel, path = json.loads(text(line))[:2]
        except (ValueError, TypeError):
            continue
        node = node_of(path)
        if node and channel not in _SPECIAL and node not in found:
            found.append(node)
    return tuple(found)


@dataclass(frozen=True)
class CheckpointSummary:
    """One checkpoint of a thread, as a history view lists it.

    Attributes:
        checkpoint_id: LangGraph's id (time-ordered).
        ts: when it was made (ISO 8601, UTC), from the checkpoint itself.
        parent_id: the checkpoint it follows (None for the first one of a run).
        step: LangGraph's step (-1 for an input checkpoint).
        source: ``"input"``, ``"loop"``, ``"update"`` or ``"fork"``.
        metadata: the whole metadata dict.
        writers: the node(s) whose writes made it (the tasks of its parent's pending writes;
            ``("__input__",)`` for an input checkpoint), empty when unknown.
        message_count: how many items the messages channel held (None when not recorded).
        messages_added: ``message_count`` minus the parent's (negative when messages were
            removed; None when either is not recorded).
    """

    checkpoint_id: str
    ts: str | None
    parent_id: str | None
    step: int | None
    source: str | None
    metadata: dict[str, Any]
    writers: tuple[str, ...] = ()
    message_count: int | None = None
    messages_added: int | None = None


def _count(header_line: Any, channel: str) -> int | None:
    try:
        header = json.loads(text(header_line)) if header_line else None
    except ValueError:
        return None
    lengths = header.get("l") if isinstance(header, dict) else None
    if not isinstance(lengths, dict):  # a checkpoint stored before lengths were recorded
        return None
    value = lengths.get(channel, 0)  # recorded, and the channel held no list
    return value if isinstance(value, int) else None


def thread_checkpoints(
    client: Any,
    thread_id: str,
    *,
    key_prefix: str = "",
    checkpoint_ns: str = "",
    limit: int | None = None,
    before: str | None = None,
    channel: str = "messages",
    serde: SerializerProtocol | None = None,
) -> list[CheckpointSummary]:
    """The thread's checkpoints, newest first, without their channel values: one round trip per page.

    Args:
        client: a sync client.
        thread_id: the thread.
        key_prefix: the saver's ``key_prefix``.
        checkpoint_ns: the namespace (``""``: the root graph).
        limit: at most this many (None: all).
        before: only checkpoints older than this id (the last id of the previous page).
        channel: the list channel whose length is counted (``message_count``, ``messages_added``).
        serde: the saver's serializer.

    Raises:
        CheckpointError: the thread is incomplete, of another type, or a checkpoint cannot be decoded.
    """
    if limit is not None and limit <= 0:
        return []
    keys = ThreadKeys(thread_id, check_prefix(key_prefix))
    codec = _serde(serde)
    reply = _run(client, _PAGE, keys, checkpoint_ns, [before or "", -1 if limit is None else limit])
    out = []
    for item in reply or ():
        cid = text(item[0])
        try:
            if isinstance(item[1], int):
                raise ValueError(text(item[2]))
            header, typed = split_value(item[1])
            body = codec.loads_typed(typed)
            metadata, ts = dict(body["metadata"]), body["checkpoint"].get("ts")
        except Exception as exc:
            raise CheckpointError(
                f"checkpoint {cid!r} of thread {thread_id!r} cannot be read ({type(exc).__name__}: {exc})",
                thread_id,
                cid,
            ) from exc
        step, source = metadata.get("step"), metadata.get("source")
        writers = ("__input__",) if source == "input" else _writers(list(item[4]))
        if not writers and isinstance(metadata.get("writes"), dict):
            writers = tuple(str(k) for k in metadata["writes"])
        count = _count(json.dumps(header), channel)
        parent_count = _count(item[3], channel) if header.get("p") else 0
        added = count - parent_count if count is not None and parent_count is not None else None
        out.append(
            CheckpointSummary(
                cid,
                ts,
                header.get("p"),
                step if isinstance(step, int) else None,
                source,
                metadata,
                writers,
                count,
                added,
            )
        )
    return out


def _first_held(
    client: Any, thread_id: str, key_prefix: str, ns: str, channel: str, serde: SerializerProtocol | None, most: int
) -> Iterator[tuple[str, str, list[Any]]]:
    # (checkpoint id, its time, the messages no earlier checkpoint held), oldest checkpoint first.
    keys = ThreadKeys(thread_id, check_prefix(key_prefix))
    codec = _serde(serde)
    seen: set[str] = set()
    for item in _run(client, _TIMES, keys, ns, [channel, most]) or ():
        cid, ts = text(item[0]), text(item[1])
        fresh: list[Any] = []
        try:
            if not ts:
                ts = str(codec.loads_typed(split_value(item[3])[1])["checkpoint"].get("ts") or "")
            for raw in reversed(item[2]):
                header, typed = split_value(raw)
                if header[0] == BLOB_EMPTY:
                    continue
                for message in codec.loads_typed(typed) or ():
                    ident = _ident(message)
                    if ident is not None and ident not in seen:
                        seen.add(ident)
                        fresh.append(message)
        except Exception as exc:
            raise CheckpointError(
                f"checkpoint {cid!r} of thread {thread_id!r}: a stored value cannot be read ({type(exc).__name__}: "
                f"{exc})",
                thread_id,
                cid,
            ) from exc
        yield cid, ts, fresh


def message_times(
    client: Any,
    thread_id: str,
    *,
    key_prefix: str = "",
    ns: str = "",
    channel: str = "messages",
    serde: SerializerProtocol | None = None,
    max_checkpoints: int = 100_000,
) -> dict[str, str]:
    """Message id -> the time of the first checkpoint that held it, in ONE pass over the thread's index.

    One script call reads, oldest checkpoint first, only the pieces of the channel's value that no
    earlier checkpoint held (each stored piece once), so the whole pass costs about one read of the
    conversation. Messages without an id get no time.

    Raises:
        CheckpointError: the thread is incomplete, of another type, or a piece cannot be decoded.
    """
    held = _first_held(client, thread_id, key_prefix, ns, channel, serde, max_checkpoints)
    return {str(_ident(m)): ts for _cid, ts, fresh in held if ts for m in fresh}


def messages_first_held(
    client: Any,
    thread_id: str,
    *,
    key_prefix: str = "",
    ns: str = "",
    channel: str = "messages",
    serde: SerializerProtocol | None = None,
    max_checkpoints: int = 100_000,
) -> dict[str, tuple[str, list[Any]]]:
    """Checkpoint id -> (its time, the messages it was the first to hold), in the same one pass as
    :func:`message_times`: what each step added, on every branch, whatever was removed since.

    Raises:
        CheckpointError: the thread is incomplete, of another type, or a piece cannot be decoded.
    """
    held = _first_held(client, thread_id, key_prefix, ns, channel, serde, max_checkpoints)
    return {cid: (ts, fresh) for cid, ts, fresh in held}


def _ident(message: Any) -> str | None:
    # A message's id, as an object or as a dict; None when it has no text id (it then gets no time).
    ident = getattr(message, "id", None) or (message.get("id") if isinstance(message, dict) else None)
    return ident if isinstance(ident, str) else None
