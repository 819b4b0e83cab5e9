"""ChatHistoryViewer: browse and read chat sessions in Redis, built from stock ipywidgets (7.7.1 and 8.x)."""

from __future__ import annotations

import base64
import functools
import html
import json
import logging
import math
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import ipywidgets as widgets
import redis
import traitlets
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, messages_to_dict
from traitlets import Bool, Float, Int, Unicode, observe, validate

from ..errors import CorruptMessageError, MemstoreError, WrongTypeError
from ..history import MemorystoreChatMessageHistory
from ..sessions import (
    SessionNotFound,
    SessionStats,
    entry_role,
    find_in_session,
    list_sessions,
    session_stats,
    summarize_sessions,
)
from .render import VIEWER_CLASS, render_page, to_markdown, viewer_css

__all__ = ["ChatHistoryViewer"]

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
Item = BaseMessage | CorruptMessageError

_ROLE_CHOICES = [("all roles", "")] + [(r, r) for r in ("human", "ai", "system", "tool", "function", "unreadable")]
_APPEND_ROLES = {"human": HumanMessage, "ai": AIMessage, "system": SystemMessage}
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def _guarded(method: F) -> F:
    """Run a handler under the widget's lock; show any failure inside the widget instead of raising."""

    @functools.wraps(method)
    def wrapper(self: ChatHistoryViewer, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            try:
                return method(self, *args, **kwargs)
            except Exception as exc:  # the widget must survive anything Redis or the data throw at it
                self._report(exc)
                return None

    return wrapper  # type: ignore[return-value]


def _button(description: str, tooltip: str, *, style: str = "", shared: dict[str, Any] | None = None) -> widgets.Button:
    # Every widget also makes a Layout and a Style widget of its own; buttons
    # that are never hidden can share one of each, which makes building the
    # viewer markedly cheaper (each widget is a comm to the front end).
    return widgets.Button(description=description, tooltip=tooltip, button_style=style, **(shared or {}))


def _row(*children: widgets.Widget) -> widgets.HBox:
    return widgets.HBox(list(children), layout=widgets.Layout(flex_flow="row wrap", align_items="center"))


def _hidden(widget: widgets.Widget, hidden: bool) -> None:
    widget.layout.display = "none" if hidden else None


class ChatHistoryViewer(widgets.VBox):
    """Browse the chat sessions of a Redis database and read them page by page.

    Made only of stock ipywidgets, so it renders in Colab (ipywidgets 7.7.1,
    no custom widget manager), JupyterLab, VS Code and Voilà. Opening a
    session costs one LLEN (with TTL and MEMORY USAGE in the same round trip)
    and one LRANGE of a page, whatever the session's size. Nothing is written
    unless ``editable=True``, and deleting a session asks for a second,
    explicit confirmation.

    Args:
        client: a ``redis.Redis`` or ``redis.cluster.RedisCluster`` (never kept in widget state).
        session_id: the session (key) to open at once; ``None`` shows only the session list.
        match: glob pattern for the session list (``"chat:*"`` for a key prefix).
        page_size: messages per page.
        editable: add "append a message" and "delete the session" controls.

    Example:
        >>> viewer = ChatHistoryViewer(client, match="user-*")  # doctest: +SKIP
        >>> viewer  # doctest: +SKIP
    """

    # None of these traits is synced: the page shows the child widgets, and no
    # message from the front end may change what the viewer reads or writes.
    session_id = Unicode(None, allow_none=True, help="The open session (its key), or None")
    match = Unicode("*", help="Glob pattern for the session list")
    page = Int(0, help="Page shown, 0 being the newest (or the oldest with oldest_first)")
    page_size = Int(50, help="Messages per page (1-1000)")
    oldest_first = Bool(False, help="Page from the start of the session instead of its end")
    role_filter = Unicode("", help="Show only messages of this role on the page ('' = all)")
    search = Unicode("", help="Text to find (case-insensitive) with find()")
    follow = Bool(False, help="Poll for new messages every follow_interval seconds")
    follow_interval = Float(3.0, help="Seconds between polls while following")
    scan_count = Int(1000, help="SCAN COUNT hint for the session list")
    rows_per_scan = Int(50, help="Sessions added to the list per scan")
    chunk_size = Int(1000, help="Messages per LRANGE while searching or exporting")
    max_link_bytes = Int(16 * 1024 * 1024, help="Largest export offered as a download link")

    def __init__(
        self,
        client: Any,
        *,
        session_id: str | None = None,
        match: str = "*",
        page_size: int = 50,
        editable: bool = False,
        **kwargs: Any,
    ) -> None:
        self._client = client
        # Decided here, once: writing is never a trait the front end could flip.
        self._editable = bool(editable)
        self._lock = threading.RLock()
        self._muted = 0
        self._history: MemorystoreChatMessageHistory | None = None
        self._stats: SessionStats | None = None
        self._items: list[tuple[int, Item]] = []
        self._hits: list[int] = []
        self._hit_pos = -1
        self._pending_delete: tuple[str, int] | None = None
        self._session_iter: Iterator[str] | None = None
        self._listed: list[tuple[str, str]] = []
        self._follow_stop: threading.Event | None = None
        self._follow_thread: threading.Thread | None = None
        self._build_children()
        super().__init__(**kwargs)
        self.add_class(VIEWER_CLASS + "-widget")
        with self._muted_observers():
            self.match = match
            self.page_size = page_size
        self._arrange()
        self.scan()
        if session_id:
            self.session_id = session_id
        else:
            self._render_transcript()

    # -- layout ---------------------------------------------------------------

    def _build_children(self) -> None:
        shared = {"layout": widgets.Layout(width="auto"), "style": widgets.ButtonStyle()}
        plain = widgets.Layout()  # for the never-hidden HTML and text boxes
        self._style = widgets.HTML(value=viewer_css())
        self._status = widgets.HTML(value="", layout=plain)
        # Session browser.
        self._match_text = widgets.Text(placeholder="glob, e.g. user-*", continuous_update=False, layout=plain)
        self._scan_button = _button("Scan", "list the sessions matching the pattern (SCAN)", shared=shared)
        self._more_button = _button("Scan more", "list more matching sessions", shared=shared)
        self._scan_status = widgets.HTML(value="", layout=plain)
        self._session_select = widgets.Select(options=[], rows=8, layout=widgets.Layout(width="auto"))
        # Transcript.
        self._header = widgets.HTML(value="", layout=plain)
        self._first_button = _button("« First", "first page", shared=shared)
        self._prev_button = _button("‹ Prev", "previous page", shared=shared)
        self._next_button = _button("Next ›", "next page", shared=shared)
        self._last_button = _button("Last »", "last page", shared=shared)
        self._jump_input = widgets.IntText(value=0, description="message #", layout=widgets.Layout(width="170px"))
        self._jump_button = _button("Go", "show the page holding this message index (0 is the oldest)", shared=shared)
        self._order_checkbox = widgets.Checkbox(value=False, description="oldest first", indent=False)
        self._page_size_input = widgets.IntText(value=50, description="per page", layout=widgets.Layout(width="140px"))
        self._refresh_button = _button("Refresh", "read the session again", shared=shared)
        self._follow_checkbox = widgets.Checkbox(value=False, description="follow", indent=False)
        self._role_dropdown = widgets.Dropdown(options=list(_ROLE_CHOICES), value="", layout={"width": "130px"})
        self._search_text = widgets.Text(placeholder="find text (any case)", continuous_update=False, layout=plain)
        self._find_button = _button("Find", "search the whole session, chunk by chunk", shared=shared)
        self._prev_hit_button = _button("‹ Hit", "previous search hit", shared=shared)
        self._next_hit_button = _button("Hit ›", "next search hit", shared=shared)
        self._search_progress = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width="140px"))
        self._search_status = widgets.HTML(value="", layout=plain)
        self._transcript = widgets.HTML(value="", layout=plain)
        # Export.
        self._export_json_button = _button("Export JSON", "messages_to_dict of the whole session", shared=shared)
        self._export_md_button = _button("Export Markdown", "the whole session as a Markdown transcript", shared=shared)
        self._export_progress = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width="140px"))
        self._export_link = widgets.HTML(value="", layout=plain)
        # Editing (only shown, and only effective, with editable=True).
        self._append_role = widgets.Dropdown(
            options=[(r, r) for r in _APPEND_ROLES], value="human", layout={"width": "100px"}
        )
        self._append_text = widgets.Textarea(placeholder="message text", layout=widgets.Layout(width="50%"))
        self._append_button = _button("Append", "add this message at the end of the session", shared=shared)
        self._delete_button = _button(
            "Delete session…", "delete the whole session (asks first)", style="danger", shared=shared
        )
        self._confirm_html = widgets.HTML(value="", layout=plain)
        self._confirm_delete_button = _button("Delete", "really delete", style="danger", shared=shared)
        self._cancel_delete_button = _button("Cancel", "keep the session", shared=shared)
        self._confirm_box = _row(self._confirm_html, self._confirm_delete_button, self._cancel_delete_button)
        self._edit_box = widgets.VBox(
            [_row(self._append_role, self._append_text, self._append_button), self._delete_button, self._confirm_box]
        )
        _hidden(self._confirm_box, True)
        for progress in (self._search_progress, self._export_progress):
            _hidden(progress, True)

        for child, handler in [
            (self._scan_button, lambda _: self.scan()),
            (self._more_button, lambda _: self.scan_more()),
            (self._first_button, lambda _: self._go_page(0)),
            (self._prev_button, lambda _: self._go_page(self.page - 1)),
            (self._next_button, lambda _: self._go_page(self.page + 1)),
            (self._last_button, lambda _: self._go_page(self.pages - 1)),
            (self._jump_button, lambda _: self.jump_to(self._jump_input.value)),
            (self._refresh_button, lambda _: self.refresh()),
            (self._find_button, lambda _: self.find()),
            (self._prev_hit_button, lambda _: self._step_hit(-1)),
            (self._next_hit_button, lambda _: self._step_hit(1)),
            (self._export_json_button, lambda _: self.export_json()),
            (self._export_md_button, lambda _: self.export_markdown()),
            (self._append_button, lambda _: self._append_clicked()),
            (self._delete_button, lambda _: self._delete_clicked()),
            (self._confirm_delete_button, lambda _: self._confirm_delete_clicked()),
            (self._cancel_delete_button, lambda _: self._cancel_delete()),
        ]:
            child.on_click(handler)
        self._session_select.observe(self._session_selected, names="value")
        self._role_dropdown.observe(self._role_chosen, names="value")

    def _arrange(self) -> None:
        # link(source, target) copies the source's value first: the traits lead.
        with self._muted_observers():
            traitlets.link((self, "match"), (self._match_text, "value"))
            traitlets.link((self, "oldest_first"), (self._order_checkbox, "value"))
            traitlets.link((self, "page_size"), (self._page_size_input, "value"))
            traitlets.link((self, "follow"), (self._follow_checkbox, "value"))
            traitlets.link((self, "search"), (self._search_text, "value"))
        self._update_children()

    def _update_children(self) -> None:
        browser = widgets.VBox(
            [_row(self._match_text, self._scan_button, self._more_button, self._scan_status), self._session_select]
        )
        nav = _row(
            self._first_button,
            self._prev_button,
            self._next_button,
            self._last_button,
            self._jump_input,
            self._jump_button,
            self._order_checkbox,
            self._page_size_input,
            self._refresh_button,
            self._follow_checkbox,
        )
        find = _row(
            self._role_dropdown,
            self._search_text,
            self._find_button,
            self._prev_hit_button,
            self._next_hit_button,
            self._search_progress,
            self._search_status,
        )
        export = _row(self._export_json_button, self._export_md_button, self._export_progress, self._export_link)
        children = [self._style, self._status, browser, self._header, nav, find, self._transcript, export]
        if self._editable:
            children.append(self._edit_box)
        self.children = children

    # -- traits ---------------------------------------------------------------

    @validate("session_id")
    def _valid_session_id(self, proposal: Any) -> str | None:
        return proposal.value or None

    @validate("page_size")
    def _valid_page_size(self, proposal: Any) -> int:
        return min(max(int(proposal.value), 1), 1000)

    @validate("page")
    def _valid_page(self, proposal: Any) -> int:
        return min(max(int(proposal.value), 0), self.pages - 1)

    @validate("follow_interval")
    def _valid_interval(self, proposal: Any) -> float:
        return max(float(proposal.value), 0.05)

    @validate("scan_count", "rows_per_scan", "chunk_size")
    def _valid_positive(self, proposal: Any) -> int:
        return max(int(proposal.value), 1)

    @observe("session_id")
    def _session_changed(self, change: Any) -> None:
        if not self._muted:
            self._open()

    @observe("match")
    def _match_changed(self, change: Any) -> None:
        if not self._muted:
            self.scan()

    @observe("page")
    def _page_changed(self, change: Any) -> None:
        if not self._muted:
            self._load_page()

    @observe("oldest_first")
    def _order_changed(self, change: Any) -> None:
        if self._muted:
            return
        with self._muted_observers():
            self.page = 0
        self._load_page()

    @observe("page_size")
    def _page_size_changed(self, change: Any) -> None:
        if self._muted or not self._items:
            return
        first = self._items[0][0]  # keep the oldest message shown in view
        with self._muted_observers():
            self.page = self._page_of(first)
        self._load_page()

    @observe("role_filter")
    def _role_filter_changed(self, change: Any) -> None:
        if change.new not in [value for _, value in self._role_dropdown.options]:
            self._role_dropdown.options = [*self._role_dropdown.options, (change.new, change.new)]
        self._role_dropdown.value = change.new
        self._render_transcript()

    @observe("search")
    def _search_changed(self, change: Any) -> None:
        self._hits, self._hit_pos = [], -1
        self._search_status.value = ""
        self._render_transcript()  # marks follow the text at once; Find scans the whole session

    @observe("follow")
    def _follow_changed(self, change: Any) -> None:
        if change.new:
            self._start_follow()
        else:
            self._stop_follow()

    @property
    def editable(self) -> bool:
        """Whether this viewer may append and delete; fixed when it is built (``editable=True``)."""
        return self._editable

    @contextmanager
    def _muted_observers(self) -> Iterator[None]:
        self._muted += 1
        try:
            yield
        finally:
            self._muted -= 1

    # -- reporting ------------------------------------------------------------

    def _report(self, exc: BaseException) -> None:
        if isinstance(exc, SessionNotFound):
            text = (
                f"Session {exc.session_id!r} does not exist any more (deleted or expired). "
                "Pick another session, or press Scan to list the current ones."
            )
        elif isinstance(exc, (WrongTypeError, MemstoreError)):
            text = str(exc)
        elif isinstance(exc, (redis.ConnectionError, redis.TimeoutError)):
            text = (
                f"Lost the connection to Redis ({type(exc).__name__}: {self._redact(str(exc))}). "
                "Check that the server is reachable, then press Refresh."
            )
        elif isinstance(exc, redis.RedisError):
            text = f"Redis answered with an error: {self._redact(str(exc))}"
        else:
            log.exception("ChatHistoryViewer: unexpected error")
            text = f"Unexpected error: {type(exc).__name__}: {self._redact(str(exc))}"
        self._status.value = (
            f'<div class="{VIEWER_CLASS}"><div class="msnb-error" role="alert">{html.escape(text)}</div></div>'
        )

    def _redact(self, text: str) -> str:
        # Some redis-py errors quote the command they failed on (AUTH included).
        secrets = []
        for holder in (getattr(self._client, "connection_pool", None), getattr(self._client, "nodes_manager", None)):
            kwargs = getattr(holder, "connection_kwargs", None) or {}
            secrets += [kwargs.get("password"), kwargs.get("username")]
        for secret in secrets:
            if isinstance(secret, str) and len(secret) >= 3:
                text = text.replace(secret, "<REDACTED>")
        return text

    def _info(self, text: str) -> None:
        self._status.value = f'<div class="{VIEWER_CLASS}"><div class="msnb-muted">{html.escape(text)}</div></div>'

    # -- session list ---------------------------------------------------------

    @_guarded
    def scan(self) -> None:
        """List the sessions matching ``match`` again, from the start (SCAN)."""
        self._session_iter = list_sessions(self._client, self.match or "*", count=self.scan_count)
        self._listed = []
        self._set_options()
        self._status.value = ""
        self.scan_more()

    @_guarded
    def scan_more(self) -> None:
        """Add up to ``rows_per_scan`` more sessions to the list."""
        if self._session_iter is None:
            return
        seen = {sid for _, sid in self._listed}
        new: list[str] = []
        for sid in self._session_iter:
            if sid not in seen:  # SCAN may repeat a key while Redis resizes its table
                seen.add(sid)
                new.append(sid)
                if len(new) >= self.rows_per_scan:
                    break
        else:
            self._session_iter = None
        self._listed += [(row.label(), row.session_id) for row in summarize_sessions(self._client, new)]
        self._set_options()
        done = self._session_iter is None
        self._more_button.disabled = done
        count = len(self._listed)
        noun = "session" if count == 1 else "sessions"
        tail = "all listed" if done else "Scan more for the rest"
        self._scan_status.value = html.escape(f"{count} {noun} matching {self.match or '*'!r} · {tail}")

    def _set_options(self) -> None:
        with self._muted_observers():
            self._session_select.options = list(self._listed)
            self._select_current()

    def _select_current(self) -> None:
        values = [sid for _, sid in self._listed]
        with self._muted_observers():
            self._session_select.index = values.index(self.session_id) if self.session_id in values else None

    def _session_selected(self, change: Any) -> None:
        if not self._muted and change.new:
            self.session_id = change.new

    # -- transcript -----------------------------------------------------------

    @property
    def length(self) -> int:
        """Messages in the open session, as of the last read (0 when none is open)."""
        return self._stats.length if self._stats else 0

    @property
    def pages(self) -> int:
        """Number of pages of the open session (at least 1)."""
        return max(1, math.ceil(self.length / self.page_size))

    @property
    def items(self) -> list[tuple[int, Item]]:
        """The page shown, as ``(index, message or CorruptMessageError)`` pairs, oldest first."""
        return list(self._items)

    def _window(self, page: int) -> tuple[int, int]:
        n, size = self.length, self.page_size
        if self.oldest_first:
            start = page * size
            return start, min(start + size, n) - 1
        end = n - 1 - page * size
        return max(end - size + 1, 0), end

    def _page_of(self, index: int) -> int:
        index = min(max(index, 0), max(self.length - 1, 0))
        return index // self.page_size if self.oldest_first else (self.length - 1 - index) // self.page_size

    @_guarded
    def _open(self) -> None:
        self._history, self._stats, self._items = None, None, []
        self._hits, self._hit_pos = [], -1
        self._cancel_delete()
        self._export_link.value = ""
        self._search_status.value = ""
        self._status.value = ""
        self._select_current()
        sid = self.session_id
        if sid is None:
            self._render_header()
            self._render_transcript()
            return
        with self._muted_observers():
            self.page = 0
        self._history = MemorystoreChatMessageHistory(self._client, sid)
        try:
            self._stats = session_stats(self._client, sid)  # LLEN + TTL + MEMORY USAGE, one round trip
        finally:
            self._render_header()
            self._render_transcript()
        self._load_page()

    @_guarded
    def _load_page(self, *, restat: bool = False) -> None:
        if self._history is None or self.session_id is None:
            return
        if restat or self._stats is None:
            self._stats = session_stats(self._client, self.session_id)
        with self._muted_observers():
            self.page = self.page  # re-clamp to the current length
        start, end = self._window(self.page)
        items = self._history.read_range(start, end) if end >= start else []
        if not items and self.length:  # the list vanished or shrank since LLEN
            self._stats = session_stats(self._client, self.session_id)
            with self._muted_observers():
                self.page = self.page
            start, end = self._window(self.page)
            items = self._history.read_range(start, end)
        self._items = [(start + i, item) for i, item in enumerate(items)]
        self._render_header()
        self._render_transcript()

    def _go_page(self, page: int) -> None:
        self.page = page

    def refresh(self) -> None:
        """Read the open session again (length, TTL, memory and the page shown)."""
        self._status.value = ""
        if self.session_id is None:
            self.scan()
        else:
            self._load_page(restat=True)

    @_guarded
    def jump_to(self, index: int) -> None:
        """Show the page holding message ``index`` (0 is the oldest; negative counts from the end)."""
        if self._history is None:
            raise MemstoreError("open a session first: pick one in the list")
        index = int(index)
        if index < 0:
            index += self.length
        if not 0 <= index < self.length:
            raise MemstoreError(f"message #{index} is out of range: this session has messages #0 to #{self.length - 1}")
        target = self._page_of(index)
        if target == self.page:
            self._load_page()
        else:
            self.page = target

    def _role_chosen(self, change: Any) -> None:
        self.role_filter = change.new or ""

    def _render_header(self) -> None:
        esc = html.escape
        stats = self._stats
        if self.session_id is None or stats is None:
            text = "Pick a session in the list." if self.session_id is None else ""
            self._header.value = f'<div class="{VIEWER_CLASS}"><div class="msnb-muted">{esc(text)}</div></div>'
            self._set_nav(False)
            return
        ttl = "no expiry" if stats.ttl is None else f"expires in {stats.ttl:,} s"
        memory = "memory n/a" if stats.memory is None else f"{stats.memory:,} bytes"
        if self._items:
            a, b = self._items[0][0], self._items[-1][0]
            where = f"#{a:,}–#{b:,}"
        else:
            where = "nothing"
        order = "oldest first" if self.oldest_first else "newest first"
        self._header.value = (
            f'<div class="{VIEWER_CLASS}"><div class="msnb-head"><b>{esc(self.session_id)}</b> · '
            f"{stats.length:,} messages · {esc(ttl)} · {esc(memory)} · showing {where} "
            f"(page {self.page + 1:,} of {self.pages:,}, {order})</div></div>"
        )
        self._set_nav(True)

    def _set_nav(self, open_: bool) -> None:
        at_first, at_last = self.page <= 0, self.page >= self.pages - 1
        self._first_button.disabled = self._prev_button.disabled = not open_ or at_first
        self._next_button.disabled = self._last_button.disabled = not open_ or at_last
        for child in (self._jump_button, self._find_button, self._export_json_button, self._export_md_button):
            child.disabled = not open_

    def _render_transcript(self) -> None:
        role = self.role_filter
        shown = [(i, item) for i, item in self._items if not role or entry_role(item) == role]
        if self.session_id is None:
            empty = "No session open"
        elif role and self._items:
            empty = f"No {role} messages on this page ({len(self._items)} messages hidden by the role filter)"
        else:
            empty = "No messages"
        self._transcript.value = render_page(shown, highlight=self.search or None, empty_text=empty)

    # -- search ---------------------------------------------------------------

    @_guarded
    def find(self) -> None:
        """Search the open session for ``search`` (any case), chunk by chunk, and show the first hit."""
        if self._history is None or self.session_id is None:
            raise MemstoreError("open a session first: pick one in the list")
        if not self.search:
            self._search_status.value = "type something to find"
            return
        bar = self._search_progress
        bar.value, bar.max = 0, max(self.length, 1)
        _hidden(bar, False)

        def progress(done: int, total: int) -> None:
            bar.max, bar.value = max(total, 1), done

        try:
            hits = find_in_session(
                self._client, self.session_id, self.search, chunk_size=self.chunk_size, progress=progress
            )
        finally:
            _hidden(bar, True)
        self._hits = hits if self.oldest_first else hits[::-1]
        if not hits:
            self._hit_pos = -1
            self._search_status.value = html.escape(f"no message contains {self.search!r}")
            self._render_transcript()
            return
        self._hit_pos = 0
        self._show_hit()

    def _step_hit(self, step: int) -> None:
        if not self._hits:
            self.find()
            return
        self._hit_pos = (self._hit_pos + step) % len(self._hits)
        self._show_hit()

    @property
    def hit(self) -> int | None:
        """Index of the search hit shown, or None."""
        return self._hits[self._hit_pos] if self._hits and self._hit_pos >= 0 else None

    @_guarded
    def _show_hit(self) -> None:
        index = self._hits[self._hit_pos]
        self.jump_to(index)
        hidden = self.role_filter and all(i != index or entry_role(m) != self.role_filter for i, m in self._items)
        note = " (hidden by the role filter)" if hidden else ""
        self._search_status.value = html.escape(
            f"hit {self._hit_pos + 1} of {len(self._hits)}: message #{index:,}{note}"
        )

    # -- export ---------------------------------------------------------------

    def _read_all(self) -> list[Item]:
        if self._history is None or self.session_id is None:
            raise MemstoreError("open a session first: pick one in the list")
        total = session_stats(self._client, self.session_id).length
        bar = self._export_progress
        bar.value, bar.max = 0, max(total, 1)
        _hidden(bar, False)
        out: list[Item] = []
        try:
            while len(out) < total:
                chunk = self._history.read_range(len(out), len(out) + self.chunk_size - 1)
                if not chunk:
                    break
                out += chunk
                bar.value = min(len(out), total)
        finally:
            _hidden(bar, True)
        return out

    @_guarded
    def export_json(self) -> str:
        """Offer the whole session as LangChain ``messages_to_dict`` JSON; returns the JSON text too."""
        items = self._read_all()
        messages = [m for m in items if isinstance(m, BaseMessage)]
        text = json.dumps(messages_to_dict(messages), ensure_ascii=False, indent=2)
        skipped = len(items) - len(messages)
        note = f"; {skipped} unreadable entries left out" if skipped else ""
        self._offer(text, "json", "application/json", f"{len(messages):,} messages{note}")
        return text

    @_guarded
    def export_markdown(self) -> str:
        """Offer the whole session as a Markdown transcript; returns the Markdown text too."""
        items = self._read_all()
        text = to_markdown(items, title=self.session_id or "")
        self._offer(text, "md", "text/markdown", f"{len(items):,} messages")
        return text

    def _offer(self, text: str, ext: str, mime: str, what: str) -> None:
        # A data: URL in a plain <a download> works in Colab, JupyterLab,
        # VS Code and Voila alike, with no kernel round trip on click.
        name = (_UNSAFE_FILENAME.sub("_", self.session_id or "session").strip("._") or "session")[:80] + "." + ext
        encoded = text.encode("utf-8")
        size = len(encoded)
        if size > self.max_link_bytes:
            # Browsers and the notebook's message channel choke on links of
            # hundreds of MB; the text is still returned to the caller.
            method = "export_json" if ext == "json" else "export_markdown"
            self._export_link.value = html.escape(
                f"{what}, {size:,} bytes: too large for a download link (over {self.max_link_bytes:,} bytes). "
                f"Save it from code: pathlib.Path({name!r}).write_text(viewer.{method}()), "
                f"or in a terminal: memstore-nb show {self.session_id} --json > {name}"
            )
            return
        data = base64.b64encode(encoded).decode("ascii")
        self._export_link.value = (
            f'<a download="{html.escape(name)}" href="data:{mime};charset=utf-8;base64,{data}" '
            f'target="_blank">Download {html.escape(name)}</a> ({html.escape(what)}, {size:,} bytes)'
        )

    # -- editing --------------------------------------------------------------

    def _require_editable(self, action: str) -> bool:
        if not self._editable:
            self._report(MemstoreError(f"this viewer is read-only: create it with editable=True to {action}"))
            return False
        if self._history is None or self.session_id is None:
            self._report(MemstoreError("open a session first: pick one in the list"))
            return False
        return True

    @_guarded
    def _append_clicked(self) -> None:
        if not self._require_editable("append messages"):
            return
        text = self._append_text.value
        if not text.strip():
            raise MemstoreError("type the message text first")
        assert self._history is not None
        self._history.add_message(_APPEND_ROLES[self._append_role.value](content=text))
        self._append_text.value = ""
        self._stats = session_stats(self._client, self._history.key)
        with self._muted_observers():
            self.page = 0 if not self.oldest_first else self.pages - 1
        self._load_page()
        self._info(f"appended a {self._append_role.value} message as #{self.length - 1:,}")

    @_guarded
    def _delete_clicked(self) -> None:
        if not self._require_editable("delete sessions"):
            return
        assert self._history is not None
        self._ask_delete(len(self._history))

    def _ask_delete(self, count: int) -> None:
        assert self._history is not None
        self._pending_delete = (self._history.key, count)
        noun = "message" if count == 1 else "messages"
        self._confirm_html.value = (
            f"Delete session <b>{html.escape(self.session_id or '')}</b> and its {count:,} {noun}? "
            "This cannot be undone."
        )
        self._confirm_delete_button.description = f"Yes, delete {count:,} {noun}"
        _hidden(self._confirm_box, False)

    @_guarded
    def _confirm_delete_clicked(self) -> None:
        if not self._require_editable("delete sessions"):
            return
        if self._pending_delete is None:
            raise MemstoreError("press 'Delete session…' first; nothing was deleted")
        assert self._history is not None
        if self._pending_delete[0] != self._history.key:
            self._cancel_delete()
            raise MemstoreError("another session is open now; nothing was deleted: press 'Delete session…' again")
        now = len(self._history)
        if now != self._pending_delete[1]:
            self._ask_delete(now)
            raise MemstoreError(f"the session changed meanwhile and now has {now:,} messages; confirm again")
        key = self._history.key
        self._history.clear()
        self._cancel_delete()
        self._listed = [(label, sid) for label, sid in self._listed if sid != key]
        self.session_id = None
        self._set_options()
        self._info(f"deleted session {key!r} ({now:,} messages)")

    def _cancel_delete(self) -> None:
        self._pending_delete = None
        self._confirm_html.value = ""
        _hidden(self._confirm_box, True)

    # -- live follow ----------------------------------------------------------

    def _start_follow(self) -> None:
        if self._follow_thread is not None and self._follow_thread.is_alive():
            return
        stop = threading.Event()
        thread = threading.Thread(target=self._follow_loop, args=(stop,), name="msnb-viewer-follow", daemon=True)
        self._follow_stop, self._follow_thread = stop, thread
        thread.start()

    def _stop_follow(self) -> None:
        stop, thread = self._follow_stop, self._follow_thread
        self._follow_stop = self._follow_thread = None
        if stop is not None:
            stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)

    def _follow_loop(self, stop: threading.Event) -> None:
        while not stop.wait(self.follow_interval):
            self._poll()

    @_guarded
    def _poll(self) -> None:
        """One follow step: LLEN, and when it changed, the header and (on the newest page) the page."""
        if self._history is None or self.session_id is None:
            return
        length = len(self._history)
        if self._stats is not None and length == self._stats.length:
            return
        if length == 0:
            raise SessionNotFound(self.session_id)
        newest = self.page == (self.pages - 1 if self.oldest_first else 0)
        self._stats = session_stats(self._client, self.session_id)
        if newest:
            with self._muted_observers():
                self.page = self.pages - 1 if self.oldest_first else 0
            self._load_page()
        else:
            self._render_header()

    @property
    def following(self) -> bool:
        """Whether the follow thread is running."""
        return self._follow_thread is not None and self._follow_thread.is_alive()

    def close(self) -> None:
        """Stop following and close the widget and its children."""
        self.follow = False
        self._stop_follow()
        owned = [v for k, v in vars(self).items() if k.startswith("_") and isinstance(v, widgets.Widget)]
        for child in [*owned, *self.children]:
            _close_tree(child)
        super().close()

    def __repr__(self) -> str:
        return f"<ChatHistoryViewer session_id={self.session_id!r} match={self.match!r} editable={self.editable}>"


def _close_tree(widget: widgets.Widget) -> None:
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    widget.close()
