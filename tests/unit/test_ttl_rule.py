"""One TTL rule for the chat history and the LangGraph saver: whole seconds, 1 to MAX_TTL_SECONDS, or None.

Only objects are built here (a client that never connects): the rule is checked before anything is sent.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import redis

from memstore_nb import MemorystoreChatMessageHistory
from memstore_nb.checkpoint import MemorystoreSaver
from memstore_nb.errors import ArgumentError
from memstore_nb.writes import MAX_TTL_SECONDS, ttl_seconds

CLIENT = redis.Redis(host="127.0.0.1", port=1, protocol=2)  # never used to send: construction only

BAD = [0, -5, 1.5, "60", True, timedelta(seconds=1.5), timedelta(0), MAX_TTL_SECONDS + 1, float("nan")]
GOOD = [(1, 1), (60, 60), (timedelta(minutes=2), 120), (MAX_TTL_SECONDS, MAX_TTL_SECONDS)]


@pytest.mark.parametrize("ttl", BAD, ids=repr)
def test_the_history_and_the_saver_refuse_the_same_ttls_with_the_same_words(ttl: Any) -> None:
    with pytest.raises(ArgumentError) as history_error:
        MemorystoreChatMessageHistory(CLIENT, "s", ttl=ttl)
    with pytest.raises(ArgumentError) as saver_error:
        MemorystoreSaver(CLIENT, ttl=ttl)
    assert str(history_error.value) == str(saver_error.value)


@pytest.mark.parametrize(("ttl", "seconds"), GOOD, ids=repr)
def test_the_history_and_the_saver_take_the_same_ttls(ttl: Any, seconds: int) -> None:
    assert ttl_seconds(ttl) == seconds
    assert MemorystoreChatMessageHistory(CLIENT, "s", ttl=ttl).ttl == seconds
    assert MemorystoreSaver(CLIENT, ttl=ttl).ttl_ms == seconds * 1000


def test_none_is_no_expiry_for_both() -> None:
    assert MemorystoreChatMessageHistory(CLIENT, "s", ttl=None).ttl is None
    assert MemorystoreSaver(CLIENT, ttl=None).ttl_ms == 0
