"""The saver's Lua helpers and read scripts: one round trip per saver call, nothing stored can hang the server.

Each script touches the two keys of ONE thread (one hash slot), declared in ``KEYS``
(layout.py). Every walk inside a script (a chain of list deltas, a thread's namespaces) keeps a
visited set and stops after :data:`MAX_WALK` steps, and every stored value is decoded under
``pcall``: damaged data is answered with a structured error, never a runaway script (``BUSY``
for every client) or a raw Lua error. Errors that concern a whole call are error replies
``MSNB <CODE> <JSON detail>``; one damaged checkpoint in a reply is the item
``{checkpoint id, 0, why}``, so the rest of a page is still read (calls.py turns both into
CheckpointError).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import redis.exceptions

from ..sending import command

__all__ = ["DELETE_THREAD", "DUMP", "GET", "LIB", "LIST", "MAX_WALK", "Script"]

#: The most pieces a script follows in one chain of list deltas (records.MAX_CHAIN stays below it).
MAX_WALK = 20000

# Helpers shared by the scripts. A stored value starts with a JSON header line (layout.join_value).
LIB = f"""
local MAX_WALK = {MAX_WALK}
local function fail(code, detail)
  return redis.error_reply('MSNB ' .. code .. ' ' .. cjson.encode(detail))
end
local function head(v)
  local nl = string.find(v, '\\n', 1, true)
  if not nl then return nil end
  local ok, hd = pcall(cjson.decode, string.sub(v, 1, nl - 1))
  if ok and type(hd) == 'table' then return hd end
  return nil
end
local function piece(v)
  local start = string.sub(v, 1, 11)
  if start == '["f",null]\\n' then return 'f' end
  if start == '["e",null]\\n' then return 'e' end
  local base = string.match(v, '^%["d","([^"\\\\]*)"%]\\n')
  if base then return 'd', base end
  local hd = head(v)
  if not hd then return nil end
  if hd[1] == 'd' then
    if type(hd[2]) == 'string' then return 'd', hd[2] end
    return nil
  end
  if hd[1] == 'f' or hd[1] == 'e' then return hd[1] end
  return nil
end
local function refs(rec)
  local hd = head(rec)
  if not hd or type(hd['b']) ~= 'table' then return nil end
  for _, r in ipairs(hd['b']) do
    if type(r) ~= 'string' then return nil end
  end
  return hd
end
local function chain(h, n, field)
  local out, seen, f = {{}}, {{}}, field
  while f do
    if seen[f] then return nil, 'a loop of list deltas at version ' .. f end
    if #out >= MAX_WALK then return nil, 'more than ' .. MAX_WALK .. ' list deltas in a row' end
    seen[f] = true
    local v = redis.call('HGET', h, 'b:' .. n .. ':' .. f)
    if not v then
      if #out == 0 then return out end
      return nil, 'a list delta extends the missing version ' .. f
    end
    out[#out + 1] = v
    local kind, base = piece(v)
    if not kind then return nil, 'an unreadable value header at version ' .. f end
    f = base
  end
  return out
end
local function load(h, ix, n, cid, known, token)
  local rec = redis.call('HGET', h, 'c:' .. n .. ':' .. cid)
  if not rec then
    if redis.call('ZSCORE', ix, n .. ':' .. cid) then
      return {{cid, 0, 'the index names it but its record is gone'}}
    end
    return nil
  end
  local hd = refs(rec)
  if not hd then return {{cid, 0, 'an unreadable checkpoint header'}} end
  local blobs = {{}}
  for _, ref in ipairs(hd['b']) do
    blobs[#blobs + 1] = ref
    if known and known[ref] and known[ref] == token then
      blobs[#blobs + 1] = 1
    else
      local pieces, why = chain(h, n, ref)
      if not pieces then return {{cid, 0, 'channel value ' .. ref .. ': ' .. why}} end
      blobs[#blobs + 1] = pieces
    end
  end
  local writes = {{}}
  local raw = redis.call('HGET', h, 'x:' .. n .. ':' .. cid)
  if raw then
    local ok, list = pcall(cjson.decode, raw)
    if not ok or type(list) ~= 'table' then return {{cid, 0, 'an unreadable list of pending writes'}} end
    for _, f in ipairs(list) do
      if type(f) ~= 'string' then return {{cid, 0, 'an unreadable list of pending writes'}} end
      local v = redis.call('HGET', h, 'w:' .. n .. ':' .. cid .. '#' .. f)
      if v then
        writes[#writes + 1] = f
        writes[#writes + 1] = v
      end
    end
  end
  return {{cid, rec, blobs, writes}}
end
local function thread_state(h, ix)
  local meta = redis.call('HMGET', h, 'm', 'e', 'u')
  local z = redis.call('ZCARD', ix)
  if meta[3] then return nil, fail('UPGRADING', {{}}) end
  if tonumber(meta[1] or '0') ~= z then return nil, fail('PARTIAL', {{z, meta[1] or false}}) end
  return meta[2] or '', nil, z
end
local function ns_number(h, ns)
  if ns == '' then return '0' end
  local n = redis.call('HGET', h, 's:' .. ns)
  if n then return n end
  return nil
end
local function ns_new(h, ns)
  local n = tostring(redis.call('HINCRBY', h, 'S', 1))
  redis.call('HSET', h, 's:' .. ns, n, 'S:' .. n, ns)
  return n
end
local function ns_names(h)
  local out = {{['0'] = ''}}
  local top = tonumber(redis.call('HGET', h, 'S') or '0') or 0
  for i = 1, math.min(top, MAX_WALK * 10) do
    local name = redis.call('HGET', h, 'S:' .. i)
    if name then out[tostring(i)] = name end
  end
  return out
end
local function expire(h, ix, ttl, z)
  if ttl ~= '0' then
    redis.call('PEXPIRE', h, ttl)
    redis.call('PEXPIRE', ix, ttl)
  elseif z == 0 then
    local t = redis.call('PTTL', h)
    if t > 0 then redis.call('PEXPIRE', ix, string.format('%d', t)) end
  end
end
"""


class Script:
    """A script run with EVALSHA (EVAL once per server); replies are never decoded."""

    def __init__(self, body: str) -> None:
        self.script = LIB + body
        self.sha = hashlib.sha1(self.script.encode()).hexdigest()

    def run(self, client: Any, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return command(client, "EVALSHA", self.sha, len(keys), *keys, *args, never_decode=True)
        except redis.exceptions.NoScriptError:
            return command(client, "EVAL", self.script, len(keys), *keys, *args, never_decode=True)

    async def arun(self, client: Any, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return await client.execute_command("EVALSHA", self.sha, len(keys), *keys, *args, NEVER_DECODE=True)
        except redis.exceptions.NoScriptError:
            return await client.execute_command("EVAL", self.script, len(keys), *keys, *args, NEVER_DECODE=True)


# KEYS[1] thread hash, KEYS[2] index; ARGV[1] namespace, ARGV[2] checkpoint id or '' for the newest,
# then (blob field, edit token) pairs of list values the caller holds: sent back as 1 instead of the
# value while the checkpoint names that field and the thread's edit token is unchanged. Returns 0
# when the thread does not exist, nil when the checkpoint does not.
GET = Script(
    """
local h, ix = KEYS[1], KEYS[2]
local token, e, z = thread_state(h, ix)
if e then return e end
if token == '' and z == 0 then return 0 end
local n = ns_number(h, ARGV[1])
if not n then return nil end
local cid = ARGV[2]
if cid == '' then
  local top = redis.call('ZREVRANGEBYLEX', ix, '(' .. n .. ';', '[' .. n .. ':', 'LIMIT', 0, 1)
  if #top == 0 then return nil end
  cid = string.sub(top[1], #n + 2)
end
local known = {}
for i = 3, #ARGV, 2 do known[ARGV[i]] = ARGV[i + 1] end
return load(h, ix, n, cid, known, token)
"""
)

# KEYS[1] hash, KEYS[2] index; ARGV[1] namespace, ARGV[2] '1' for every namespace, ARGV[3] before
# this id ('' none), ARGV[4] '=' .. the namespace of that row (paging through every namespace:
# rows are ordered by id, newest first, then by namespace, so that id is still to come in the
# namespaces after it) or '', ARGV[5] count, ARGV[6] exact id (''). Returns ns1, item1, ns2, ...
LIST = Script(
    """
local h, ix = KEYS[1], KEYS[2]
local token, e = thread_state(h, ix)
if e then return e end
local spaces = {}
if ARGV[2] == '1' then
  spaces = ns_names(h)
else
  local n = ns_number(h, ARGV[1])
  if not n then return {} end
  spaces[n] = ARGV[1]
end
local count = tonumber(ARGV[5])
local after = nil
if string.sub(ARGV[4], 1, 1) == '=' then after = string.sub(ARGV[4], 2) end
local picks = {}
for n, name in pairs(spaces) do
  local ids
  if ARGV[6] ~= '' then
    ids = {}
    if redis.call('ZSCORE', ix, n .. ':' .. ARGV[6]) then ids[1] = n .. ':' .. ARGV[6] end
  else
    local hi = '(' .. n .. ';'
    if ARGV[3] ~= '' then
      if after and name > after then hi = '[' else hi = '(' end
      hi = hi .. n .. ':' .. ARGV[3]
    end
    ids = redis.call('ZREVRANGEBYLEX', ix, hi, '[' .. n .. ':', 'LIMIT', 0, count)
  end
  for _, member in ipairs(ids) do picks[#picks + 1] = {string.sub(member, #n + 2), name, n} end
end
table.sort(picks, function(a, b)
  if a[1] == b[1] then return a[2] < b[2] end
  return a[1] > b[1]
end)
local out = {}
for i = 1, math.min(count, #picks) do
  local item = load(h, ix, picks[i][3], picks[i][1], nil, token)
  if item then
    out[#out + 1] = picks[i][2]
    out[#out + 1] = item
  end
end
return out
"""
)

# KEYS[1] hash, KEYS[2] index. The thread for copy_thread: {namespace numbers and names, index
# entries, data fields and values}.
DUMP = Script(
    """
local h, ix = KEYS[1], KEYS[2]
local token, e = thread_state(h, ix)
if e then return e end
local names = {}
for n, name in pairs(ns_names(h)) do
  names[#names + 1] = n
  names[#names + 1] = name
end
local fields = {}
local all = redis.call('HGETALL', h)
for i = 1, #all, 2 do
  local kind = string.sub(all[i], 1, 2)
  if kind == 'c:' or kind == 'b:' or kind == 'w:' or kind == 'x:' then
    fields[#fields + 1] = all[i]
    fields[#fields + 1] = all[i + 1]
  end
end
return {names, redis.call('ZRANGE', ix, 0, -1), fields}
"""
)

# KEYS[1] hash, KEYS[2] index, KEYS[3..5] the old layout's namespace set and root keys. Deleting is
# idempotent, so a plain script (no write id). Returns the old layout's other namespaces, whose
# keys the caller deletes next.
DELETE_THREAD = Script(
    """
local rest = {}
if redis.call('TYPE', KEYS[3])['ok'] == 'set' then
  for _, ns in ipairs(redis.call('SMEMBERS', KEYS[3])) do
    if ns ~= '' then rest[#rest + 1] = ns end
  end
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
return rest
"""
)
