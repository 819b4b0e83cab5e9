"""What the renderer may emit, and how tests read and check its HTML."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import html5lib
from hypothesis import strategies as st
from langchain_core.messages import BaseMessage

from memstore_nb.render import viewer_css

# -- what the renderer may emit ------------------------------------------------

ALLOWED_TAGS = {
    "div", "span", "a", "bdi", "details", "summary", "pre", "code", "mark", "p", "br", "hr", "em", "strong", "s",
    "ul", "ol", "li", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
FORBIDDEN_TAGS = {
    "script", "style", "svg", "math", "iframe", "object", "embed", "img", "form", "input", "base",
    "link", "meta", "frame", "frameset", "video", "audio", "source", "textarea", "button", "template",
}  # fmt: skip
ALLOWED_ATTRS = {"class", "href", "rel", "target", "id", "data-index", "data-target", "dir", "open", "title", "start"}
SAFE_HREF = re.compile(
    r"#msnb-call-[0-9a-f]{16}|#msnb-msg-\d+|(?:https?://|mailto:)[^\x00-\x20\x7f]*|data:image/(?:png|jpe?g|gif|webp);base64,[A-Za-z0-9+/=]+",
    re.IGNORECASE,
)
SAFE_CLASS = re.compile(r"(?:msnb-[a-z0-9-]+|language-[A-Za-z0-9_+.#-]+)")


def elements(fragment: str) -> list[tuple[str, dict[str, str]]]:
    """(tag, attributes) of every element, as a browser's parser (WHATWG, html5lib) builds them."""
    root = html5lib.parseFragment(fragment, namespaceHTMLElements=False)
    out = []
    for el in root.iter():
        if el is root:
            continue
        out.append((str(el.tag), {str(k): str(v) for k, v in el.attrib.items()}))
    return out


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {k: v or "" for k, v in attrs}))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def stdlib_elements(fragment: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Collector()
    parser.feed(fragment)
    parser.close()
    return parser.found


def text(fragment: str, *, skip: frozenset[str] = frozenset({"msnb-raw"})) -> str:
    """Text content, leaving out elements with a class in ``skip`` (the raw-JSON toggle by default)."""
    root = html5lib.parseFragment(fragment, namespaceHTMLElements=False)

    def walk(el: Any) -> str:
        parts = [el.text or ""]
        for child in el:
            if not skip & set(child.attrib.get("class", "").split()):
                parts.append(walk(child))
            parts.append(child.tail or "")
        return "".join(parts)

    return walk(root)


def assert_safe(fragment: str, *, css: bool = False) -> None:
    """Nothing executable, no style, only allowlisted tags, attributes and links, per two parsers."""
    if css:
        style = viewer_css()
        assert fragment.count("<style") == 1 and fragment.startswith(style)
        fragment = fragment[len(style) :]
    for parse in (elements, stdlib_elements):
        for tag, attrs in parse(fragment):
            assert tag not in FORBIDDEN_TAGS, (tag, fragment)
            assert tag in ALLOWED_TAGS, (tag, fragment)  # also catches namespaced SVG/MathML "{ns}tag"
            for name, value in attrs.items():
                assert not name.startswith("on"), (name, fragment)
                assert name in ALLOWED_ATTRS, (name, fragment)
                if name == "href":
                    assert tag == "a" and SAFE_HREF.fullmatch(value), (value, fragment)
                elif name == "class":
                    assert all(SAFE_CLASS.fullmatch(word) for word in value.split()), (value, fragment)
                elif name == "id":
                    assert re.fullmatch(r"msnb-call-[0-9a-f]{16}|msnb-msg-\d+", value), (value, fragment)
                elif name in {"data-index", "data-target"}:
                    assert re.fullmatch(r"-?\d+", value), value
                elif name == "dir":
                    assert value == "auto"
                elif name == "rel":
                    assert value == "noopener noreferrer nofollow"
                elif name == "target":
                    assert value == "_blank"
                elif name == "open":
                    assert value == ""
                elif name == "start":  # ordered lists that do not begin at 1
                    assert value.isdigit()
                elif name == "title":  # Markdown link titles
                    assert tag == "a"


def outer(fragment: str) -> dict[str, str]:
    return elements(fragment)[0][1]


def by_class(fragment: str, klass: str) -> list[tuple[str, dict[str, str]]]:
    return [(t, a) for t, a in elements(fragment) if klass in a.get("class", "").split()]


def by_class_html(fragment: str, klass: str) -> str:
    match = re.search(rf'<(\w+) class="{klass}"[^>]*>(.*?)</\1>', fragment, re.S)
    assert match, f"no .{klass} in {fragment}"
    return match.group(2)


def message_text_of(message: BaseMessage) -> str:
    return str(message.content).replace("*", "")


# Text for property tests: any UTF-8, and markup-heavy strings that look like attacks.
PLAIN_TEXT = st.text(st.characters(codec="utf-8"), max_size=200)
MARKUP_TEXT = st.text(alphabet=st.sampled_from(list("<>&\"'`=/!-[]()*_#:; \n\tjavascript:onerror<svg>")), max_size=80)
ANY_TEXT = st.one_of(PLAIN_TEXT, MARKUP_TEXT)
