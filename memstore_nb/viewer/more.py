"""The viewer's "More ▾" panel: the controls a reader does not need to read a session, made on first use.

Jump to a message, the role filter, the order, the page size, Refresh, follow, raw JSON and export sit
in one panel behind a "More ▾" button beside the pager. Its widgets (a dozen comms) are made on the
first click, or the first time code asks for one of its controls (``viewer._order_checkbox``…), so a
viewer that is only read never builds them: that is most of what makes a new viewer cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import traitlets

from .controls import Looks, hidden

if TYPE_CHECKING:
    from .widget import ChatHistoryViewer

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

    def __init__(self, viewer: ChatHistoryViewer, looks: Looks) -> None:
        self.v = viewer
        self._looks = looks
        self._box: widgets.VBox | None = None
        self.expanded = False
        self.toggle = looks.button(*_LOOK[False])
        self.toggle.on_click(lambda _: self.show(not self.expanded))

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes not set yet: the panel's controls before it is built.
        if name in CONTROLS and self.__dict__.get("_box") is None and "v" in self.__dict__:
            self.box  # noqa: B018 - builds the panel, which sets the attribute
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def built(self) -> bool:
        """Whether the panel's widgets exist yet."""
        return self._box is not None

    @property
    def box(self) -> widgets.VBox:
        """The panel, made (collapsed, under the pager and Find) the first time it is asked for."""
        if self._box is None:
            self._box = self._build()
            reader = self.v._reader
            parts = list(reader.children)
            pager = self.v._view.pager
            at = parts.index(pager) + 1 if pager in parts else len(parts)
            reader.children = (*parts[:at], self._box, *parts[at:])
            self.sync()
        return self._box

    def show(self, expanded: bool) -> None:
        """Open (``True``) or close the panel; opening builds it the first time."""
        box = self.box
        self.expanded = expanded
        hidden(box, not expanded)
        self.toggle.description, self.toggle.tooltip = _LOOK[expanded]

    def sync(self) -> None:
        """Enable what needs an open session (nothing to do while the panel is not built)."""
        if self._box is None:
            return
        closed = self.v.session_id is None
        self.jump_button.disabled = closed
        for child in (self.v._exporter.json_button, self.v._exporter.md_button):
            child.disabled = closed

    def show_role(self, role: str) -> None:
        """Put ``role`` in the dropdown (added to its choices when it is a custom role)."""
        if self._box is None:
            return
        drop = self.role_dropdown
        if role not in [value for _, value in drop.options]:
            drop.options = [*drop.options, (role, role)]
        drop.value = role

    def _build(self) -> widgets.VBox:
        v, looks = self.v, self._looks
        # A `description` only under ipywidgets 8 (see controls.LABELS); toggles carry their own text.
        self.jump_input = looks.text("message # (Enter)", label="message #", width_class="msnb-w210")
        self.jump_button = looks.button("Go to #", "show this message at the top (0 is the oldest; Enter)")
        roles = list(ROLE_CHOICES)
        if v.role_filter not in [value for _, value in roles]:
            roles.append((v.role_filter, v.role_filter))
        self.role_dropdown = looks.choice(widgets.Dropdown, "role", options=roles, value=v.role_filter)
        self.order_checkbox = looks.toggle("oldest first", "page from the oldest message")
        self.page_size_input = looks.text("per page (Enter)", label="per page", width_class="msnb-w170")
        self.refresh_button = looks.button("Refresh", "read the session again")
        self.follow_checkbox = looks.toggle("follow", "show new messages as they arrive")
        self.raw_toggle = looks.toggle("raw JSON", "show each message as stored")
        self.raw_toggle.value = v._view.raw_json
        # The boxes mirror the viewer's traits both ways (a link starts from the trait's value).
        traitlets.link((v, "oldest_first"), (self.order_checkbox, "value"))
        traitlets.link((v, "page_size"), (self.page_size_input, "value"), transform=(str, _parse_page_size))
        traitlets.link((v, "follow"), (self.follow_checkbox, "value"))
        self.role_dropdown.observe(lambda c: setattr(v, "role_filter", c.new or ""), names="value")
        self.raw_toggle.observe(lambda c: v._view.show_raw(bool(c.new)), names="value")
        self.jump_button.on_click(lambda _: v.jump_to(self.jump_input.value or "0"))
        self.jump_input.observe(lambda c: c.new.strip() and v.jump_to(c.new), names="value")  # Enter jumps
        self.refresh_button.on_click(lambda _: v.refresh())
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
            [self.options_row, v._exporter.widget],
            layout=widgets.Layout(display="none"),
            _dom_classes=["msnb-options"],
        )


def _parse_page_size(text: str) -> int:
    try:
        return int(str(text).strip() or 50)
    except ValueError:
        return 50
