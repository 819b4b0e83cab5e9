"""Markdown in messages: links, images, raw HTML, fences and tables, rendered safely."""

from __future__ import annotations

import pytest
from helpers.html import (
    assert_safe,
    elements,
    text,
)

from memstore_nb.render import (
    render_markdown,
)

# -- Markdown ------------------------------------------------------------------


def test_markdown_links_get_rel_and_target() -> None:
    out = render_markdown('[docs](https://example.com/a?b=1&c=2 "T") and <mailto:x@example.com>')
    links = [a for t, a in elements(out) if t == "a"]
    assert links[0] == {
        "href": "https://example.com/a?b=1&c=2",
        "title": "T",
        "rel": "noopener noreferrer nofollow",
        "target": "_blank",
    }
    assert links[1]["href"] == "mailto:x@example.com"


@pytest.mark.parametrize(
    "source",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](jav&#x61;script:alert(1))",
        "[x](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1))",
        "[x](javascript&colon;alert(1))",
        "[x](java\\script:alert(1))",
        "[x](<java\tscript:alert(1)>)",
        "[x](<java\nscript:alert(1)>)",
        "[x]( javascript:alert(1))",
        "[x](%6Aavascript:alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](data:image/svg+xml;base64,PHN2Zz4=)",
        "[x](file:///etc/passwd)",
        "[x](//evil.example/a)",
        "[x](relative/path)",
        "[x](#fragment)",
        "<javascript:alert(1)>",
        "[x][r]\n\n[r]: javascript:alert(1)",
        "![x](javascript:alert(1))",
    ],
)
def test_markdown_drops_unsafe_links(source: str) -> None:
    out = render_markdown(source)
    assert_safe(out)
    assert not [a for t, a in elements(out) if t == "a" and "href" in a], out
    assert "x" in text(out) or "javascript" in text(out)


def test_markdown_images_become_links() -> None:
    out = render_markdown('![a cat](https://example.com/cat.png "t")')
    assert_safe(out)
    assert [t for t, _ in elements(out)] == ["p", "a"]
    assert elements(out)[1][1]["href"] == "https://example.com/cat.png"
    assert text(out).strip() == "[image: a cat]"


def test_markdown_raw_html_is_text() -> None:
    out = render_markdown("<div onclick='x'>hi</div>\n\ninline <b>bold</b> <!-- c -->")
    assert_safe(out)
    assert "<div onclick='x'>hi</div>" in text(out) and "<b>bold</b>" in text(out)


def test_fenced_code_language_is_sanitized() -> None:
    out = render_markdown('```py"onmouseover="alert(1) x\ncode\n```')
    assert_safe(out)
    assert elements(out)[1] == ("code", {"class": "language-pyonmouseoveralert1"})
    assert render_markdown("```\nplain\n```") == '<pre class="msnb-code"><code>plain\n</code></pre>\n'


def test_tables_strikethrough_and_no_style_attribute() -> None:
    out = render_markdown("| a | b |\n|:-|-:|\n| 1 | ~~2~~ |")
    assert_safe(out)
    assert ("td", {"class": "msnb-align-right"}) in elements(out)
    assert "s" in [t for t, _ in elements(out)]


def test_huge_text_is_shown_verbatim() -> None:
    big = "**x** " * 20_000
    out = render_markdown(big)
    assert elements(out) == [("div", {"class": "msnb-plain"}), ("p", {})]
    assert text(out) == big + "\n"  # every character, as written


def test_huge_text_reads_as_paragraphs_not_one_monospace_box() -> None:
    """Issue 20 item 22: a long answer past the Markdown limit was one <pre> (monospace, 24em high)."""
    paragraphs = [f"Paragraph {i}: " + "the carrier's hub was over capacity; " * 60 for i in range(30)]
    out = render_markdown("\n\n".join(paragraphs) + "\n\n<b>not markup</b>")
    assert "<pre" not in out and out.count("<p>") == 31
    assert elements(out)[:2] == [("div", {"class": "msnb-plain"}), ("p", {})]
    assert "&lt;b&gt;not markup&lt;/b&gt;" in out  # still escaped text, every character kept
