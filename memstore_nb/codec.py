"""Messages as stored: encode, decode, role and text. Pure functions: no Redis, no widgets."""

from __future__ import annotations

import inspect
import json
import json.encoder
import re
from collections.abc import Callable
from typing import Any, Union

import orjson
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    message_to_dict,
    messages_from_dict,
)
from pydantic import BaseModel
from pydantic_core import SchemaSerializer

from .errors import ArgumentError, CorruptMessageError
from .replies import reply_text  # re-exported: code written for 0.1 imports it from here

__all__ = [
    "Item",
    "Raw",
    "content_text",
    "decode_message",
    "encode_message",
    "escape_controls",
    "load_json",
    "message_role",
    "message_summary",
    "message_text",
    "nesting_depth",
    "reply_text",
    "type_role",
]

#: a stored element as a client returns it
Raw = Union[bytes, str]
#: one element of a conversation as read: the message, or the error that says why it is not one
Item = Union[BaseMessage, CorruptMessageError]

# The common types go straight to their class; messages_from_dict (the
# reference) handles the rest. Same constructors, same validation, same result.
_CLASSES: dict[str, Callable[..., BaseMessage]] = {
    "human": HumanMessage,
    "ai": AIMessage,
    "system": SystemMessage,
    "tool": ToolMessage,
    "function": FunctionMessage,
    "chat": ChatMessage,
    "AIMessageChunk": AIMessageChunk,
}
_PREVIEW = 120
#: How deeply a stored message may nest lists and objects. json reads ~990 levels on Python 3.10-3.12
#: and far more on 3.13, orjson 1,024; but what reads a message next (json.dumps, repr, Markdown and
#: HTML rendering) recurses once per level and fails near 1,000 on every version. One bound, the
#: same everywhere, makes a deeper element one CorruptMessageError, never a RecursionError later.
MAX_DEPTH = 256

# orjson reads integers of up to 64 bits exactly and turns longer ones into floats, where json
# keeps them as ints. A run of 19 digits is the first length that may not fit, so such a document
# takes the reference path. For bytes (the usual reply) the test is a C-speed translate of every
# digit to "0" and a substring search, about 3x faster than a regex; str replies use the regex.
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= i <= 0x39 else 0x20 for i in range(256))
_NINETEEN = b"0" * 19
_LONG_DIGITS_S = re.compile(r"\d{19}")


def _may_hold_a_long_integer(raw: Raw) -> bool:
    if isinstance(raw, bytes):
        return _NINETEEN in raw.translate(_DIGITS_AS_ZERO)
    return _LONG_DIGITS_S.search(raw) is not None


def encode_message(message: BaseMessage) -> str:
    """One message as stored: ``json.dumps(message_to_dict(message))``, byte for byte as upstream writes it.

    The same steps, with less overhead per message (see ``_encoder``, ``_dumper``); anything the
    fast path does not take (an error, a class with a ``model_dump`` of its own) goes through the
    reference itself, so it fails, or warns, exactly as upstream's writer does.
    """
    cls = type(message)
    dump = _DUMPERS.get(cls)
    if dump is None:
        dump = _DUMPERS[cls] = _dumper(cls)
    if _ENCODE is not None and dump is not _REFERENCE_DUMP:
        try:  # (a try, not contextlib.suppress: this is the write path, and suppress costs 0.5 us)
            text: str | None = "".join(_ENCODE({"type": message.type, "data": dump(message)}, 0))
        except Exception:  # the reference below fails (or warns) as upstream's writer does
            text = None
    else:
        text = None
    if text is None:
        try:
            text = json.dumps(message_to_dict(message))
        except RecursionError:
            raise _too_deep(message) from None
    # Deeper than MAX_DEPTH needs more than MAX_DEPTH opening brackets (and as many closing ones): the
    # length and two C-speed counts spare almost every message the walk.
    if (
        len(text) > 2 * MAX_DEPTH
        and text.count("[") + text.count("{") > MAX_DEPTH
        and nesting_depth(message_to_dict(message), MAX_DEPTH) > MAX_DEPTH
    ):
        raise _too_deep(message)
    return text


def _too_deep(message: BaseMessage) -> ArgumentError:
    return ArgumentError(
        f"this {message.type} message nests lists or objects more than {MAX_DEPTH} levels deep: it would be "
        "stored but never read back (every reader stops there), so it is refused and nothing was written",
        message.type,
    )


def _encoder() -> Callable[[Any, int], Any] | None:
    """``json.dumps``'s own C encoder with ``json.dumps``'s default settings, made once.

    ``json.dumps`` builds a new one per call (about a third of its time for a message). This one
    has no circular-reference bookkeeping, which ``model_dump`` output never needs (pydantic
    refuses cycles first); on anything that fails, the caller takes the reference path. None where
    the C encoder is missing or does not write what ``json.dumps`` writes.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    try:
        # after markers (None: no cycle check): default, string encoder, indent, key and item
        # separators, sort_keys, skipkeys, allow_nan -- what json.dumps() passes
        settings = (
            json.JSONEncoder().default,
            json.encoder.encode_basestring_ascii,
            None,
            ": ",
            ", ",
            False,
            False,
            True,
        )
        encode = make(None, *settings)
        sample = {"a": [1, 2.5, float("nan"), float("-inf"), 2**70, True, None], "é\ud83d": {"x": "\x00\u202e"}}
        return encode if "".join(encode(sample, 0)) == json.dumps(sample) else None
    except Exception:
        return None


def _reference_dump(message: BaseModel) -> dict[str, Any]:
    return message.model_dump()


_REFERENCE_DUMP = _reference_dump


def _model_dump_options() -> dict[str, Any] | None:
    """The keyword arguments ``BaseModel.model_dump()`` passes to the serializer that differ from
    the serializer's own defaults (``mode``, ``warnings`` today), or None when that cannot be told."""
    passed = BaseModel.model_dump.__kwdefaults__ or {}
    try:
        own = inspect.signature(SchemaSerializer.to_python).parameters
    except (TypeError, ValueError, AttributeError):
        return None
    if not passed or not set(passed) <= set(own):
        return None
    return {name: value for name, value in passed.items() if own[name].default != value}


_DUMP_OPTIONS = _model_dump_options()


def _dumper(cls: type) -> Callable[[Any], dict[str, Any]]:
    """``model_dump()`` of ``cls``: its serializer called directly with what ``model_dump`` passes
    (skipping its keyword handling), unless the class has a ``model_dump`` of its own."""
    if _DUMP_OPTIONS is None or getattr(cls, "model_dump", None) is not BaseModel.model_dump:
        return _REFERENCE_DUMP
    options = _DUMP_OPTIONS
    # looked up per call, as model_dump does: model_rebuild() may replace the serializer
    return lambda message: message.__pydantic_serializer__.to_python(message, **options)


_DUMPERS: dict[type, Callable[[Any], dict[str, Any]]] = {}
_ENCODE = _encoder()


def load_json(raw: Raw) -> Any:
    """The JSON document in ``raw``, exactly as ``json.loads`` reads it, orjson-fast where that is the same."""
    if not _may_hold_a_long_integer(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # NaN, Infinity, lone surrogates, ...: json accepts what orjson refuses
    return json.loads(raw)


def decode_message(raw: Raw, *, key: str = "", index: int = -1) -> BaseMessage:
    """Parse one stored element back into a LangChain message.

    The result is what upstream's reader, ``messages_from_dict([json.loads(raw)])[0]``,
    gives for every element that reader accepts (NaN, Infinity, integers beyond 64 bits and
    lone surrogates included); orjson is only the fast path.

    Args:
        raw: the element as Redis returned it (``bytes`` or ``str``).
        key: the key it came from, for the error message.
        index: its position in the list, for the error message.

    Returns:
        The message.

    Raises:
        CorruptMessageError: for any element the reference reader refuses, whatever the reason;
            never another exception type.
    """
    try:
        doc = load_json(raw)
    except RecursionError as exc:
        raise CorruptMessageError(key, index, _preview(raw), f"nested more than {MAX_DEPTH} levels deep") from exc
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise CorruptMessageError(key, index, _preview(raw), "not valid JSON") from exc
    if _may_be_deep(raw) and nesting_depth(doc, MAX_DEPTH) > MAX_DEPTH:
        raise CorruptMessageError(key, index, _preview(raw), f"nested more than {MAX_DEPTH} levels deep")
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), dict) or not isinstance(doc.get("type"), str):
        raise CorruptMessageError(key, index, _preview(raw), 'expected {"type": ..., "data": {...}}')
    cls = _CLASSES.get(doc["type"])
    try:
        return cls(**doc["data"]) if cls is not None else messages_from_dict([doc])[0]
    except Exception as exc:  # a validator may raise anything on hostile data (AttributeError, ...)
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CorruptMessageError(key, index, _preview(raw), f"not a valid {doc['type']!r} message: {first}") from exc


_ROLES = frozenset({"human", "ai", "system", "tool", "function"})


def type_role(kind: str) -> str:
    """The role a stored message ``type`` names (``"ai"``, ``"AIMessageChunk"`` -> ``ai``), or ``unknown``.

    A chat message's role is its own (``data.role``), not its type's: see :func:`message_role`.
    """
    if kind.endswith("MessageChunk"):  # chunks store their class name as type
        kind = kind.removesuffix("MessageChunk").lower()
    return kind if kind in _ROLES else "unknown"


def _may_be_deep(raw: Raw) -> bool:
    # MAX_DEPTH levels need MAX_DEPTH opening brackets: two C-speed counts spare almost every
    # element the walk below.
    if isinstance(raw, bytes):
        return raw.count(b"[") + raw.count(b"{") > MAX_DEPTH
    return raw.count("[") + raw.count("{") > MAX_DEPTH


def nesting_depth(value: object, limit: int = MAX_DEPTH) -> int:
    """How deeply ``value`` nests lists, tuples and dicts (a scalar is 0, ``[]`` is 1), counted without
    recursion; the count stops at ``limit + 1``, so a hostile value costs no more than a walk to it."""
    deepest = 0
    todo: list[tuple[object, int]] = [(value, 0)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        todo.extend((child, depth) for child in children)
    return deepest


def message_role(message: BaseMessage) -> str:
    """Who speaks: ``human``, ``ai``, ``system``, ``tool``, ``function``, a ChatMessage's own role, or ``unknown``."""
    if isinstance(message, ChatMessage):
        return str(message.role)
    return type_role(str(getattr(message, "type", "") or ""))


def message_text(message: BaseMessage) -> str:
    """The readable text of a message: ``content`` itself, or its text blocks joined by newlines."""
    return content_text(message.content)


def message_summary(message: BaseMessage) -> str:
    """A message's text with its tool calls (``→ name({args})``) and, for a tool result, ``[call id]`` first."""
    text = message_text(message)
    calls = getattr(message, "tool_calls", None) or []
    if calls:
        shown = [f"→ {call.get('name')}({json.dumps(call.get('args'), ensure_ascii=False)})" for call in calls]
        text = " ".join([text, *shown]).strip()
    tool_call_id = getattr(message, "tool_call_id", None)
    if tool_call_id:
        text = f"[{tool_call_id}] {text}"
    return text


def content_text(content: object) -> str:
    """The text of a message's ``content`` (a message object's, or a stored dict's): a string as
    it is, a list of content blocks as its text blocks joined by newlines, anything else as ``""``."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    parts = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and isinstance(block.get("text"), str):
            parts.append(block["text"])
    return "\n".join(parts)


# What a reader cannot see, or sees as something else: C0 and C1 control characters and DEL (an
# escape sequence retitles a terminal), the bidi controls (embeddings, overrides, isolates, marks:
# they reorder what is shown), and the invisible format characters (zero-width space, joiners and
# word joiner, soft hyphen, line and paragraph separators, Hangul fillers, BOM, interlinear
# annotations, tag characters: "adm\u200bin" would pass for "admin"), and lone surrogates (no
# terminal or UTF-8 encoder takes them). Shown as escapes, they are visible and harmless.
_INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    "\u3164\ud800-\udfff\ufeff\uffa0\ufff9-\ufffb\ufffe\uffff\U0001d173-\U0001d17a\U000e0000-\U000e007f"
)
_CONTROLS = re.compile(f"[\x00-\x1f\x7f-\x9f{_INVISIBLE}]")
_CONTROLS_BUT_LINES = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_INVISIBLE}]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def escape_controls(text: str, *, keep_lines: bool = False) -> str:
    """``text`` with control, bidi and invisible characters shown as escapes (``\\x1b``, ``\\u202e``, ``\\u200b``).

    For what reaches a terminal or names a session: an escape sequence cannot retitle the window or
    clear the screen, ``"evil\\u202ecod.exe"`` cannot pass for ``"evilexe.doc"``, ``"adm\\u200bin"``
    cannot pass for ``"admin"``, and a lone surrogate is shown instead of failing the UTF-8 encoder.
    Characters above U+FFFF (tag characters) read ``\\U000e0041``.

    Args:
        text: any text.
        keep_lines: keep newlines and tabs as they are (message bodies); otherwise they are escaped too.
    """
    return (_CONTROLS_BUT_LINES if keep_lines else _CONTROLS).sub(_visible, text)


def _preview(raw: Raw) -> str:
    text = reply_text(raw)
    return text if len(text) <= _PREVIEW else text[:_PREVIEW] + "…"
