"""Demo data: a handful of realistic conversations to seed an empty Redis with (``memstore-nb demo``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from .history.chat import MemorystoreChatMessageHistory, SyncClient

__all__ = ["DEMO_PREFIX", "LONG_SESSION_TURNS", "DemoConversation", "conversations", "seed"]

log = logging.getLogger(__name__)

DEMO_PREFIX = "demo:"
#: Turns (one question + one answer each) in the long session: 2 * 1500 = 3000 messages.
LONG_SESSION_TURNS = 1500
#: Seconds the expiring session lives.
EXPIRING_TTL = 3600

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class DemoConversation:
    """One seeded session.

    Attributes:
        name: the session id without the prefix.
        messages: the messages, oldest first.
        ttl: seconds it lives after the write, or ``None``.
    """

    name: str
    messages: tuple[BaseMessage, ...]
    ttl: int | None = None


def _support() -> list[BaseMessage]:
    return [
        SystemMessage(
            "You are the support assistant of Northwind Outfitters. Be brief and friendly, "
            "never promise a refund before checking the order, and hand over to a human for chargebacks."
        ),
        HumanMessage("Hi, I ordered hiking boots last week (order NW-20418) and they are a size too small."),
        AIMessage(
            "Sorry about that! Order NW-20418 is still inside the 30-day window, so you can exchange them "
            "for free. Would you like a different size of the same boot, or a refund?"
        ),
        HumanMessage("A size 44 of the same boot, please."),
        AIMessage(
            "Done: I have reserved a size 44. You will get a prepaid return label by email within the hour. "
            "Drop the boots at any parcel point; the new pair ships as soon as the return is scanned."
        ),
        HumanMessage("Great, thanks. How long does the new pair take?"),
        AIMessage("Usually 2–3 business days after the return scan. Anything else I can help with?"),
        HumanMessage("No, that's all. Have a nice day!"),
        AIMessage("You too, and enjoy the trails!"),
    ]


def _weather_agent() -> list[BaseMessage]:
    calls = [
        {"name": "get_weather", "args": {"city": "Paris", "unit": "celsius"}, "id": "call_paris", "type": "tool_call"},
        {"name": "get_weather", "args": {"city": "Tokyo", "unit": "celsius"}, "id": "call_tokyo", "type": "tool_call"},
    ]
    return [
        SystemMessage("You can call get_weather(city, unit) to look up the current weather. Answer in one paragraph."),
        HumanMessage("Should I pack an umbrella for Paris tomorrow, and what about Tokyo on Friday?"),
        AIMessage("", tool_calls=calls),
        ToolMessage('{"city": "Paris", "forecast": "light rain", "high": 14, "low": 9}', tool_call_id="call_paris"),
        ToolMessage('{"city": "Tokyo", "forecast": "sunny", "high": 22, "low": 16}', tool_call_id="call_tokyo"),
        AIMessage(
            "Yes for Paris: light rain is expected, with a high of 14 °C. Tokyo looks dry and sunny on Friday "
            "(up to 22 °C), so the umbrella can stay in the hotel there.",
            response_metadata={"model_name": "demo-model", "finish_reason": "stop"},
            usage_metadata={"input_tokens": 182, "output_tokens": 46, "total_tokens": 228},
        ),
        HumanMessage("And in Fahrenheit for Tokyo?"),
        AIMessage(
            "",
            tool_calls=[
                {
                    "name": "get_weather",
                    "args": {"city": "Tokyo", "unit": "fahrenheit"},
                    "id": "call_tokyo_f",
                    "type": "tool_call",
                }
            ],
        ),
        ToolMessage('{"city": "Tokyo", "forecast": "sunny", "high": 72, "low": 61}', tool_call_id="call_tokyo_f"),
        AIMessage("Tokyo on Friday: sunny, between 61 °F and 72 °F."),
    ]


_CODE_ANSWER = """\
Use `redis-py` with a **pipeline** so the whole batch costs one round trip:

```python
import redis

client = redis.Redis.from_url("redis://127.0.0.1:6379", protocol=2)
with client.pipeline(transaction=False) as pipe:
    for key in ("a", "b", "c"):
        pipe.llen(key)
    lengths = pipe.execute()
summary = dict(zip("abc", lengths))  # {'a': 3, 'b': 0, 'c': 12}
```

The same from a shell:

```bash
redis-cli --scan --pattern 'session*' | head
```

| approach | round trips for 100 keys |
| --- | --- |
| one call per key | 100 |
| pipeline | 1 |
"""


def _python_help() -> list[BaseMessage]:
    return [
        SystemMessage("You are a senior Python reviewer. Answer with Markdown and runnable code."),
        HumanMessage("How do I get the length of many Redis lists at once without 100 round trips?"),
        AIMessage(_CODE_ANSWER),
        HumanMessage("Does `transaction=False` matter here?"),
        AIMessage(
            "It skips the `MULTI`/`EXEC` wrapper. For read-only `LLEN` calls you do not need atomicity, "
            "and on a *cluster* a transaction cannot span keys in different slots, so `transaction=False` "
            "is the portable choice.\n\n> Tip: redis-py's `RedisCluster.pipeline()` groups commands per node for you."
        ),
    ]


_PHRASES = (
    ("Where is the train station?", "¿Dónde está la estación de tren?"),
    ("A table for two, please.", "Una mesa para dos, por favor."),
    ("How much does this cost?", "¿Cuánto cuesta esto?"),
    ("I would like a coffee with milk.", "Quisiera un café con leche."),
    ("What time does the museum open?", "¿A qué hora abre el museo?"),
    ("Could you speak more slowly?", "¿Podría hablar más despacio?"),
    ("I am allergic to peanuts.", "Soy alérgico a los cacahuetes."),
    ("Is there a pharmacy nearby?", "¿Hay una farmacia cerca?"),
    ("The bill, please.", "La cuenta, por favor."),
    ("We are looking for the beach.", "Buscamos la playa."),
    ("My suitcase did not arrive.", "Mi maleta no ha llegado."),
    ("Can I pay by card?", "¿Puedo pagar con tarjeta?"),
)


def _long_tutoring() -> list[BaseMessage]:
    out: list[BaseMessage] = [
        SystemMessage("You are a patient Spanish tutor. Translate, then give one short usage note."),
    ]
    for turn in range(LONG_SESSION_TURNS - 1):
        english, spanish = _PHRASES[turn % len(_PHRASES)]
        lesson = turn // len(_PHRASES) + 1
        out.append(HumanMessage(f"Lesson {lesson}: how do I say “{english}”"))
        out.append(AIMessage(f"**{spanish}**\n\nPractice it aloud three times (lesson {lesson}, phrase {turn + 1})."))
    out.append(HumanMessage("That's enough for today, thank you!"))
    return out


def _expiring() -> list[BaseMessage]:
    return [
        HumanMessage("Remind me: what's the Wi-Fi password format for the guest network?"),
        AIMessage(
            "This chat is temporary: it expires one hour after the last message. "
            "The guest network uses a daily code printed at the front desk."
        ),
    ]


def _xss_probe() -> list[BaseMessage]:
    return [
        HumanMessage(
            "<script>alert('xss')</script> <img src=x onerror=\"alert('img')\"> "
            "[click me](javascript:alert('link')) <b style=\"color:red\">bold?</b>"
        ),
        AIMessage(
            "Everything above must appear as plain text: no dialog, no image, no red bold, "
            "and the link must not run JavaScript. `<svg onload=alert(1)>` stays text too."
        ),
    ]


def _multilingual() -> list[BaseMessage]:
    return [
        HumanMessage("Bonjour ! Peux-tu résumer la réunion d'hier en trois points ?"),
        AIMessage("1. Budget validé ✅\n2. Lancement reporté au 3 mars 📅\n3. Prochaine réunion : jeudi"),
        HumanMessage("日本語でもお願いします。"),
        AIMessage("1. 予算が承認されました\n2. 公開は3月3日に延期\n3. 次回の会議は木曜日です"),
    ]


def conversations() -> list[DemoConversation]:
    """The demo sessions, built fresh each call (deterministic content)."""
    return [
        DemoConversation("support-refund", tuple(_support())),
        DemoConversation("weather-agent", tuple(_weather_agent())),
        DemoConversation("python-help", tuple(_python_help())),
        DemoConversation("multilingual", tuple(_multilingual())),
        DemoConversation("xss-probe", tuple(_xss_probe())),
        DemoConversation("temporary-chat", tuple(_expiring()), ttl=EXPIRING_TTL),
        DemoConversation("spanish-tutor-long", tuple(_long_tutoring())),
    ]


def seed(
    client: SyncClient,
    *,
    prefix: str = DEMO_PREFIX,
    progress: Progress | None = None,
    only: Sequence[str] | None = None,
) -> list[str]:
    """Write the demo conversations, each in ONE batch write (RPUSH, with EXPIRE for the expiring one).

    A session whose key already exists is left as it is (not duplicated, not
    overwritten), so seeding twice is harmless.

    Args:
        client: a ``redis.Redis`` or ``redis.cluster.RedisCluster``.
        prefix: prepended to every demo session id (default ``"demo:"``).
        progress: called as ``progress(done, total)`` in messages, before the
            first write and after each session.
        only: names (without prefix) of the conversations to write; all when ``None``.

    Returns:
        The session ids (the Redis keys), in seeding order.

    Example:
        >>> ids = seed(redis.Redis.from_url(url, protocol=2))  # doctest: +SKIP
        >>> ids[0]  # doctest: +SKIP
        'demo:support-refund'
    """
    chosen = [c for c in conversations() if only is None or c.name in only]
    total = sum(len(c.messages) for c in chosen)
    done = 0
    if progress is not None:
        progress(done, total)
    ids = []
    for conv in chosen:
        history = MemorystoreChatMessageHistory(client, prefix + conv.name, ttl=conv.ttl)
        if client.exists(history.key):
            log.info("demo session %r already exists; left as it is", history.key)
        else:
            history.add_messages(conv.messages)
        ids.append(history.session_id)
        done += len(conv.messages)
        if progress is not None:
            progress(done, total)
    return ids
