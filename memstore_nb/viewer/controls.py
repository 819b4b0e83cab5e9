"""The viewer's stock controls, made cheaply: shared layouts and styles, and progress bars made on first use."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import ipywidgets as widgets

__all__ = ["LABELS", "Looks", "Note", "Progress", "hidden", "hidden_by_class", "labelled"]

# Every box and list gets a `description`: a visible <label> that names it for assistive technology too.
# ipywidgets 7 typesets a description with MathJax 2, which threw on Voila's page (a MathJax 3 object, no
# Hub); the viewer page's template gives it a no-op Hub, so ipywidgets 7 is labelled as well.
LABELS = True

_STYLE_CLASS: dict[type, Any] = {}  # widget class -> the class of its style (they differ between ipywidgets 7 and 8)


def labelled(label: str) -> dict[str, Any]:
    """``description`` keyword arguments for an accessible label, where that is safe (ipywidgets 8)."""
    return {"description": label} if LABELS else {}


def hidden(widget: widgets.Widget, hide: bool) -> None:
    """Hide or show ``widget`` (its space too). Only for widgets with a layout of their own."""
    widget.layout.display = "none" if hide else None


def hidden_by_class(widget: widgets.DOMWidget, hide: bool) -> None:
    """Hide or show ``widget`` with the viewer's ``msnb-hidden`` class (for widgets with a shared layout)."""
    if hide:
        widget.add_class("msnb-hidden")
    else:
        widget.remove_class("msnb-hidden")


class Looks:
    """Makes the viewer's controls, sharing one Layout and one style per look among them.

    A stock widget otherwise makes a Layout and a style widget of its own, and every widget is a
    comm (a message to the front end, a model in the page): sharing them makes a viewer about a
    third as many widgets. Sizes (32 px buttons, wrapping rows, boxes as wide as their column) come
    from the viewer's stylesheet (layout.py's ``LAYOUT_CSS``), so the controls share the one empty
    Layout. Widgets that hide (``hidden``) get a Layout of their own.
    """

    def __init__(self) -> None:
        self._layouts: dict[tuple[tuple[str, str], ...], widgets.Layout] = {}
        self._styles: dict[tuple[Any, ...], widgets.Widget] = {}

    def layout(self, **spec: str) -> widgets.Layout:
        """The shared Layout with these settings (never hide a widget that uses it)."""
        key = tuple(sorted(spec.items()))
        if key not in self._layouts:
            self._layouts[key] = widgets.Layout(**spec)
        return self._layouts[key]

    def style(self, kind: type[widgets.Widget], **spec: str) -> dict[str, Any]:
        """``style=`` for a widget of class ``kind``: one shared style per style class and settings."""
        if kind not in _STYLE_CLASS:
            trait = kind.class_traits().get("style")
            _STYLE_CLASS[kind] = None if trait is None else trait.klass
        klass = _STYLE_CLASS[kind]
        if klass is None:
            return {}
        key = (klass, *sorted(spec.items()))
        if key not in self._styles:
            self._styles[key] = klass(**spec)
        return {"style": self._styles[key]}

    def close(self) -> None:
        """Close the shared layouts and styles (their widgets are closed already)."""
        for widget in [*self._layouts.values(), *self._styles.values()]:
            widget.close()

    def _named(self, kind: type[widgets.Widget], label: str) -> dict[str, Any]:
        return {**labelled(label), **self.style(kind, description_width="initial")} if label and LABELS else {}

    def button(self, description: str, tooltip: str, *, style: str = "") -> widgets.Button:
        """A button whose tooltip doubles as its accessible description (32 px tall)."""
        return widgets.Button(
            description=description,
            tooltip=tooltip,
            button_style=style,
            layout=self.layout(),
            **self.style(widgets.Button),
        )

    def toggle(self, description: str, tooltip: str) -> widgets.ToggleButton:
        """An on/off button, as tall as the buttons."""
        return widgets.ToggleButton(
            value=False,
            description=description,
            tooltip=tooltip,
            layout=self.layout(),
            **self.style(widgets.ToggleButton),
        )

    def text(
        self,
        placeholder: str,
        *,
        label: str = "",
        width_class: str = "",
        value: str = "",
        on_enter: Callable[[str], Any] | None = None,
    ) -> widgets.Text:
        """A text box that reports its value on Enter (and on leaving it), not on every key.

        With ``on_enter``, the value follows every key instead, and ``on_enter(value)`` is called on
        Enter only: leaving the box does nothing (a search must not run because focus moved).
        ``width_class`` gives it a fixed width from the viewer's stylesheet (``msnb-w210``, ``msnb-w170``).
        """
        box = widgets.Text(
            value=value,
            placeholder=placeholder,
            continuous_update=on_enter is not None,
            layout=self.layout(),
            _dom_classes=[width_class] if width_class else [],
            **(self._named(widgets.Text, label) or self.style(widgets.Text)),
        )
        if on_enter is not None:
            with warnings.catch_warnings():
                # ipywidgets 8 deprecates on_submit in favour of continuous_update=False, which also fires
                # when the box loses focus: Enter alone is what is wanted here (7.7.1 and 8 both send it).
                warnings.simplefilter("ignore", DeprecationWarning)
                box.on_submit(lambda widget: on_enter(widget.value))
        return box

    def html(self, value: str = "", *, classes: tuple[str, ...] = (), **layout: str) -> widgets.HTML:
        """An HTML widget with these CSS classes (a Layout of its own only when ``layout`` settings are given)."""
        return widgets.HTML(
            value=value,
            layout=widgets.Layout(**layout) if layout else self.layout(),
            _dom_classes=list(classes),
            **self.style(widgets.HTML),
        )

    def choice(self, kind: type[widgets.Widget], label: str, **kwargs: Any) -> Any:
        """A Dropdown or Select with an accessible label (ipywidgets 8), full width of its box."""
        kwargs.setdefault("layout", self.layout())
        return kind(**kwargs, **(self._named(kind, label) or self.style(kind)))

    def row(self, *children: widgets.Widget, classes: tuple[str, ...] = ()) -> widgets.HBox:
        """Children side by side, wrapping onto more lines on a narrow screen."""
        return widgets.HBox(list(children), layout=self.layout(), _dom_classes=["msnb-row", *classes])


class Progress:
    """A progress bar for a long step, made the first time one runs and added at the end of ``host``.

    Most viewers never search, filter roles or export; they never pay for the bar.
    """

    def __init__(self, host: widgets.Box) -> None:
        self._host = host
        self.bar: widgets.IntProgress | None = None

    @contextmanager
    def running(self, total: int) -> Iterator[Callable[[int, int], None]]:
        """Show the bar for the ``with`` block; the block reports ``(done, total)`` to the callback."""
        if self.bar is None:
            self.bar = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width="120px"))
            self._host.children = (*self._host.children, self.bar)
        bar = self.bar
        bar.value, bar.max = 0, max(total, 1)
        hidden(bar, False)

        def progress(done: int, total: int) -> None:
            bar.max, bar.value = max(total, 1), done

        try:
            yield progress
        finally:
            hidden(bar, True)


class Note:
    """A line of HTML (a hit count, a download link) made the first time it has something to say."""

    def __init__(self, looks: Looks, host: widgets.Box) -> None:
        self._looks = looks
        self._host = host
        self._widget: widgets.HTML | None = None

    @property
    def widget(self) -> widgets.HTML:
        """The HTML widget, made (at the end of ``host``) when first asked for."""
        if self._widget is None:
            self._widget = self._looks.html()
            self._host.children = (*self._host.children, self._widget)
        return self._widget

    def say(self, value: str) -> None:
        """Show ``value`` (HTML); saying nothing makes no widget."""
        if value or self._widget is not None:
            self.widget.value = value
