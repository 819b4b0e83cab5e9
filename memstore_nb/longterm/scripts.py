"""The store's Lua scripts: one write (put or delete, exactly once through OnceScript) and the reads.

Each script touches one namespace (one slot). Reads may also write, to refresh TTLs and to forget
items that expired (their entry in the namespace's order, their vector rows); that is safe to repeat.
The key layout is described in :mod:`memstore_nb.longterm.layout`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from ..writes import OnceScript

__all__ = ["FETCH", "FORGET", "LIVE", "NSREAD", "REGISTER", "ROWS", "UNREGISTER", "VSCAN", "WRITE", "ReadScript"]


@dataclass(frozen=True)
class ReadScript:
    """A script that is safe to send again (a read, or a write whose repetition changes nothing)."""

    script: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.script.encode()).hexdigest())


# Helpers shared by every namespace script. NS holds the namespace's own keys (order, meta, float32
# rows, int8 rows, owners); IP the prefix of its items' keys; VB the prefix of its vector documents.
_HELPERS = """
local NS, IP, VB
local function ns_init(base)
  NS = {base .. 'z', base .. 'm', base .. 'vm', base .. 'vq', base .. 'vo'}
  IP = base .. 'i:'
end
local function ns_drop() redis.call('DEL', NS[1], NS[2], NS[3], NS[4], NS[5]) end
local function ns_extend(ms)
  local t = redis.call('PTTL', NS[1])
  if t == -1 or t < ms then for _, k in ipairs(NS) do redis.call('PEXPIRE', k, ms) end end
end
local function ns_persist() for _, k in ipairs(NS) do redis.call('PERSIST', k) end end
local function free_vectors(seq, member, rows)
  if rows == nil then rows = redis.call('HGET', NS[2], 'r' .. seq) end
  if not rows then return end
  redis.call('HDEL', NS[2], 'r' .. seq)
  if string.sub(rows, 1, 1) == 'x' then
    local free = redis.call('HGET', NS[2], 'f') or ''
    for row in string.gmatch(rows, '%d+') do
      redis.call('SETRANGE', NS[5], tonumber(row) * 12, '\\0\\0\\0\\0')
      free = free .. row .. ','
    end
    redis.call('HSET', NS[2], 'f', free)
  else
    for n = 0, tonumber(string.sub(rows, 2)) - 1 do redis.call('DEL', VB .. n .. ':' .. member) end
  end
end
local function forget(member, seq, rows)
  redis.call('ZREM', NS[1], member)
  free_vectors(seq, member, rows)
end
local function ns_recompute()
  local best = 0
  local members = redis.call('ZRANGE', NS[1], 0, -1, 'WITHSCORES')
  for i = 1, #members, 2 do
    local t = redis.call('PTTL', IP .. members[i])
    if t == -2 then forget(members[i], members[i + 1]) elseif t > best then best = t end
  end
  if best > 0 then for _, k in ipairs(NS) do redis.call('PEXPIRE', k, best) end else ns_drop() end
end
-- one item as a record: "<key length> <value length> <created> <updated> <place> <ttl>\\n<key><value>"
-- (one bulk string for a whole reply: a client parses it much faster than six replies per item)
local function record(member, r, place)
  return #member .. ' ' .. #r[1] .. ' ' .. (r[2] or '0') .. ' ' .. (r[3] or '0') .. ' ' .. place .. ' ' ..
    (r[4] or '') .. '\\n' .. member .. r[1]
end
local function minutes_ms(t) return math.floor(tonumber(t) * 60000 + 0.5) end
local function touch(member, t, nv)
  local ms = minutes_ms(t)
  redis.call('PEXPIRE', IP .. member, ms)
  for n = 0, (tonumber(nv) or 0) - 1 do redis.call('PEXPIRE', VB .. n .. ':' .. member, ms) end
  if tonumber(redis.call('HGET', NS[2], 'np') or '0') == 0 then ns_extend(ms) end
end
"""

# The write. KEYS (after the marker): item, order, meta, vm, vq, vo, then the item's vector
# documents. ARGV: op ('p' put, 'd' delete), member, value, now (us), ttl (ms, '' for none),
# ttl (minutes, as text), born (us), the vector kind ('x' rows, 'i' documents, '' none); then, for
# a write with vectors only: the dims tag, tags (TAG digests), the vector documents' prefix (a
# write without vectors finds it from the item's key), and per vector its float32 bytes, and for
# 'x' the int8 bytes and the 8 bytes of scale and norm.
#
# The write id is recorded first (OnceScript's record_first form); the check then reads what the
# body needs, with pcall, so that a key of another type is refused, naming it, before the body
# writes anything (the id is taken back). Each Redis call counts on a write this short, so none is
# made twice and none for nothing: an item's 'u' field says it exists, and the namespace keys are
# made persistent only when its first item without a TTL arrives.
_WRITE_CHECK = """
local item, z, m = KEYS[2], KEYS[3], KEYS[4]
local member = ARGV[2]
local function wrong(key, reply)
  return type(reply) == 'table' and reply.err and ('WRONGTYPE ' .. key .. ' holds a ' .. redis.call('TYPE', key)['ok'])
end
local ir = redis.pcall('HMGET', item, 't', 'u')
local bad = wrong(item, ir)
if bad then return refuse(bad) end
local seq = redis.pcall('ZSCORE', z, member)
bad = wrong(z, seq)
if bad then return refuse(bad) end
local mr = redis.pcall('HMGET', m, 'd', 'np')
bad = wrong(m, mr)
if bad then return refuse(bad) end
local dims = ARGV[9] or ''
if dims ~= '' and mr[1] and mr[1] ~= dims then return refuse('DIMS ' .. mr[1]) end
local rows = seq and redis.call('HGET', m, 'r' .. seq)
if rows and string.sub(rows, 1, 1) == 'i' and tonumber(string.sub(rows, 2)) > #KEYS - 7 then
  return refuse('NEEDKEYS ' .. string.sub(rows, 2))
end
"""

_WRITE_BODY = (
    _HELPERS
    + """
NS = {z, m, KEYS[5], KEYS[6], KEYS[7]}
IP = string.sub(item, 1, #item - #member)
VB = ARGV[11]
if not VB then  -- a store without vectors: found from the item's key, should another store's be here
  local at = string.find(IP, 'ltm:{', 1, true)
  VB = string.sub(IP, 1, at - 1) .. 'ltmv:' .. string.sub(IP, at + 4, #IP - 2)
end
local op = ARGV[1]
local old_t = ir[1]
local existed = (ir[1] or ir[2]) and true or false
if seq and not existed then forget(member, seq, rows) seq = nil end
local np = tonumber(mr[2] or '0')
local was_p = existed and not old_t
if op == 'd' then
  if not existed then return 0 end
  if seq then forget(member, seq, rows) end
  redis.call('DEL', item)
  if was_p then np = redis.call('HINCRBY', m, 'np', -1) end
  if redis.call('ZCARD', z) == 0 then ns_drop() return 2 end
  if was_p and np == 0 then ns_recompute() end
  return 1
end
if not seq and redis.call('EXISTS', z) == 0 then
  -- the namespace is new (or was emptied): nothing of an earlier life counts
  ns_drop()
  redis.call('HSET', m, 'born', ARGV[7])
  np, was_p = 0, false
end
if not seq then
  seq = redis.call('HINCRBY', m, 'seq', 1)
  redis.call('ZADD', z, seq, member)
else
  free_vectors(seq, member, rows)
end
local is_p = ARGV[5] == ''
local kind = ARGV[8]
local first = 12
local n = 0
if kind == 'x' then
  local vrows = {}
  while first + 2 <= #ARGV do
    local row
    local free = redis.call('HGET', m, 'f')
    if free and free ~= '' then
      local head, rest = string.match(free, '^(%d+),(.*)$')
      row = tonumber(head)
      redis.call('HSET', m, 'f', rest)
    else
      row = redis.call('HINCRBY', m, 'rows', 1) - 1
    end
    redis.call('SETRANGE', NS[3], row * #ARGV[first], ARGV[first])
    redis.call('SETRANGE', NS[4], row * #ARGV[first + 1], ARGV[first + 1])
    redis.call('SETRANGE', NS[5], row * 12, struct.pack('<I4', seq) .. ARGV[first + 2])
    vrows[#vrows + 1] = row
    first = first + 3
  end
  n = #vrows
  if n > 0 then redis.call('HSET', m, 'r' .. seq, 'x' .. table.concat(vrows, ',')) end
elseif kind == 'i' then
  while first <= #ARGV do
    local doc = KEYS[8 + n]
    redis.call('HSET', doc, 'vec', ARGV[first], 'p', ARGV[10])
    if is_p then redis.call('PERSIST', doc) else redis.call('PEXPIRE', doc, ARGV[5]) end
    n = n + 1
    first = first + 1
  end
  if n > 0 then redis.call('HSET', m, 'r' .. seq, 'i' .. n) end
end
if n > 0 then redis.call('HSET', m, 'd', ARGV[9]) end
if is_p then
  if existed then
    redis.call('HSET', item, 'v', ARGV[3], 'u', ARGV[4], 's', seq, 'nv', n)
    if old_t then
      redis.call('HDEL', item, 't')
      redis.call('PERSIST', item)
    end
  else
    redis.call('HSET', item, 'v', ARGV[3], 'u', ARGV[4], 's', seq, 'nv', n, 'c', ARGV[4])
  end
else
  if existed then
    redis.call('HSET', item, 'v', ARGV[3], 'u', ARGV[4], 's', seq, 'nv', n, 't', ARGV[6])
  else
    redis.call('HSET', item, 'v', ARGV[3], 'u', ARGV[4], 's', seq, 'nv', n, 't', ARGV[6], 'c', ARGV[4])
  end
  redis.call('PEXPIRE', item, ARGV[5])
end
if was_p ~= is_p then np = redis.call('HINCRBY', m, 'np', is_p and 1 or -1) end
if np > 0 then
  -- the namespace keys have no expiry while an item has none: they may have one only if this
  -- item is the first such
  if is_p and not was_p and np == 1 then ns_persist() end
elseif was_p then
  ns_recompute()
else
  ns_extend(tonumber(ARGV[5]))
end
return 1
"""
)

WRITE = OnceScript(_WRITE_BODY, check=_WRITE_CHECK, record_first=True)

# Reads take the namespace's order key as KEYS[1] (it names the slot) and its base as ARGV[1];
# the other keys of the namespace are in the same slot.
_READ_HEAD = (
    _HELPERS
    + """
ns_init(ARGV[1])
VB = ARGV[2]
"""
)

# Items in order: ARGV[3] how many live items to return (0: all). Reply: {born, records}, or {}
# when the namespace is gone.
NSREAD = ReadScript(
    _READ_HEAD
    + """
local born = redis.call('HGET', NS[2], 'born')
if not born then return {} end
local stop = tonumber(ARGV[3])
local out = {}
local live = 0
local members = redis.call('ZRANGE', NS[1], 0, -1, 'WITHSCORES')
for i = 1, #members, 2 do
  local member = members[i]
  local r = redis.call('HMGET', IP .. member, 'v', 'c', 'u', 't', 'nv')
  if r[1] then
    out[#out + 1] = record(member, r, members[i + 1])
    live = live + 1
    if stop > 0 and live >= stop then break end
  else
    forget(member, members[i + 1])
  end
end
if redis.call('ZCARD', NS[1]) == 0 then ns_drop() return {} end
return {born, table.concat(out)}
"""
)

# Items by key (ARGV[4] 'k') or by place (ARGV[4] 's'), each refreshed when ARGV[3] is '1' and it
# has a TTL: their records (key length -1 for one that is gone).
FETCH = ReadScript(
    _READ_HEAD
    + """
local refresh = ARGV[3] == '1'
local by_place = ARGV[4] == 's'
local out = {}
for i = 5, #ARGV do
  local member, seq = ARGV[i], nil
  if by_place then
    seq = ARGV[i]
    member = redis.call('ZRANGEBYSCORE', NS[1], seq, seq)[1]
  end
  local r = member and redis.call('HMGET', IP .. member, 'v', 'c', 'u', 't', 'nv', 's')
  if r and r[1] then
    if refresh and r[4] then
      touch(member, r[4], string.match(redis.call('HGET', NS[2], 'r' .. r[6]) or '', '^i(%d+)'))
    end
    out[#out + 1] = record(member, r, r[6] or '0')
  else
    if member and by_place then forget(member, seq) end
    out[#out + 1] = '-1 0 0 0 0 \\n'
  end
end
return table.concat(out)
"""
)

# The exact search's matrices: {born, owners, int8 rows (ARGV[3] 'q') or float32 rows ('f'), in
# chunks}; {} when the namespace is gone or has no vectors.
VSCAN = ReadScript(
    _READ_HEAD
    + """
local born = redis.call('HGET', NS[2], 'born')
if not born then return {} end
local out = {born, redis.call('GET', NS[5]) or ''}
local key = ARGV[3] == 'q' and NS[4] or NS[3]
local size = redis.call('STRLEN', key)
local chunk = 4194304
local at = 0
while at < size do
  out[#out + 1] = redis.call('GETRANGE', key, at, at + chunk - 1)
  at = at + chunk
end
return out
"""
)

# Float32 rows by number (ARGV[3] the row size in bytes, then row numbers).
ROWS = ReadScript(
    _READ_HEAD
    + """
local size = tonumber(ARGV[3])
local out = {}
for i = 4, #ARGV do
  local row = tonumber(ARGV[i])
  out[#out + 1] = redis.call('GETRANGE', NS[3], row * size, row * size + size - 1)
end
return out
"""
)

# Whether a namespace has items (its order key exists; it expires with its last item).
LIVE = ReadScript("return redis.call('EXISTS', KEYS[1])")

# The registry (KEYS: names, seen): add namespaces (ARGV[1] now in ms, then the namespaces)...
REGISTER = ReadScript(
    """
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 0, ARGV[i])
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[1])
end
return #ARGV - 1
"""
)

# ... and remove those found empty, unless registered since ARGV[1] (ms): a put may be on its way.
UNREGISTER = ReadScript(
    """
local n = 0
for i = 2, #ARGV do
  local seen = tonumber(redis.call('HGET', KEYS[2], ARGV[i]) or '0')
  if seen < tonumber(ARGV[1]) then
    n = n + redis.call('ZREM', KEYS[1], ARGV[i])
    redis.call('HDEL', KEYS[2], ARGV[i])
  end
end
return n
"""
)

# ... and remove namespaces this process emptied, each only if still registered when this process
# registered it (ARGV: name, that time, ...): nobody registered it since, so no put is on its way.
FORGET = ReadScript(
    """
local n = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[i + 1] then
    n = n + redis.call('ZREM', KEYS[1], ARGV[i])
    redis.call('HDEL', KEYS[2], ARGV[i])
  end
end
return n
"""
)
