"""Search marks and code highlighting: case-insensitive marks that keep escaping; Pygments classes only."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest
from helpers.html import (
    ANY_TEXT,
    assert_safe,
    by_class,
    by_class_html,
    elements,
    text,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import (
    AIMessage,
    HumanMessage,
)

from memstore_nb.render import (
    render_markdown,
    render_message,
    render_page,
)
from memstore_nb.render.highlight import HIGHLIGHT_LIMIT, PAGE_HIGHLIGHT_BUDGET, TOKEN_CLASSES, highlight_budget

# -- highlight -----------------------------------------------------------------


def test_highlight_is_case_insensitive_and_text_only() -> None:
    out = render_message(HumanMessage("Redis is **REDIS** and [redis](https://redis.io)"), 0, highlight="redis")
    assert_safe(out)
    marks = re.findall(r"<mark>(.*?)</mark>", by_class_html(out, "msnb-content"))
    assert marks == ["Redis", "REDIS", "redis"]
    assert [a["href"] for t, a in elements(out) if t == "a"] == ["https://redis.io"]


@pytest.mark.parametrize(
    ("content", "term", "marked"),
    [
        ("a <B> & b", "<b>", "&lt;B&gt;"),
        ("fish & chips", "amp", None),
        ("x &amp; y", "&", "&amp;"),
        ("x &amp;amp; y", "&amp;", "&amp;amp;"),
        ('say "hi"', '"hi"', "&quot;hi&quot;"),
        ("the class of strong", "class", "class"),
        ("a.b*c", ".b*", ".b*"),
    ],
)
def test_highlight_keeps_escaping(content: str, term: str, marked: str | None) -> None:
    out = render_message(HumanMessage(content), 0, highlight=term)
    assert_safe(out)
    body = by_class_html(out, "msnb-content")
    assert re.findall(r"<mark>(.*?)</mark>", body) == ([marked] if marked else [])
    assert text(out) == text(render_message(HumanMessage(content), 0))


def test_highlight_reaches_tool_calls_but_not_raw_json() -> None:
    ai = AIMessage("", tool_calls=[{"name": "lookup", "args": {"q": "Paris"}, "id": "c", "type": "tool_call"}])
    out = render_message(ai, 0, highlight="paris")
    assert out.count("<mark>") == 1
    assert "<mark>Paris</mark>" in by_class_html(out, "msnb-json")


@pytest.mark.parametrize("term", [None, "", "   "])
def test_blank_highlight_marks_nothing(term: str | None) -> None:
    assert "<mark>" not in render_message(HumanMessage("a b"), 0, highlight=term)


# -- code highlighting ---------------------------------------------------------


def test_fenced_code_is_highlighted_with_token_classes_only() -> None:
    source = "```python\n@cache\ndef f(x: int) -> str:\n    return '</code></pre><script>alert(1)</script>'  # é\n```"
    out = render_markdown(source)
    assert_safe(out)
    tags = elements(out)
    assert tags[:2] == [("pre", {"class": "msnb-code"}), ("code", {"class": "language-python msnb-hl"})]
    classes = {a["class"] for t, a in tags[2:]}
    assert {t for t, _ in tags[2:]} == {"span"}
    assert {"msnb-tk-keyword", "msnb-tk-function", "msnb-tk-string", "msnb-tk-comment"} <= classes
    assert classes <= {f"msnb-tk-{token}" for token in TOKEN_CLASSES}
    assert "style" not in out and "<script" not in out
    assert text(out) == source.split("\n", 1)[1].rsplit("\n", 1)[0] + "\n\n"  # the code, character for character


@pytest.mark.parametrize(
    ("lang", "highlighted"),
    [
        ("python", True),
        ("PY", True),
        ("js", True),
        ("c++", True),
        ("C#", True),
        ("bash", True),
        ("json", True),
        ("text", False),
        ("plaintext", False),
        ("no-such-language", False),
        ("", False),
        ('py"><img src=x onerror=alert(1)>', False),  # reduced to "pyimgsrcxonerroralert1": unknown
    ],
)
def test_fence_language_picks_the_lexer_and_never_guesses(lang: str, highlighted: bool) -> None:
    out = render_markdown(f"```{lang}\nif (a < b) {{ return 'x'; }}\n```")
    assert_safe(out)
    assert ("msnb-hl" in out) is highlighted
    assert bool(by_class(out, "msnb-tk-keyword") + by_class(out, "msnb-tk-string")) is highlighted
    assert text(out) == "if (a < b) { return 'x'; }\n\n"


def test_huge_code_block_is_plain() -> None:
    code = "x = 1\n" * (HIGHLIGHT_LIMIT // 6 + 1)
    out = render_markdown(f"```python\n{code}```")
    assert elements(out) == [("pre", {"class": "msnb-code"}), ("code", {"class": "language-python"})]
    assert text(out) == code + "\n"


def test_pygments_is_imported_only_for_a_code_block() -> None:
    script = (
        "import sys\n"
        "from langchain_core.messages import AIMessage\n"
        "from memstore_nb.render import render_page, viewer_css\n"
        "viewer_css(); render_page([(0, AIMessage('plain *text*\\n\\n```\\nno language\\n```'))])\n"
        "print('pygments' in sys.modules)\n"
        "render_page([(0, AIMessage('```python\\nx = 1\\n```'))])\n"
        "print('pygments' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.split() == ["False", "True"]


def test_a_page_highlights_within_its_budget_and_reuses_the_cache() -> None:
    block = "```python\n" + "value = compute(value)  # step\n" * 60 + "```"  # about 2,000 characters of code
    n = PAGE_HIGHLIGHT_BUDGET // 2_000 + 3
    items: list[tuple[int, Any]] = [(i, AIMessage(block.replace("step", f"step {i}"))) for i in range(n)]
    budget, expected = PAGE_HIGHLIGHT_BUDGET, 0
    for _, message in items:  # each block is highlighted while what is left of the budget covers it
        size = len(str(message.content).split("\n", 1)[1].rsplit("\n", 1)[0]) + 1
        if size <= budget:
            budget, expected = budget - size, expected + 1
    with highlight_budget(0):  # nothing new may be highlighted: the page below starts from a cold cache
        assert "msnb-hl" not in render_markdown(items[0][1].content)
    page = render_page(items, css=False)
    assert_safe(page)
    highlighted = page.count("language-python msnb-hl")
    assert highlighted == expected and 0 < expected < n
    assert page.count('class="language-python"') == n - highlighted  # the rest is plain, still labelled
    # Once highlighted, a block costs nothing: rendering again highlights the same ones and more.
    again = render_page(items, css=False)
    assert again.count("language-python msnb-hl") > highlighted
    assert render_markdown(items[0][1].content) == render_markdown(items[0][1].content)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ANY_TEXT.filter(lambda s: "`" not in s and "\r" not in s and "\x00" not in s),
    st.sampled_from(["python", "html", "javascript", "json", "bash", "c++", "sql", "xml", "diff"]),
)
def test_any_code_in_any_known_language_is_escaped_and_kept_verbatim(code: str, lang: str) -> None:
    out = render_markdown(f"```{lang}\n{code}\n```")
    assert_safe(out)
    tags = elements(out)
    assert tags[0] == ("pre", {"class": "msnb-code"})
    assert {t for t, _ in tags[2:]} <= {"span"}
    assert all(a["class"].startswith("msnb-tk-") for _, a in tags[2:])
    assert text(out) == code + "\n\n"
