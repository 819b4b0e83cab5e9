"""The viewer's stylesheet: scoped selectors, light and dark themes, readable focus and selection."""

from __future__ import annotations

import re
from typing import Any

import tinycss2

from memstore_nb.render import (
    viewer_css,
)
from memstore_nb.render.highlight import TOKEN_CLASSES

# -- CSS -----------------------------------------------------------------------


def _selectors(rules: list[Any]) -> list[str]:
    found = []
    for rule in rules:
        assert rule.type in {"qualified-rule", "at-rule"}, rule
        if rule.type == "at-rule":
            assert rule.lower_at_keyword == "media", rule.at_keyword  # no @import, @font-face, @keyframes
            found += _selectors(tinycss2.parse_blocks_contents(rule.content, skip_comments=True, skip_whitespace=True))
        else:
            found += [s.strip() for s in tinycss2.serialize(rule.prelude).split(",")]
    return found


_SCOPES = {".msnb-viewer", ".msnb-viewer-widget", ".msnb-page", ".msnb-scroll", ".msnb-page.msnb-page"}


def _css_rules() -> list[Any]:
    css = viewer_css()
    return tinycss2.parse_stylesheet(css[len("<style>") : -len("</style>")], skip_comments=True, skip_whitespace=True)


def test_css_every_selector_is_scoped() -> None:
    css = viewer_css()
    assert css.startswith("<style>") and css.endswith("</style>") and css.count("<") == 2
    assert viewer_css() is css  # built once
    selectors = _selectors(_css_rules())
    assert len(selectors) > 20
    for selector in selectors:
        words = re.split(r"\s+", selector)
        roots = [i for i, word in enumerate(words) if word in _SCOPES]  # the class itself, not .msnb-viewer-x
        assert roots, selector
        after = words[roots[0] + 1 :]
        assert not {"~", "+"} & set(after), selector  # siblings would leave the viewer
        for word in words:
            assert not re.match(r"(?:body|html|\*|:root)\b", word.lstrip(">")), selector
        assert "*" not in selector, selector


def test_css_themes() -> None:
    css = viewer_css()
    assert "var(--jp-layout-color1, #ffffff)" in css and "var(--jp-layout-color1, #1e1e1e)" in css
    assert "@media (prefers-color-scheme: dark)" in css
    for hook in ('[data-jp-theme-light="false"] .msnb-viewer', ".theme-dark .msnb-viewer"):
        assert hook in css
    for role in ("human", "ai", "system", "tool", "function", "chat", "unknown"):
        assert f".msnb-viewer .msnb-role-{role} {{ --msnb-accent:" in css


def _media_dark_blocks() -> list[str]:
    return [
        tinycss2.serialize(rule.content)
        for rule in _css_rules()
        if rule.type == "at-rule" and "prefers-color-scheme: dark" in tinycss2.serialize(rule.prelude)
    ]


def test_css_page_goes_dark_when_the_browser_prefers_dark() -> None:
    blocks = _media_dark_blocks()
    assert len(blocks) == 2
    page = blocks[1]
    # On the page the dark JupyterLab variables are set (stock widgets follow), after the
    # light-theme hook and at least as specific, so Voilà's light theme cannot force white.
    assert page.lstrip().startswith(".msnb-page.msnb-page, .msnb-page .msnb-viewer")
    assert "--jp-layout-color1: #1b1f24" in page and "--jp-widgets-input-background-color: #1b1f24" in page
    assert "color-scheme: dark" in page
    css = viewer_css()
    assert css.index('[data-jp-theme-light="true"] .msnb-viewer') < css.index(".msnb-page.msnb-page")
    # Every background the palette uses is a theme variable first, so ?voila-theme=dark wins.
    assert not re.search(r"--msnb-bg2?: #", css)


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_css_focus_ring_and_find_outline_are_visible_in_both_themes() -> None:
    css = viewer_css()
    assert ".msnb-viewer :focus-visible { outline: 2px solid var(--msnb-focus)" in css
    assert ".msnb-page :focus-visible { outline: 2px solid var(--msnb-focus) !important" in css
    assert ".msnb-viewer .msnb-hit-current { outline: 3px solid var(--msnb-hit)" in css
    light_bgs = ["#ffffff", "#f6f8fa"]
    dark_bgs = ["#1e1e1e", "#111418", "#1b1f24", "#111111", "#212121"]  # ours and JupyterLab's dark layouts
    for var in ("--msnb-focus", "--msnb-hit"):
        values = re.findall(rf"{var}: (#[0-9a-f]{{6}});", css)
        light, dark = values[0], values[1]  # the light block comes first, then the dark media block
        assert all(_contrast(light, bg) >= 3 for bg in light_bgs), (var, light)
        assert all(_contrast(dark, bg) >= 3 for bg in dark_bgs), (var, dark)


def test_css_selected_list_row_reads_well_in_both_themes() -> None:
    """The session table's selected row: our colours (not the browser's), text 4.5:1, row and ring 3:1."""
    css = viewer_css()
    rule = re.search(r"\.msnb-viewer-widget select\[size\] option:checked, [^{]*\{([^}]*)\}", css)
    assert rule, "no rule for the selected row"
    body = rule.group(1)
    assert "color: var(--msnb-selected-fg)" in body and "-webkit-text-fill-color: var(--msnb-selected-fg)" in body
    # Chromium paints a focused list's selection with !important UA colours: an image covers them.
    assert "linear-gradient(var(--msnb-selected-bg), var(--msnb-selected-bg))" in body
    bg_light, bg_dark = re.findall(r"--msnb-selected-bg: (#[0-9a-f]{6});", css)[:2]
    fg_light, fg_dark = re.findall(r"--msnb-selected-fg: (#[0-9a-f]{6});", css)[:2]
    focus_light, focus_dark = re.findall(r"--msnb-focus: (#[0-9a-f]{6});", css)[:2]
    assert _contrast(fg_light, bg_light) >= 4.5 and _contrast(fg_dark, bg_dark) >= 4.5
    light_lists = ["#ffffff", "#f6f8fa"]
    dark_lists = ["#1b1f24", "#1e1e1e", "#111418", "#111111", "#212121", "#262b31"]  # ours and JupyterLab's
    assert all(_contrast(bg_light, b) >= 3 and _contrast(focus_light, b) >= 3 for b in light_lists)
    assert all(_contrast(bg_dark, b) >= 3 and _contrast(focus_dark, b) >= 3 for b in dark_lists)
    # The colours follow the dark theme in JupyterLab, the page's ?voila-theme=dark and the browser's preference.
    dark_block = _palette_block(css, '[data-jp-theme-light="false"] .msnb-viewer-widget')
    assert f"--msnb-selected-bg: {bg_dark};" in dark_block and f"--msnb-focus: {focus_dark};" in dark_block
    assert f"--msnb-selected-bg: {bg_dark};" in _palette_block(css, ".theme-dark .msnb-page")
    media = css.split("@media (prefers-color-scheme: dark) {", 1)[1]
    assert media.startswith(" .msnb-viewer, .msnb-viewer-widget, .msnb-page {") and bg_dark in media.split("}")[0]
    assert ".msnb-viewer-widget :focus-visible { outline: 2px solid var(--msnb-focus)" in css


def _palette_block(css: str, selector: str) -> str:
    start = css.index(selector)
    return css[start : css.index("}", start)]


def test_css_page_targets_scroll_area_and_code() -> None:
    css = viewer_css()
    assert "--jp-widgets-inline-height: 32px" in css
    assert ".msnb-page .jupyter-button, .msnb-page .widget-button, .msnb-page .msnb-target { min-height: 32px;" in css
    assert re.search(r"\.msnb-page \.widget-select select option, [^{]*\{ min-height: 32px;", css)
    assert re.search(r"\.msnb-scroll \{ height: [^;]+; overflow: hidden;", css)
    # The page's own <div class="msnb-viewer"> scrolls: a new element each render, so it starts at the top.
    assert re.search(r"\.msnb-scroll \.widget-html-content > \.msnb-viewer \{ height: 100%; overflow-y: auto;", css)
    code = re.search(r"\.msnb-viewer pre\.msnb-code \{([^}]*)\}", css)
    assert code and "white-space: pre;" in code.group(1) and "overflow-x: auto" in code.group(1)
    for token in TOKEN_CLASSES:  # every class the highlighter emits has a colour in both themes
        assert f".msnb-viewer .msnb-tk-{token} {{ color: var(--msnb-tk-{token}); }}" in css
        assert len(re.findall(rf"--msnb-tk-{token}: #[0-9a-f]{{6}};", css)) >= 2
