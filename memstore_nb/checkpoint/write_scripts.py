"""The saver's write scripts, each one replay-safe ``OnceScript`` (memstore_nb.writes) on one thread's slot.

Each has a *check* that validates before anything is written (key types, that the thread is
whole, a delta's base, a reused version) and refuses with ``MSNB <CODE> <JSON>``, and a *body*
that cannot fail afterwards: whatever it decodes, it decodes under ``pcall``. ``KEYS[1]`` is the
write's marker, ``KEYS[2]`` the thread's hash, ``KEYS[3]`` its index, and for a thread this
process has not seen yet ``KEYS[4]`` the old layout's thread key (a write never starts a new
thread beside an old one). ``ARGV[1]`` is the TTL in milliseconds (``'0'``: leave the thread's
expiry as it is, the same on both keys), ``ARGV[2]`` a fresh edit token for the thread.
"""

from __future__ import annotations

from ..writes import OnceScript
from .scripts import LIB

__all__ = ["COPY_IN", "DELETE_RUNS", "PRUNE", "PUT", "PUT_WRITES", "SWEEP"]

_STATE = """
local h, ix = KEYS[2], KEYS[3]
local token, e, z = thread_state(h, ix)
if e then return e end
if token == '' and KEYS[4] and redis.call('EXISTS', KEYS[4]) == 1 then return fail('LEGACY', {}) end
"""

# Removing checkpoints (prune, delete_for_runs): every checkpoint whose index entry is not in
# `keep` goes, with its writes; then every stored value no kept checkpoint reads. A kept
# checkpoint that cannot be read keeps every value of its namespace (and is reported).
SWEEP = """
local function chunked(cmd, key, list)
  for i = 1, #list, 1000 do redis.call(cmd, key, unpack(list, i, math.min(i + 999, #list))) end
end
local function sweep(h, ix, keep, newtoken)
  local gone = {}
  for _, mem in ipairs(redis.call('ZRANGE', ix, 0, -1)) do
    if not keep[mem] then gone[#gone + 1] = mem end
  end
  chunked('ZREM', ix, gone)
  local needed, blind, bad = {}, {}, {}
  for mem in pairs(keep) do
    local n = string.match(mem, '^(%d+):') or ''
    local rec = redis.call('HGET', h, 'c:' .. mem)
    local hd = rec and refs(rec)
    if not hd then
      blind[n] = true
      bad[#bad + 1] = mem
    else
      for _, ref in ipairs(hd['b']) do
        local f, steps = ref, 0
        while f and not needed[n .. ':' .. f] and steps < MAX_WALK do
          needed[n .. ':' .. f] = true
          steps = steps + 1
          local v = redis.call('HGET', h, 'b:' .. n .. ':' .. f)
          local kind, base = nil, nil
          if v then
            kind, base = piece(v)
            if not kind then blind[n] = true end
          end
          f = base
        end
      end
    end
  end
  local dead = {}
  for _, k in ipairs(redis.call('HKEYS', h)) do
    local kind, n, rest = string.match(k, '^([cwxb]):(%d+):(.*)$')
    if kind == 'b' then
      if not needed[n .. ':' .. rest] and not blind[n] then dead[#dead + 1] = k end
    elseif kind then
      local cid = rest
      if kind == 'w' then cid = string.match(rest, '^(.*)#[^#]*#[^#]*$') or rest end
      if not keep[n .. ':' .. cid] then dead[#dead + 1] = k end
    end
  end
  chunked('HDEL', h, dead)
  local z = redis.call('ZCARD', ix)
  if z == 0 then
    redis.call('DEL', h, ix)
  else
    redis.call('HSET', h, 'm', z, 'e', newtoken)
  end
  return bad
end
"""


# The write id is recorded before the check (OnceScript's record_first form: two commands fewer per
# write); every refusal of a check is `return fail(...)` (or returns what thread_state's fail made),
# so `fail` takes the id back as it makes the error.
_RECORDED_FAIL = """
fail = function(code, detail) return refuse('MSNB ' .. code .. ' ' .. cjson.encode(detail)) end
"""


def _script(check: str, body: str) -> OnceScript:
    return OnceScript(body, check=LIB + _RECORDED_FAIL + SWEEP + _STATE + check, record_first=True)


# ARGV[3] namespace, [4] checkpoint id, [5] record, [6] the edit token the deltas were made against
# (''), then (blob field, field it extends or '', value) triples. Refused with NOBASE when a delta's
# base is gone or the thread was edited since (the caller then sends whole values); a version
# stored already is kept when the value is the same, replaced when nothing extends it, and
# refused (CYCLE, REUSED) when replacing it would change another version's value or close a loop.
PUT = _script(
    """
local function reaches(h, n, from, target)
  local seen, f, steps = {}, from, 0
  while f and not seen[f] and steps < MAX_WALK do
    if f == target then return true end
    seen[f] = true
    steps = steps + 1
    local v = redis.call('HGET', h, 'b:' .. n .. ':' .. f)
    if not v then return false end
    local kind, base = piece(v)
    f = base
  end
  return f ~= nil
end
local function extended(h, n, field)
  local prefix = 'b:' .. n .. ':'
  local channel = string.match(field, '^(.*)#[^#]*$')
  for _, k in ipairs(redis.call('HKEYS', h)) do
    if string.sub(k, 1, #prefix) == prefix and string.match(string.sub(k, #prefix + 1), '^(.*)#[^#]*$') == channel then
      local kind, base = piece(redis.call('HGET', h, k))
      if kind == 'd' and base == field then return true end
    end
  end
  return false
end
local n = ns_number(h, ARGV[3])
local skip, bump = {}, false
for i = 7, #ARGV, 3 do
  local field, base = ARGV[i], ARGV[i + 1]
  if base ~= '' and (not n or ARGV[6] ~= token or redis.call('HEXISTS', h, 'b:' .. n .. ':' .. base) == 0) then
    return fail('NOBASE', {base})
  end
  if n and redis.call('HEXISTS', h, 'b:' .. n .. ':' .. field) == 1 then
    if redis.call('HGET', h, 'b:' .. n .. ':' .. field) == ARGV[i + 2] then
      skip[i] = true
    elseif base ~= '' and reaches(h, n, base, field) then
      return fail('CYCLE', {field, base})
    elseif extended(h, n, field) then
      return fail('REUSED', {field})
    else
      bump = true
    end
  end
end
""",
    """
if not n then n = ns_new(h, ARGV[3]) end
if token == '' or bump then
  token = ARGV[2]
  redis.call('HSET', h, 'e', token)
end
if redis.call('ZADD', ix, 0, n .. ':' .. ARGV[4]) == 1 then redis.call('HINCRBY', h, 'm', 1) end
local set = {'c:' .. n .. ':' .. ARGV[4], ARGV[5]}
for i = 7, #ARGV, 3 do
  if not skip[i] then
    set[#set + 1] = 'b:' .. n .. ':' .. ARGV[i]
    set[#set + 1] = ARGV[i + 2]
  end
end
redis.call('HSET', h, unpack(set))
expire(h, ix, ARGV[1], z)
return token
""",
)

# ARGV[3] namespace, [4] checkpoint id, then (task id#idx, overwrite '1'/'0', value) triples.
# A write already stored under the same (task id, idx) is kept, unless it is a special channel.
PUT_WRITES = _script(
    """
local n = ns_number(h, ARGV[3])
local idx = {}
if n then
  local raw = redis.call('HGET', h, 'x:' .. n .. ':' .. ARGV[4])
  if raw then
    local ok, list = pcall(cjson.decode, raw)
    if not ok or type(list) ~= 'table' then return fail('CORRUPT', {'x:' .. n .. ':' .. ARGV[4]}) end
    for _, f in ipairs(list) do
      if type(f) ~= 'string' then return fail('CORRUPT', {'x:' .. n .. ':' .. ARGV[4]}) end
    end
    idx = list
  end
end
""",
    """
if not n then n = ns_new(h, ARGV[3]) end
if token == '' then redis.call('HSET', h, 'e', ARGV[2]) end
local seen, changed = {}, false
for _, f in ipairs(idx) do seen[f] = true end
local prefix = 'w:' .. n .. ':' .. ARGV[4] .. '#'
for i = 5, #ARGV, 3 do
  local f = ARGV[i]
  if ARGV[i + 1] == '1' or redis.call('HEXISTS', h, prefix .. f) == 0 then
    redis.call('HSET', h, prefix .. f, ARGV[i + 2])
  end
  if not seen[f] then
    seen[f] = true
    idx[#idx + 1] = f
    changed = true
  end
end
if changed then redis.call('HSET', h, 'x:' .. n .. ':' .. ARGV[4], cjson.encode(idx)) end
expire(h, ix, ARGV[1], z)
return 1
""",
)

# ARGV[3] 'keep_latest' or 'delete'. Returns the kept checkpoints that could not be read.
PRUNE = _script(
    "",
    """
local keep = {}
if ARGV[3] == 'keep_latest' then
  local latest = {}
  for _, mem in ipairs(redis.call('ZRANGE', ix, 0, -1)) do
    local n = string.match(mem, '^(%d+):')
    if n then latest[n] = mem end
  end
  for _, mem in pairs(latest) do keep[mem] = true end
end
local bad = sweep(h, ix, keep, ARGV[2])
expire(h, ix, ARGV[1], z)
return bad
""",
)

# ARGV[3..] run ids. Returns {checkpoints deleted, checkpoints that could not be read (kept)}.
DELETE_RUNS = _script(
    "",
    """
local runs = {}
for i = 3, #ARGV do runs[ARGV[i]] = true end
local keep, bad, hit = {}, {}, 0
for _, mem in ipairs(redis.call('ZRANGE', ix, 0, -1)) do
  local rec = redis.call('HGET', h, 'c:' .. mem)
  local hd = rec and head(rec)
  if hd and type(hd['r']) == 'string' and runs[hd['r']] then
    hit = hit + 1
  else
    keep[mem] = true
    if rec and not hd then bad[#bad + 1] = mem end
  end
end
if hit > 0 then
  sweep(h, ix, keep, ARGV[2])
  expire(h, ix, ARGV[1], z)
end
return {hit, bad}
""",
)

# ARGV[3] number of namespaces, then (number, name) pairs of the source's namespaces, the number of
# index entries, the entries, then (field, value) pairs: a source thread (scripts.DUMP) copied in,
# renumbered to the target's namespaces.
COPY_IN = _script(
    """
local nns = tonumber(ARGV[3])
if not nns or not tonumber(ARGV[4 + 2 * nns]) then return fail('CORRUPT', {'copy arguments'}) end
""",
    """
local i = 4
local map = {}
for _ = 1, nns do
  map[ARGV[i]] = ns_number(h, ARGV[i + 1]) or ns_new(h, ARGV[i + 1])
  i = i + 2
end
local nmem = tonumber(ARGV[i])
i = i + 1
local added = 0
for _ = 1, nmem do
  local n, cid = string.match(ARGV[i], '^(%d+):(.*)$')
  if n and map[n] then added = added + redis.call('ZADD', ix, 0, map[n] .. ':' .. cid) end
  i = i + 1
end
while i < #ARGV do
  local kind, n, rest = string.match(ARGV[i], '^([cbwx]):(%d+):(.*)$')
  if kind and map[n] then redis.call('HSET', h, kind .. ':' .. map[n] .. ':' .. rest, ARGV[i + 1]) end
  i = i + 2
end
redis.call('HINCRBY', h, 'm', added)
redis.call('HSET', h, 'e', ARGV[2])
expire(h, ix, ARGV[1], z)
return 1
""",
)
