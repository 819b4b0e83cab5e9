"""The Lua wrappers that make a write body replay-safe: checked, general and record-first forms."""

from __future__ import annotations

__all__ = ["CHECKED", "GENERAL", "LEADING", "RECORDED"]

# The wrappers. KEYS[1] is the marker: a small SET per slot tag and time window
# ("generation"), whose members are the write ids applied in that window. (A SET, not a HASH:
# adding a member to a big one costs the server less than a field and its value. Earlier
# builds kept HASH markers named "...:memstore-nb:w:<generation>"; the new name keeps a process
# still running that code and one running this from ever meeting in one key.) The write id travels as
# the last argument and is taken off ARGV first, so the body sees its own keys from KEYS[2] and
# its arguments from ARGV[1]. The marker expires two windows after its generation began.
#
# One marker per session and window, not one key per write, matters on a Redis Cluster being
# resharded: while a slot migrates, a multi-key script is served only where all its keys exist,
# and a marker that already exists beside the session moves with it (a new key per write would
# be missing on both nodes, and every write would get TRYAGAIN until the slot had moved).
#
# The replay test comes first, so a resend of an applied write is recognised whatever happened
# to the key since. With a separate check (the fast form), the check then runs and may refuse
# with redis.error_reply(...); the write id is recorded before the body writes — safe because the
# body cannot fail any more: the check ruled out the errors, and Redis checks memory (OOM) only
# before a script's first write.
PROLOGUE = """
local wid = table.remove(ARGV)
local at = (tonumber(string.match(KEYS[1], ':wid:(%x+)$'), 16) + 2) * WINDOW_MS
"""
CHECKED = (
    PROLOGUE
    + """
if redis.call('SISMEMBER', KEYS[1], wid) == 1 then return redis.status_reply('REPLAY') end
CHECK
redis.call('SADD', KEYS[1], wid)
redis.call('PEXPIREAT', KEYS[1], at)
BODY
"""
)
# Without one (the general form), the body may refuse after reading, so the write id is recorded
# only after the body has written.
GENERAL = (
    PROLOGUE
    + """
if redis.call('SISMEMBER', KEYS[1], wid) == 1 then return {0} end
local function body()
BODY
end
local result = body()
if type(result) == 'table' and result.err then return result end
redis.call('SADD', KEYS[1], wid)
redis.call('PEXPIREAT', KEYS[1], at)
return {1, result}
"""
)
# The record-first form (leading_write): one SADD both records the write id and tells a replay
# (no new member) from a new write, and says whether the marker is new; then the body writes. Its
# first write (FIRST: Lua that sets `first` to the reply of a redis.pcall) may be refused
# (WRONGTYPE: that write wrote nothing): then the id is taken back — the marker is left exactly as
# it was, or gone if this call created it — and the script returns that error. Nothing after that
# first write may fail. OOM cannot strike after the SADD: Redis and Valkey check memory only
# before a script's first write (the SADD, which then fails with nothing written). The member
# "expires" marks a marker whose expiry is set: it is added in the same step as the PEXPIREAT and
# only ever removed with the id that added it, so PEXPIREAT runs once per marker, not once per
# write. A write id is only ever sent by one script, so a replay of a write of this form finds
# both members. The id stays in ARGV (at `last`): no table.remove, which, like every call into a C
# function, is measurable on a write this short.
LEADING = """
local last = #ARGV
local wid = ARGV[last]
CHECK
local added = redis.call('SADD', KEYS[1], wid, 'expires')
if added == 0 then return redis.status_reply('REPLAY') end
if added == 2 then
  redis.call('PEXPIREAT', KEYS[1], (tonumber(string.match(KEYS[1], ':wid:(%x+)$'), 16) + 2) * WINDOW_MS)
end
local first
FIRST
if type(first) == 'table' and first.err then
  if added == 2 then redis.call('SREM', KEYS[1], wid, 'expires') else redis.call('SREM', KEYS[1], wid) end
  return first
end
BODY
"""
# The recorded-first form with a check that reads (a write whose refusals need Redis' answers, such
# as the types of its keys): the write id is recorded first, exactly as in the record-first form
# (one SADD tells a replay from a new write; the expiry is set once per marker), then the check
# reads and may refuse with `return refuse(message)`, which takes the id back — the marker is left
# as it was, or gone if this call created it — and returns the error; then the body writes and may
# not fail. Recording and taking back happen in one script, so no other write comes between. A
# replay is recognised before the check, whatever happened to the keys since. Two commands fewer
# than the checked form on every write (no SISMEMBER, no PEXPIREAT but the marker's first), and one
# key fewer to touch: on a server whose caches the client's own work keeps cold, each command a
# script makes costs microseconds. The id is taken off ARGV, as in the checked form.
RECORDED = """
local wid = table.remove(ARGV)
local added = redis.call('SADD', KEYS[1], wid, 'expires')
if added == 0 then return redis.status_reply('REPLAY') end
if added == 2 then
  redis.call('PEXPIREAT', KEYS[1], (tonumber(string.match(KEYS[1], ':wid:(%x+)$'), 16) + 2) * WINDOW_MS)
end
local function refuse(message)
  if added == 2 then redis.call('SREM', KEYS[1], wid, 'expires') else redis.call('SREM', KEYS[1], wid) end
  return redis.error_reply(message)
end
CHECK
BODY
"""
