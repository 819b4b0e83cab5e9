"""The history's two writes, each one replay-safe script (see :mod:`memstore_nb.writes`): append and clear."""

from __future__ import annotations

from ..writes import MAX_TTL_SECONDS, OnceScript

__all__ = ["APPEND", "CLEAR"]

# Every write is one replay-safe script (memstore_nb.writes), so a write whose reply was lost is
# not stored twice when it is sent again, and a key of another type is never written or expired.
# The append is the record-first form: its first push (its reply in `first`) refuses a key of
# another type (WRONGTYPE) with nothing written, and the write id is taken back; after it nothing
# can fail: the ttl was validated in Python before sending (and is checked again here, before
# anything is written), and the later chunks push to what is now a list. So no TYPE call: two
# commands per append (SADD of the id, RPUSH), plus EXPIRE with a ttl.
# Arguments: the messages, the ttl (0: none), the write id (last). One message, the usual call,
# is pushed without unpack(); more go in chunks of 1,000, as unpack() is bounded by Lua's C stack.
# The ttl check is arithmetic (no pattern match): a whole number in range; EXPIRE gets
# the number back as Redis prints it, so a form such as " 5" or "0x10" never reaches it as text.
APPEND = OnceScript(
    """
local n = first
for i = 1001, count, 1000 do
  n = redis.call('RPUSH', KEYS[2], unpack(ARGV, i, i + 999 < count and i + 999 or count))
end
if ttl > 0 then redis.call('EXPIRE', KEYS[2], ttl) end
return n
""",
    check="""
local count = last - 2
local ttl = tonumber(ARGV[last - 1])
if count < 1 or ttl == nil or not (ttl >= 0 and ttl <= MAX_TTL and ttl % 1 == 0) then
  return redis.error_reply('ERR memstore-nb: ttl out of range: ' .. tostring(ARGV[last - 1]))
end
""".replace("MAX_TTL", str(MAX_TTL_SECONDS)),
    leading_write="""
if count == 1 then
  first = redis.pcall('RPUSH', KEYS[2], ARGV[1])
else
  first = redis.pcall('RPUSH', KEYS[2], unpack(ARGV, 1, count < 1000 and count or 1000))
end""",
)


# clear() checks the type first: DEL would delete a key of any type.
_CHECK_LIST = """
local kind = redis.call('TYPE', KEYS[2])['ok']
if kind ~= 'list' and kind ~= 'none' then
  return redis.error_reply('WRONGTYPE memstore-nb: the key holds a ' .. kind)
end
"""
# DEL, but only of a list: a hash or string at the key is refused, in the same atomic step.
CLEAR = OnceScript("return redis.call('DEL', KEYS[2])", check=_CHECK_LIST)
