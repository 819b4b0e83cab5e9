"""The viewer's "More ▾" panel: the controls a reader does not need to read a session, made on first use.

Jump to a message, the role filter, the order, the page size, Refresh, follow, raw JSON and export sit
in one panel behind a "More ▾" button beside the pager. Its widgets (a dozen comms) are made on the
first click, or the first time code asks for one of its controls (``viewer._order_checkbox``…), so a
viewer that is only read never builds them: that is most of what makes a new viewer cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import traitlets

from .controls import Looks, hidden
from .state import ViewerState

__all__ = ["CONTROLS", "ROLE_CHOICES", "MorePanel"]

ROLE_CHOICES = [("all roles", "")] + [(r, r) for r in ("human", "ai", "system", "tool", "function", "unreadable")]
#: The panel's controls: asking for one of them builds the panel (collapsed).
CONTROLS = (
    "jump_input",
    "jump_button",
    "role_dropdown",
    "order_checkbox",
    "page_size_input",
    "refresh_button",
    "follow_checkbox",
    "raw_toggle",
    "options_row",
)
_WHAT = "jump to a message, role, order, page size, refresh, follow, raw JSON, export"
_LOOK = {
    False: ("More ▾", f"More controls, collapsed: {_WHAT}. Press to show them."),
    True: ("Less ▴", f"More controls, expanded: {_WHAT}. Press to hide them."),
}


class MorePanel:
    """The "More ▾" toggle (always on the page) and the panel it opens (made when first needed).

    The toggle's text and tooltip say whether the panel is open (stock buttons have no
    ``aria-expanded``): "More ▾" and "…collapsed…" when closed, "Less ▴" and "…expanded…" when open.
    Its boxes mirror ``state``'s order, page size, follow and role filter; the buttons call
    ``on_jump(text)``, ``on_refresh()`` and ``on_raw(on)``. ``place(box)`` puts the panel on the
    page when it is made; ``extra()`` makes what goes under the options (the export row).
    """

    jump_input: widgets.Text
    jump_button: widgets.Button
    role_dropdown: widgets.Dropdown
    order_checkbox: widgets.ToggleButton
    page_size_input: widgets.Text
    refresh_button: widgets.Button
    follow_checkbox: widgets.ToggleButton
    raw_toggle: widgets.ToggleButton
    options_row: widgets.HBox

    def __init__(
        self,
        state: ViewerState,
        looks: Looks,
        *,
        place: Callable[[widgets.Widget], None],
        extra: Callable[[], widgets.Widget],
        on_jump: Callable[[str], Any],
        on_refresh: Callable[[], Any],
        on_raw: Callable[[bool], Any],
    ) -> None:
        self.state = state
        self._looks = looks
        self._place = place
        self._extra = extra
        self._on_jump = on_jump
        self._on_refresh = on_refresh
        self._on_raw = on_raw
        self._box: widgets.VBox | None = None
        self.expanded = False
        self.toggle = looks.button(*_LOOK[False])
        self.toggle.on_click(lambda _: self.show(not self.expanded))
        state.observe(self._role_changed, names="role_filter")
        state.observe(self._session_changed, names="session_id")

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes not set yet: the panel's controls before it is built.
        if name in CONTROLS and self.__dict__.get("_box") is None and "state" in self.__dict__:
            self.box  # noqa: B018 - builds the panel, which sets the attribute
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def built(self) -> bool:
        """Whether the panel's widgets exist yet."""
        return self._box is not None

    @property
    def box(self) -> widgets.VBox:
        """The panel, made (collapsed, placed by ``place``) the first time it is asked for."""
        if self._box is None:
            self._box = self._build()
            self._place(self._box)
        return self._box

    def show(self, expanded: bool) -> None:
        """Open (``True``) or close the panel; opening builds it the first time."""
        box = self.box
        self.expanded = expanded
        hidden(box, not expanded)
        self.toggle.description, self.toggle.tooltip = _LOOK[expanded]

    def _session_changed(self, change: Any) -> None:
        # Jumping needs an open session (nothing to do while the panel is not built).
        if self._box is not None:
            self.jump_button.disabled = change.new is None

    def _role_changed(self, change: Any) -> None:
        # Put the role in the dropdown (added to its choices when it is a custom role).
        if self._box is None:
            return
        role, drop = change.new, self.role_dropdown
        if role not in [value for _, value in drop.options]:
            drop.options = [*drop.options, (role, role)]
        drop.value = role

    def _build(self) -> widgets.VBox:
        state, looks = self.state, self._looks
        # Boxes and the role list are labelled (controls.LABELS); toggles carry their own text.
        self.jump_input = looks.text("message # (Enter)", label="message #", width_class="msnb-w210")
        self.jump_button = looks.button("Go to #", "show this message at the top (0 is the oldest; Enter)")
        self.jump_button.disabled = state.session_id is None
        roles = list(ROLE_CHOICES)
        if state.role_filter not in [value for _, value in roles]:
            roles.append((state.role_filter, state.role_filter))
        self.role_dropdown = looks.choice(widgets.Dropdown, "role", options=roles, value=state.role_filter)
        self.order_checkbox = looks.toggle("oldest first", "page from the oldest message")
        self.page_size_input = looks.text("per page (Enter)", label="per page", width_class="msnb-w170")
        self.refresh_button = looks.button("Refresh", "read the session again")
        self.follow_checkbox = looks.toggle("follow", "show new messages as they arrive")
        self.raw_toggle = looks.toggle("raw JSON", "show each message as stored")
        # The boxes mirror the state both ways (a link starts from the state's value).
        traitlets.link((state, "oldest_first"), (self.order_checkbox, "value"))
        traitlets.link((state, "page_size"), (self.page_size_input, "value"), transform=(str, _parse_page_size))
        traitlets.link((state, "follow"), (self.follow_checkbox, "value"))
        self.role_dropdown.observe(lambda c: setattr(state, "role_filter", c.new or ""), names="value")
        self.raw_toggle.observe(lambda c: self._on_raw(bool(c.new)), names="value")
        self.jump_button.on_click(lambda _: self._on_jump(self.jump_input.value or "0"))
        self.jump_input.observe(lambda c: c.new.strip() and self._on_jump(c.new), names="value")  # Enter jumps
        self.refresh_button.on_click(lambda _: self._on_refresh())
        self.options_row = looks.row(
            self.jump_input,
            self.jump_button,
            self.role_dropdown,
            self.order_checkbox,
            self.page_size_input,
            self.refresh_button,
            self.follow_checkbox,
            self.raw_toggle,
        )
        # Its own layout: it hides. On a phone it sits below the transcript (layout.py's msnb-options).
        return widgets.VBox(
            [self.options_row, self._extra()],
            layout=widgets.Layout(display="none"),
            _dom_classes=["msnb-options"],
        )


def _parse_page_size(text: str) -> int:
    try:
        return int(str(text).strip() or 50)
    except ValueError:
        return 50
