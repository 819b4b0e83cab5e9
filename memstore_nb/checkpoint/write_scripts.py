"""The saver's write scripts, each one replay-safe ``OnceScript`` (memstore_nb.writes) on one thread's slot.

Each has a *check* that validates before anything is written (key types, a delta's base, that
every namespace it will touch was declared) and refuses with an error reply, and a *body* that
cannot fail afterwards. ``KEYS[1]`` is the write's marker, ``KEYS[2]`` the thread key, then
(index, hash) pairs of namespaces from ``KEYS[3]``; arguments start at ``ARGV[1]``, always the
thread's key base (which names each pair's namespace). Every key a script touches is in ``KEYS``.
"""

from __future__ import annotations

from ..writes import OnceScript
from .scripts import LIB

__all__ = ["COPY_IN", "DELETE_RUNS", "DELETE_THREAD", "PRUNE", "PUT", "PUT_WRITES"]

# PUT, PUT_WRITES: the first pair is the namespace written; with a TTL every namespace of the thread
# is touched, so all must be declared.
_TYPES = """
local nsk = spaces(3, ARGV[1])
local e = expect(KEYS[2], 'set') or expect(KEYS[3], 'zset') or expect(KEYS[4], 'hash')
if not e and tonumber(ARGV[2]) > 0 then e = undeclared(KEYS[2], nsk) end
if e then return e end
"""
_THREAD = """
local nsk = spaces(3, ARGV[1])
local e = check_thread(KEYS[2], nsk)
if e then return e end
"""


def _script(check: str, body: str) -> OnceScript:
    return OnceScript(body, check=LIB + check)


# KEYS[2] thread, [3] index, [4] data (then the other namespaces' pairs); ARGV[2] ttl ms, [3] ns,
# [4] checkpoint id, [5] record, then (blob field, field it extends or '', value) triples. Refused
# (NOBASE) when a delta's base is gone (pruned, deleted): the caller then sends whole values.
PUT = _script(
    _TYPES
    + """
for i = 6, #ARGV, 3 do
  if ARGV[i + 1] ~= '' and redis.call('HEXISTS', KEYS[4], 'b:' .. ARGV[i + 1]) == 0 then
    return redis.error_reply('NOBASE memstore-nb: ' .. ARGV[i + 1])
  end
end
""",
    """
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[3], 0, ARGV[4])
redis.call('HSET', KEYS[4], 'c:' .. ARGV[4], ARGV[5])
for i = 6, #ARGV, 3 do redis.call('HSET', KEYS[4], 'b:' .. ARGV[i], ARGV[i + 2]) end
touch(KEYS[2], nsk, tonumber(ARGV[2]))
return 1
""",
)

# Same KEYS; ARGV[2] ttl ms, [3] ns, [4] checkpoint id, then (task id#idx, overwrite '1'/'0', value).
# A write already stored under the same (task id, idx) is kept, unless it is a special channel.
PUT_WRITES = _script(
    _TYPES,
    """
local h = KEYS[4]
local idx, seen, changed = {}, {}, false
local raw = redis.call('HGET', h, 'x:' .. ARGV[4])
if raw then idx = cjson.decode(raw) end
for _, f in ipairs(idx) do seen[f] = true end
for i = 5, #ARGV, 3 do
  local f = ARGV[i]
  local field = 'w:' .. ARGV[4] .. '#' .. f
  if ARGV[i + 1] == '1' or redis.call('HEXISTS', h, field) == 0 then
    redis.call('HSET', h, field, ARGV[i + 2])
  end
  if not seen[f] then
    seen[f] = true
    idx[#idx + 1] = f
    changed = true
  end
end
if changed then redis.call('HSET', h, 'x:' .. ARGV[4], cjson.encode(idx)) end
redis.call('SADD', KEYS[2], ARGV[3])
touch(KEYS[2], nsk, tonumber(ARGV[2]))
return 1
""",
)

# KEYS[2] thread key, then every namespace's pair.
DELETE_THREAD = _script(
    _THREAD,
    """
local n = 0
for _, ns in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  n = n + redis.call('DEL', nsk[ns][1], nsk[ns][2])
end
return n + redis.call('DEL', KEYS[2])
""",
)

# KEYS[2] thread key, then every namespace's pair; ARGV[2] 'keep_latest' or 'delete'.
PRUNE = _script(
    _THREAD,
    """
for _, ns in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local ix, h = nsk[ns][1], nsk[ns][2]
  local latest = redis.call('ZREVRANGEBYLEX', ix, '+', '-', 'LIMIT', 0, 1)[1]
  if ARGV[2] == 'delete' then latest = nil end
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
""",
)

# KEYS[2] thread key, then every namespace's pair; ARGV[2..] run ids.
DELETE_RUNS = _script(
    _THREAD,
    """
local runs = {}
for i = 2, #ARGV do runs[ARGV[i]] = true end
local n = 0
for _, ns in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local ix, h = nsk[ns][1], nsk[ns][2]
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
""",
)

# KEYS[2] target thread key, then the pairs of its namespaces and of every namespace copied in;
# ARGV[2] ttl ms, then per namespace:
# ns, number of ids, number of hash fields, ids..., field, value, ...
COPY_IN = _script(
    _THREAD
    + """
local i = 3
while i <= #ARGV do
  local ns, nids, nkv = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  if not nsk[ns] then return redis.error_reply('NSKEYS ' .. cjson.encode({ns})) end
  i = i + 3 + nids + 2 * nkv
end
""",
    """
local i = 3
while i <= #ARGV do
  local ns, nids, nkv = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local ix, h = nsk[ns][1], nsk[ns][2]
  i = i + 3
  redis.call('SADD', KEYS[2], ns)
  for j = i, i + nids - 1 do redis.call('ZADD', ix, 0, ARGV[j]) end
  i = i + nids
  for j = i, i + 2 * nkv - 1, 2 do redis.call('HSET', h, ARGV[j], ARGV[j + 1]) end
  i = i + 2 * nkv
end
touch(KEYS[2], nsk, tonumber(ARGV[2]))
return 1
""",
)
