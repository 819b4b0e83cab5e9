"""Threads stored by memstore-nb before layout 2 (one set, then an index and a hash per namespace): found and upgraded.

The saver does not read them: a thread in the old layout is refused with a CheckpointError that names
:func:`upgrade_threads`, which converts every such thread under a key prefix, one namespace per script
call (atomic, so the server is held for one namespace at a time; reads of the thread are refused while it
is being converted, and a run that stops half-way is simply run again). Stored values keep their format;
only field names and index entries gain the namespace's number. The thread keeps its expiry.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ..writes import new_write_id
from .layout import ThreadKeys, check_prefix, escape_glob, text, unescape_tag
from .scripts import Script

__all__ = ["UpgradeReport", "upgrade_threads"]

log = logging.getLogger(__name__)

# KEYS[1] new hash, [2] new index, [3] old namespace set, [4] old index of ns, [5] old hash of ns;
# ARGV[1] ns, [2] an edit token, [3] '1' on the thread's first step, [4] '1' on its last.
_MOVE = Script(
    """
local h, ix = KEYS[1], KEYS[2]
if ARGV[3] == '1' then redis.call('HSET', h, 'u', '1') end
local n = ns_number(h, ARGV[1]) or ns_new(h, ARGV[1])
local added = 0
for _, cid in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do
  added = added + redis.call('ZADD', ix, 0, n .. ':' .. cid)
end
local all = redis.call('HGETALL', KEYS[5])
local moved = 0
for i = 1, #all, 2 do
  local kind, rest = string.match(all[i], '^([cbwx]):(.*)$')
  if kind then
    redis.call('HSET', h, kind .. ':' .. n .. ':' .. rest, all[i + 1])
    moved = moved + 1
  end
end
local ttl = redis.call('PTTL', KEYS[5])
if ttl < 0 then ttl = redis.call('PTTL', KEYS[4]) end
if ttl < 0 then ttl = redis.call('PTTL', KEYS[3]) end
redis.call('HINCRBY', h, 'm', added)
redis.call('HSET', h, 'e', ARGV[2])
redis.call('DEL', KEYS[4], KEYS[5])
redis.call('SREM', KEYS[3], ARGV[1])
if ARGV[4] == '1' then
  redis.call('HDEL', h, 'u')
  redis.call('DEL', KEYS[3])
end
if ttl > 0 and redis.call('PTTL', h) < 0 then
  redis.call('PEXPIRE', h, string.format('%d', ttl))
  redis.call('PEXPIRE', ix, string.format('%d', ttl))
end
return {added, moved}
"""
)


@dataclass
class UpgradeReport:
    """What :func:`upgrade_threads` converted.

    Attributes:
        threads: the thread ids converted.
        namespaces: namespaces moved (a thread's root graph is one).
        checkpoints: checkpoints moved.
        fields: stored values moved (checkpoints, channel values, writes).
    """

    threads: list[str] = field(default_factory=list)
    namespaces: int = 0
    checkpoints: int = 0
    fields: int = 0

    def __repr__(self) -> str:
        return (
            f"UpgradeReport({len(self.threads)} threads, {self.namespaces} namespaces, "
            f"{self.checkpoints} checkpoints, {self.fields} values)"
        )


def _legacy_keys(client: Any, key_prefix: str) -> dict[str, set[str]]:
    """thread id -> the namespaces its old-layout keys name (from the namespace sets and the keys themselves)."""
    head = key_prefix + "lgraph:{"
    found: dict[str, set[str]] = defaultdict(set)
    for key in client.scan_iter(match=escape_glob(key_prefix) + "lgraph:{*}:*", count=1000):
        name = text(key)
        if not name.startswith(head) or "}:" not in name[len(head) :]:
            continue
        tag, _, rest = name[len(head) :].partition("}:")
        if "{" in tag or "}" in tag:
            continue
        thread_id = unescape_tag(tag)
        if rest == "ns":
            found[thread_id].update(text(m) for m in client.smembers(key))
        elif rest.startswith(("i:", "h:")):
            found[thread_id].add(rest[2:])
    return found


def upgrade_threads(client: Any, *, key_prefix: str = "") -> UpgradeReport:
    """Convert every thread under ``key_prefix`` stored by memstore-nb before layout 2; run it once after upgrading.

    SCANs for the old keys (every primary of a cluster), then moves each thread one namespace per
    script call, its root graph first. Safe to run again (what is converted is not found again) and
    while apps run, though a thread's reads are refused for the moment it is being converted.

    Args:
        client: a sync ``redis.Redis`` / ``RedisCluster``.
        key_prefix: the saver's ``key_prefix``.

    Returns:
        An :class:`UpgradeReport`.

    Example:
        >>> upgrade_threads(connect(ENDPOINT))  # doctest: +SKIP
        UpgradeReport(12 threads, 14 namespaces, 530 checkpoints, 2210 values)
    """
    check_prefix(key_prefix)
    report = UpgradeReport()
    for thread_id, spaces in sorted(_legacy_keys(client, key_prefix).items()):
        keys = ThreadKeys(thread_id, key_prefix)
        ordered = sorted(spaces, key=lambda ns: (ns != "", ns))
        for i, ns in enumerate(ordered):
            redis_keys = [keys.thread, keys.order, keys.legacy, keys.legacy_index(ns), keys.legacy_data(ns)]
            first, last = "1" if i == 0 else "0", "1" if i == len(ordered) - 1 else "0"
            added, moved = _MOVE.run(client, redis_keys, [ns, new_write_id(), first, last])
            report.namespaces += 1
            report.checkpoints += int(added)
            report.fields += int(moved)
        report.threads.append(thread_id)
        log.info("upgraded thread %r (%d namespaces)", thread_id, len(ordered))
    return report
