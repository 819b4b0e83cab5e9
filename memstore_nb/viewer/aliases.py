"""Flat names for the viewer's controls (``viewer._find_button``…), as earlier versions had them.

Tests, notebooks and users' own code reach the controls through these names; the parts own the
widgets. Each name is a read-only property that looks the control up in its part when used, so
controls a part makes on first use (progress bars) need no bookkeeping here.
"""

from __future__ import annotations

import operator
from typing import Any

__all__ = ["ALIASES", "Aliases"]

#: flat name -> dotted path from the viewer
ALIASES = {
    "_status": "_status_line.widget",
    "_match_text": "_table.match_text",
    "_scan_button": "_table.scan_button",
    "_more_button": "_table.more_button",
    "_scan_status": "_table.status",
    "_session_select": "_table.select",
    "_filter_text": "_table.filter_text",
    "_header": "_view.header",
    "_transcript": "_view.html",
    "_first_button": "_view.first_button",
    "_prev_button": "_view.prev_button",
    "_next_button": "_view.next_button",
    "_last_button": "_view.last_button",
    "_jump_input": "_more.jump_input",
    "_jump_button": "_more.jump_button",
    "_order_checkbox": "_more.order_checkbox",
    "_page_size_input": "_more.page_size_input",
    "_refresh_button": "_more.refresh_button",
    "_follow_checkbox": "_more.follow_checkbox",
    "_role_dropdown": "_more.role_dropdown",
    "_raw_toggle": "_more.raw_toggle",
    "_more_toggle": "_more.toggle",
    "_search_text": "_finder.text",
    "_find_button": "_finder.find_button",
    "_prev_hit_button": "_finder.prev_button",
    "_next_hit_button": "_finder.next_button",
    "_search_progress": "_finder.progress",
    "_search_status": "_finder.status",
    "_export_json_button": "_exporter.json_button",
    "_export_md_button": "_exporter.md_button",
    "_export_progress": "_exporter.progress",
    "_export_link": "_exporter.link",
    # Only on viewers built with editable=True (AttributeError otherwise).
    "_edit_box": "_editor.widget",
    "_append_role": "_editor.role",
    "_append_text": "_editor.text",
    "_append_button": "_editor.append_button",
    "_delete_button": "_editor.delete_button",
    "_confirm_box": "_editor.confirm_box",
    "_confirm_html": "_editor.confirm_html",
    "_confirm_delete_button": "_editor.confirm_button",
    "_cancel_delete_button": "_editor.cancel_button",
}


def _alias(name: str, path: str) -> property:
    part, attr = path.split(".")
    get = operator.attrgetter(attr)

    def read(viewer: Any) -> Any:
        holder = getattr(viewer, part)
        if holder is None:
            raise AttributeError(f"{name} needs {part}, which this viewer does not have (editable=False)")
        return get(holder)

    return property(read, doc=f"``{path}`` (read-only)")


class Aliases:
    """Mixin: every name of :data:`ALIASES` as a read-only property (code in this package uses the parts)."""


for _name, _path in ALIASES.items():
    setattr(Aliases, _name, _alias(_name, _path))
