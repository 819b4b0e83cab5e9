"""The saver's Lua scripts: one round trip per saver call, every write replay-safe (memstore_nb.writes).

Each script touches the keys of ONE thread (one hash slot). The thread key is passed in KEYS; the
per-namespace keys are built inside the script from the thread's key base (``ARGV``), which is legal
on a Redis Cluster because they share the thread key's slot.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import redis.exceptions

from ..writes import OnceScript

__all__ = ["COPY_IN", "DELETE_RUNS", "DELETE_THREAD", "DUMP", "GET", "LIST", "PRUNE", "PUT", "PUT_WRITES", "ReadScript"]

# Helpers shared by the scripts. A stored value starts with a JSON header line (layout.join_value).
_LIB = """
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
local function load(h, cid)
  local rec = redis.call('HGET', h, 'c:' .. cid)
  if not rec then return nil end
  local blobs = {}
  for _, ref in ipairs(header(rec)['b']) do
    blobs[#blobs + 1] = ref
    blobs[#blobs + 1] = chain(h, ref)
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
local function touch(tkey, base, ttl)
  if ttl <= 0 then return end
  redis.call('PEXPIRE', tkey, ttl)
  for _, ns in ipairs(redis.call('SMEMBERS', tkey)) do
    redis.call('PEXPIRE', base .. 'i:' .. ns, ttl)
    redis.call('PEXPIRE', base .. 'h:' .. ns, ttl)
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
local function check_thread(tkey, base)
  local e = expect(tkey, 'set')
  if e then return e end
  for _, ns in ipairs(redis.call('SMEMBERS', tkey)) do
    e = expect(base .. 'i:' .. ns, 'zset') or expect(base .. 'h:' .. ns, 'hash')
    if e then return e end
  end
end
"""


class ReadScript:
    """A read-only script, sent with EVALSHA (EVAL once per server); replies are never decoded."""

    def __init__(self, body: str) -> None:
        self.script = _LIB + body
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


def _write(body: str) -> OnceScript:
    return OnceScript(_LIB + body)


# KEYS[1] index, KEYS[2] data; ARGV[1] checkpoint id or '' for the newest.
GET = ReadScript(
    """
local cid = ARGV[1]
if cid == '' then
  local top = redis.call('ZREVRANGEBYLEX', KEYS[1], '+', '-', 'LIMIT', 0, 1)
  if #top == 0 then return nil end
  cid = top[1]
end
return load(KEYS[2], cid)
"""
)

# KEYS[1] thread key; ARGV: base, ns, all namespaces ('1'/'0'), before id (''), count, exact id ('').
# Returns ns1, item1, ns2, item2, ... newest first (an item as GET returns it).
LIST = ReadScript(
    """
local base = ARGV[1]
local nss = {ARGV[2]}
if ARGV[3] == '1' then nss = redis.call('SMEMBERS', KEYS[1]) end
local hi = '+'
if ARGV[4] ~= '' then hi = '(' .. ARGV[4] end
local n = tonumber(ARGV[5])
local picks = {}
for _, ns in ipairs(nss) do
  local ix = base .. 'i:' .. ns
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
  local item = load(base .. 'h:' .. picks[i][2], picks[i][1])
  if item then
    out[#out + 1] = picks[i][2]
    out[#out + 1] = item
  end
end
return out
"""
)

# KEYS[1] thread key; ARGV[1] base. Every namespace's index and hash, for copy_thread.
DUMP = ReadScript(
    """
local out = {}
for _, ns in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  out[#out + 1] = ns
  out[#out + 1] = redis.call('ZRANGE', ARGV[1] .. 'i:' .. ns, 0, -1)
  out[#out + 1] = redis.call('HGETALL', ARGV[1] .. 'h:' .. ns)
end
return out
"""
)

# KEYS[2] thread, KEYS[3] index, KEYS[4] data; ARGV[2] base, [3] ttl ms, [4] ns, [5] id, [6] record,
# then (blob field, field it extends or '', value) triples. Refuses (NOBASE) before writing when a
# delta's base is gone (pruned, deleted): the caller sends the full value instead.
PUT = _write(
    """
local e = expect(KEYS[2], 'set') or expect(KEYS[3], 'zset') or expect(KEYS[4], 'hash')
if e then return e end
for i = 7, #ARGV, 3 do
  if ARGV[i + 1] ~= '' and redis.call('HEXISTS', KEYS[4], 'b:' .. ARGV[i + 1]) == 0 then
    return redis.error_reply('NOBASE memstore-nb: ' .. ARGV[i + 1])
  end
end
redis.call('SADD', KEYS[2], ARGV[4])
redis.call('ZADD', KEYS[3], 0, ARGV[5])
redis.call('HSET', KEYS[4], 'c:' .. ARGV[5], ARGV[6])
for i = 7, #ARGV, 3 do redis.call('HSET', KEYS[4], 'b:' .. ARGV[i], ARGV[i + 2]) end
touch(KEYS[2], ARGV[2], tonumber(ARGV[3]))
return 1
"""
)

# Same KEYS; ARGV[2] base, [3] ttl ms, [4] ns, [5] checkpoint id, then (field, overwrite '1'/'0', value).
# A write already stored under the same (task id, idx) is kept, unless it is a special channel.
PUT_WRITES = _write(
    """
local e = expect(KEYS[2], 'set') or expect(KEYS[3], 'zset') or expect(KEYS[4], 'hash')
if e then return e end
local h = KEYS[4]
local idx, seen, changed = {}, {}, false
local raw = redis.call('HGET', h, 'x:' .. ARGV[5])
if raw then idx = cjson.decode(raw) end
for _, f in ipairs(idx) do seen[f] = true end
for i = 6, #ARGV, 3 do
  local f = ARGV[i]
  local field = 'w:' .. ARGV[5] .. '#' .. f
  if ARGV[i + 1] == '1' or redis.call('HEXISTS', h, field) == 0 then
    redis.call('HSET', h, field, ARGV[i + 2])
  end
  if not seen[f] then
    seen[f] = true
    idx[#idx + 1] = f
    changed = true
  end
end
if changed then redis.call('HSET', h, 'x:' .. ARGV[5], cjson.encode(idx)) end
redis.call('SADD', KEYS[2], ARGV[4])
touch(KEYS[2], ARGV[2], tonumber(ARGV[3]))
return 1
"""
)

# KEYS[2] thread key; ARGV[2] base.
DELETE_THREAD = _write(
    """
local e = check_thread(KEYS[2], ARGV[2])
if e then return e end
local n = 0
for _, ns in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  n = n + redis.call('DEL', ARGV[2] .. 'i:' .. ns, ARGV[2] .. 'h:' .. ns)
end
return n + redis.call('DEL', KEYS[2])
"""
)

# KEYS[2] thread key; ARGV[2] base, ARGV[3] 'keep_latest' or 'delete'.
PRUNE = _write(
    """
local e = check_thread(KEYS[2], ARGV[2])
if e then return e end
local base = ARGV[2]
for _, ns in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local ix, h = base .. 'i:' .. ns, base .. 'h:' .. ns
  local top = redis.call('ZREVRANGEBYLEX', ix, '+', '-', 'LIMIT', 0, 1)
  local latest = top[1]
  if ARGV[3] == 'delete' then latest = nil end
  local done = {}
  for _, field in ipairs(redis.call('HKEYS', h)) do
    local kind, cid = string.sub(field, 1, 2), string.sub(field, 3)
    if (kind == 'c:' or kind == 'x:') and cid ~= latest and not done[cid] then
      done[cid] = true
      drop(ix, h, cid)
    end
  end
  for _, cid in ipairs(redis.call('ZRANGE', ix, 0, -1)) do
    if cid ~= latest then drop(ix, h, cid) end
  end
  gc(KEYS[2], ns, ix, h)
end
return 1
"""
)

# KEYS[2] thread key; ARGV[2] base, ARGV[3..] run ids.
DELETE_RUNS = _write(
    """
local e = check_thread(KEYS[2], ARGV[2])
if e then return e end
local runs = {}
for i = 3, #ARGV do runs[ARGV[i]] = true end
local n = 0
for _, ns in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local ix, h = ARGV[2] .. 'i:' .. ns, ARGV[2] .. 'h:' .. ns
  local hit = false
  for _, cid in ipairs(redis.call('ZRANGE', ix, 0, -1)) do
    local rec = redis.call('HGET', h, 'c:' .. cid)
    if rec then
      local run = header(rec)['r']
      if type(run) == 'string' and runs[run] then
        drop(ix, h, cid)
        n = n + 1
        hit = true
      end
    end
  end
  if hit then gc(KEYS[2], ns, ix, h) end
end
return n
"""
)

# KEYS[2] target thread key; ARGV[2] target base, [3] ttl ms, then per namespace:
# ns, number of ids, number of hash fields, ids..., field, value, ...
COPY_IN = _write(
    """
local e = check_thread(KEYS[2], ARGV[2])
if e then return e end
local i = 4
while i <= #ARGV do
  local ns, nids, nkv = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  e = expect(ARGV[2] .. 'i:' .. ns, 'zset') or expect(ARGV[2] .. 'h:' .. ns, 'hash')
  if e then return e end
  i = i + 3 + nids + 2 * nkv
end
i = 4
while i <= #ARGV do
  local ns, nids, nkv = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local ix, h = ARGV[2] .. 'i:' .. ns, ARGV[2] .. 'h:' .. ns
  i = i + 3
  redis.call('SADD', KEYS[2], ns)
  for j = i, i + nids - 1 do redis.call('ZADD', ix, 0, ARGV[j]) end
  i = i + nids
  for j = i, i + 2 * nkv - 1, 2 do redis.call('HSET', h, ARGV[j], ARGV[j + 1]) end
  i = i + 2 * nkv
end
touch(KEYS[2], ARGV[2], tonumber(ARGV[3]))
return 1
"""
)
