"""The saver's Lua helpers and read scripts: one round trip per saver call.

Each script touches the keys of ONE thread (one hash slot), and only keys declared in ``KEYS``: the
thread key, then (index, hash) pairs of namespaces, named in Python. A script that walks the
thread's namespaces (the thread key's SET) first checks that every one of them was declared, and
refuses with ``NSKEYS <JSON list of the missing ones>`` before reading or writing anything else; the
caller then sends the call again with their keys (see calls.py). So while a slot migrates between
cluster nodes, a script never reaches a key the node did not check (it gets ``TRYAGAIN`` or ``ASK``
instead), and Redis sees every key a script touches.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import redis.exceptions

__all__ = ["DUMP", "GET", "LIB", "LIST", "ReadScript"]

# Helpers shared by the scripts. A stored value starts with a JSON header line (layout.join_value).
LIB = """
local function header(v)
  local nl = string.find(v, '\\n', 1, true)
  return cjson.decode(string.sub(v, 1, nl - 1))
end
local function chain(h, field)
  local out = {}
  local f = field
  while f do
    local v = redis.call('HGET', h, 'b:' .. f)
    if not v then return out end
    out[#out + 1] = v
    local hd = header(v)
    if hd[1] == 'd' then f = hd[2] else f = nil end
  end
  return out
end
local function load(h, cid, known)
  local rec = redis.call('HGET', h, 'c:' .. cid)
  if not rec then return nil end
  local blobs = {}
  for _, ref in ipairs(header(rec)['b']) do
    blobs[#blobs + 1] = ref
    if known and known[ref] and redis.call('HSTRLEN', h, 'b:' .. ref) == known[ref] then
      blobs[#blobs + 1] = 1
    else
      blobs[#blobs + 1] = chain(h, ref)
    end
  end
  local writes = {}
  local idx = redis.call('HGET', h, 'x:' .. cid)
  if idx then
    for _, f in ipairs(cjson.decode(idx)) do
      local v = redis.call('HGET', h, 'w:' .. cid .. '#' .. f)
      if v then writes[#writes + 1] = f; writes[#writes + 1] = v end
    end
  end
  return {cid, rec, blobs, writes}
end
local function expect(key, kind)
  local t = redis.call('TYPE', key)['ok']
  if t ~= kind and t ~= 'none' then
    return redis.error_reply('WRONGTYPE memstore-nb: ' .. key .. ' holds a ' .. t .. ', not a ' .. kind)
  end
end
local function spaces(first, base)
  local t = {}
  for j = first, #KEYS - 1, 2 do t[string.sub(KEYS[j], #base + 3)] = {KEYS[j], KEYS[j + 1]} end
  return t
end
local function undeclared(tkey, t)
  local missing = {}
  for _, ns in ipairs(redis.call('SMEMBERS', tkey)) do
    if not t[ns] then missing[#missing + 1] = ns end
  end
  if #missing > 0 then return redis.error_reply('NSKEYS ' .. cjson.encode(missing)) end
end
local function touch(tkey, t, ttl)
  if ttl <= 0 then return end
  redis.call('PEXPIRE', tkey, ttl)
  for _, ns in ipairs(redis.call('SMEMBERS', tkey)) do
    redis.call('PEXPIRE', t[ns][1], ttl)
    redis.call('PEXPIRE', t[ns][2], ttl)
  end
end
local function drop(ix, h, cid)
  local raw = redis.call('HGET', h, 'x:' .. cid)
  if raw then
    for _, f in ipairs(cjson.decode(raw)) do redis.call('HDEL', h, 'w:' .. cid .. '#' .. f) end
  end
  redis.call('HDEL', h, 'c:' .. cid, 'x:' .. cid)
  redis.call('ZREM', ix, cid)
end
local function gc(tkey, ns, ix, h)
  local keep = {}
  for _, cid in ipairs(redis.call('ZRANGE', ix, 0, -1)) do
    local rec = redis.call('HGET', h, 'c:' .. cid)
    if rec then
      for _, ref in ipairs(header(rec)['b']) do
        local f = ref
        while f and not keep[f] do
          keep[f] = true
          local v = redis.call('HGET', h, 'b:' .. f)
          f = nil
          if v then
            local hd = header(v)
            if hd[1] == 'd' then f = hd[2] end
          end
        end
      end
    end
  end
  for _, field in ipairs(redis.call('HKEYS', h)) do
    if string.sub(field, 1, 2) == 'b:' and not keep[string.sub(field, 3)] then redis.call('HDEL', h, field) end
  end
  if redis.call('EXISTS', ix) == 0 and redis.call('EXISTS', h) == 0 then redis.call('SREM', tkey, ns) end
end
local function check_thread(tkey, t)
  local e = expect(tkey, 'set') or undeclared(tkey, t)
  if e then return e end
  for _, keys in pairs(t) do
    e = expect(keys[1], 'zset') or expect(keys[2], 'hash')
    if e then return e end
  end
end
"""


class ReadScript:
    """A read-only script, sent with EVALSHA (EVAL once per server); replies are never decoded."""

    def __init__(self, body: str) -> None:
        self.script = LIB + body
        self.sha = hashlib.sha1(self.script.encode()).hexdigest()

    def run(self, client: Any, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return client.execute_command("EVALSHA", self.sha, len(keys), *keys, *args, NEVER_DECODE=True)
        except redis.exceptions.NoScriptError:
            return client.execute_command("EVAL", self.script, len(keys), *keys, *args, NEVER_DECODE=True)

    async def arun(self, client: Any, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return await client.execute_command("EVALSHA", self.sha, len(keys), *keys, *args, NEVER_DECODE=True)
        except redis.exceptions.NoScriptError:
            return await client.execute_command("EVAL", self.script, len(keys), *keys, *args, NEVER_DECODE=True)


# KEYS[1] index, KEYS[2] data; ARGV[1] checkpoint id or '' for the newest, then (blob field, length)
# pairs of values the caller holds already: sent back as 1 instead of the value while the stored
# value has that length.
GET = ReadScript(
    """
local cid = ARGV[1]
if cid == '' then
  local top = redis.call('ZREVRANGEBYLEX', KEYS[1], '+', '-', 'LIMIT', 0, 1)
  if #top == 0 then return nil end
  cid = top[1]
end
local known = {}
for i = 2, #ARGV, 2 do known[ARGV[i]] = tonumber(ARGV[i + 1]) end
return load(KEYS[2], cid, known)
"""
)

# KEYS[1] thread key, then (index, hash) of namespaces: the one asked for, or (all namespaces) every
# one of the thread; ARGV: base, ns, all namespaces ('1'/'0'), before id (''), count, exact id ('').
# Returns ns1, item1, ns2, item2, ... newest first (an item as GET returns it).
LIST = ReadScript(
    """
local nsk = spaces(2, ARGV[1])
local nss = {ARGV[2]}
if ARGV[3] == '1' then
  local e = undeclared(KEYS[1], nsk)
  if e then return e end
  nss = redis.call('SMEMBERS', KEYS[1])
end
local hi = '+'
if ARGV[4] ~= '' then hi = '(' .. ARGV[4] end
local n = tonumber(ARGV[5])
local picks = {}
for _, ns in ipairs(nss) do
  local ix = nsk[ns][1]
  local ids
  if ARGV[6] ~= '' then
    ids = {}
    if redis.call('ZSCORE', ix, ARGV[6]) then ids[1] = ARGV[6] end
  else
    ids = redis.call('ZREVRANGEBYLEX', ix, hi, '-', 'LIMIT', 0, n)
  end
  for _, id in ipairs(ids) do picks[#picks + 1] = {id, ns} end
end
table.sort(picks, function(a, b)
  if a[1] == b[1] then return a[2] < b[2] end
  return a[1] > b[1]
end)
local out = {}
for i = 1, math.min(n, #picks) do
  local item = load(nsk[picks[i][2]][2], picks[i][1])
  if item then
    out[#out + 1] = picks[i][2]
    out[#out + 1] = item
  end
end
return out
"""
)

# KEYS[1] thread key, then (index, hash) of every namespace; ARGV[1] base. Every namespace's
# index and hash, for copy_thread.
DUMP = ReadScript(
    """
local nsk = spaces(2, ARGV[1])
local e = undeclared(KEYS[1], nsk)
if e then return e end
local out = {}
for _, ns in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  out[#out + 1] = ns
  out[#out + 1] = redis.call('ZRANGE', nsk[ns][1], 0, -1)
  out[#out + 1] = redis.call('HGETALL', nsk[ns][2])
end
return out
"""
)
