"""The viewer's stylesheet: JupyterLab theme variables with light and dark fallbacks, page-only rules."""

from __future__ import annotations

import functools

__all__ = ["PAGE_CLASS", "SCROLL_CLASS", "VIEWER_CLASS", "WIDGET_CLASS", "viewer_css"]

VIEWER_CLASS = "msnb-viewer"
WIDGET_CLASS = "msnb-viewer-widget"  # set by ChatHistoryViewer on itself, in a notebook as on the page
PAGE_CLASS = "msnb-page"  # set by the standalone page (Voilà) on its outermost widget
# A fixed-height area around the transcript. What scrolls is the page's own <div class="msnb-viewer">,
# new with every render, so each page, jump and Find hit starts at its top: no script could reset it.
SCROLL_CLASS = "msnb-scroll"

# (custom property, JupyterLab variable, light fallback, dark fallback).
# Inside JupyterLab and Voilà the theme's variables win; elsewhere (Colab,
# VS Code, classic) the fallbacks follow the theme hooks below.
_PALETTE = (
    ("--msnb-fg", "--jp-content-font-color1", "#1f2328", "#e6edf3"),
    ("--msnb-muted", "--jp-content-font-color2", "#59636e", "#9da5ae"),
    ("--msnb-bg", "--jp-layout-color1", "#ffffff", "#1e1e1e"),
    ("--msnb-bg2", "--jp-layout-color2", "#f6f8fa", "#2a2d31"),
    ("--msnb-border", "--jp-border-color2", "#d1d9e0", "#3d444d"),
    ("--msnb-link", "--jp-content-link-color", "#0969da", "#58a6ff"),
    ("--msnb-error", "--jp-error-color1", "#cf222e", "#f85149"),
)
# Our own colours, not the theme's: the focus ring and the current Find hit
# must keep a 3:1 contrast against the background in either theme.
_OWN = (
    ("--msnb-focus", "#0b57d0", "#8ab4f8"),
    ("--msnb-hit", "#9a6700", "#e3b341"),
    # The selected row of a list (the session table, checkpoints): the browser's own colours for it
    # depend on focus and on color-scheme, and were hard to read on the dark page.
    ("--msnb-selected-bg", "#0b57d0", "#8ab4f8"),
    ("--msnb-selected-fg", "#ffffff", "#0d1117"),
    ("--msnb-tk-keyword", "#c4162a", "#ff7b72"),
    ("--msnb-tk-type", "#8a4600", "#ffa657"),
    ("--msnb-tk-builtin", "#0550ae", "#79c0ff"),
    ("--msnb-tk-function", "#7a3ec8", "#d2a8ff"),
    ("--msnb-tk-class", "#8a4600", "#ffa657"),
    ("--msnb-tk-decorator", "#7a3ec8", "#d2a8ff"),
    ("--msnb-tk-tag", "#1a6b2f", "#7ee787"),
    ("--msnb-tk-attr", "#0550ae", "#79c0ff"),
    ("--msnb-tk-string", "#0d3c7a", "#a5d6ff"),
    ("--msnb-tk-number", "#0550ae", "#79c0ff"),
    ("--msnb-tk-comment", "#59636e", "#9da5ae"),
    ("--msnb-tk-deleted", "#8c0c22", "#ffa198"),
    ("--msnb-tk-inserted", "#1a6b2f", "#7ee787"),
    ("--msnb-tk-heading", "#0550ae", "#79c0ff"),
    ("--msnb-tk-prompt", "#59636e", "#9da5ae"),
)
# JupyterLab variables the page sets itself when the browser prefers dark but
# the page was served with the light theme: stock widgets follow them too.
_PAGE_DARK_JP = (
    ("--jp-layout-color0", "#111418"),
    ("--jp-layout-color1", "#1b1f24"),
    ("--jp-layout-color2", "#262b31"),
    ("--jp-layout-color3", "#3a4049"),
    ("--jp-ui-font-color0", "#ffffff"),
    ("--jp-ui-font-color1", "#e6edf3"),
    ("--jp-ui-font-color2", "#b7bdc5"),
    ("--jp-ui-font-color3", "#9da5ae"),
    ("--jp-content-font-color0", "#ffffff"),
    ("--jp-content-font-color1", "#e6edf3"),
    ("--jp-content-font-color2", "#b7bdc5"),
    ("--jp-content-font-color3", "#9da5ae"),
    ("--jp-border-color0", "#5b636d"),
    ("--jp-border-color1", "#4a515b"),
    ("--jp-border-color2", "#3d444d"),
    ("--jp-content-link-color", "#58a6ff"),
    ("--jp-error-color1", "#f85149"),
    ("--jp-brand-color1", "#4493f8"),
    ("--jp-widgets-color", "#e6edf3"),
    ("--jp-widgets-label-color", "#e6edf3"),
    ("--jp-widgets-readout-color", "#e6edf3"),
    ("--jp-widgets-input-color", "#e6edf3"),
    ("--jp-widgets-input-background-color", "#1b1f24"),
    ("--jp-widgets-input-border-color", "#6e7781"),
    ("--jp-widgets-input-focus-border-color", "#8ab4f8"),
)
_ACCENTS = {
    "role-human": "#0969da",
    "role-ai": "#1a7f37",
    "role-system": "#8250df",
    "role-tool": "#9a6700",
    "role-function": "#bc4c00",
    "role-chat": "#1b7c83",
    "role-unknown": "#6e7781",
    "unreadable": "#cf222e",
}
# ``data-msnb-theme`` is set on <html> by the viewer page's template from ``?voila-theme=dark|light``.
_DARK_HOOKS = (
    '[data-msnb-theme="dark"]',
    '[data-jp-theme-light="false"]',
    ".theme-dark",
    '[theme="dark"]',
    ".vscode-dark",
    ".vscode-high-contrast",
)
_LIGHT_HOOKS = ('[data-msnb-theme="light"]', '[data-jp-theme-light="true"]', ".theme-light", ".vscode-light")
_ASKED_DARK = '[data-msnb-theme="dark"]'  # ?voila-theme=dark: dark whatever the browser prefers
_ASKED_LIGHT = '[data-msnb-theme="light"]'  # ?voila-theme=light: light whatever the browser prefers
_V = f".{VIEWER_CLASS}"
_P = f".{PAGE_CLASS}"
_W = f".{WIDGET_CLASS}"
_S = f".{SCROLL_CLASS}"
_TOKENS = tuple(name.removeprefix("--msnb-tk-") for name, _, _ in _OWN if name.startswith("--msnb-tk-"))

_RULES = (
    f"""
{_V} {{ color: var(--msnb-fg); background: var(--msnb-bg); font-family: var(--jp-content-font-family,
  system-ui, -apple-system, "Segoe UI", Roboto, sans-serif); font-size: var(--jp-content-font-size1, 14px);
  line-height: 1.45; overflow-wrap: anywhere; min-width: 0; }}
{_V} .msnb-msg {{ border: 1px solid var(--msnb-border); border-left: 4px solid var(--msnb-accent);
  border-radius: 4px; margin: 6px 0; padding: 6px 10px; background: var(--msnb-bg); min-width: 0;
  scroll-margin: 8px; }}
{_V} .msnb-head {{ display: flex; flex-wrap: wrap; gap: 4px 8px; align-items: baseline; font-size: 0.9em; }}
{_V} .msnb-head > span, {_V} bdi {{ unicode-bidi: isolate; }}
{_V} .msnb-badge {{ background: var(--msnb-accent); color: #ffffff; border-radius: 10px; padding: 0 8px;
  font-weight: 600; }}
{_V} .msnb-index, {_V} .msnb-id, {_V} .msnb-muted, {_V} .msnb-toolref, {_V} .msnb-model, {_V} .msnb-usage,
  {_V} .msnb-time {{ color: var(--msnb-muted); }}
{_V} .msnb-id, {_V} .msnb-model {{ font-family: var(--jp-code-font-family, monospace); font-size: 0.85em; }}
{_V} .msnb-name, {_V} .msnb-tool {{ font-weight: 600; }}
{_V} .msnb-content {{ margin: 4px 0; unicode-bidi: isolate; }}
{_V} .msnb-content p {{ margin: 4px 0; }}
{_V} .msnb-content h1, {_V} .msnb-content h2, {_V} .msnb-content h3 {{ font-size: 1.1em; margin: 6px 0; }}
{_V} a {{ color: var(--msnb-link); }}
{_V} mark {{ background: #ffd33d; color: #1f2328; }}
{_V} .msnb-hit-current {{ outline: 3px solid var(--msnb-hit); outline-offset: 2px; }}
{_V} .msnb-hit-current mark {{ background: #ff9632; }}
{_V} :focus-visible {{ outline: 2px solid var(--msnb-focus); outline-offset: 2px; }}
{_V} pre, {_V} code {{ font-family: var(--jp-code-font-family, monospace); font-size: 0.9em; }}
{_V} pre {{ background: var(--msnb-bg2); color: var(--msnb-fg); padding: 6px 8px; border-radius: 4px;
  overflow: auto; max-height: 24em; white-space: pre-wrap; margin: 4px 0; max-width: 100%;
  box-sizing: border-box; }}
{_V} pre.msnb-code {{ white-space: pre; overflow-wrap: normal; word-break: normal; overflow-x: auto;
  max-height: 32em; }}
{_V} pre code {{ font-size: inherit; white-space: inherit; }}
{_V} .msnb-plain p {{ white-space: pre-wrap; overflow-wrap: break-word; margin: 4px 0; }}
{_V} .msnb-tk-comment {{ font-style: italic; }}
{_V} .msnb-tk-heading {{ font-weight: 600; }}
{_V} table {{ border-collapse: collapse; color: var(--msnb-fg); font-size: inherit; }} /* quirks mode */
{_V} th, {_V} td {{ border: 1px solid var(--msnb-border); padding: 2px 6px; }}
{_V} .msnb-align-left {{ text-align: left; }}
{_V} .msnb-align-right {{ text-align: right; }}
{_V} .msnb-align-center {{ text-align: center; }}
{_V} details {{ margin: 4px 0; }}
{_V} summary {{ cursor: pointer; color: var(--msnb-muted); font-size: 0.9em; }}
{_V} .msnb-call {{ border: 1px dashed var(--msnb-border); border-radius: 4px; padding: 2px 8px; }}
{_V} .msnb-call > summary, {_V} .msnb-result > summary {{ color: var(--msnb-fg); }}
{_V} .msnb-error, {_V} .msnb-status-error {{ color: var(--msnb-error); }}
{_V} .msnb-label {{ font-family: var(--jp-code-font-family, monospace); }}
{_V} .msnb-empty {{ color: var(--msnb-muted); padding: 8px; }}
{_V} .msnb-fold > summary {{ list-style: none; color: var(--msnb-fg); font-size: inherit; }}
{_V} .msnb-fold > summary::-webkit-details-marker {{ display: none; }}
{_V} .msnb-fold-preview {{ display: block; white-space: pre-wrap; max-height: 7.25em; overflow: hidden; }}
{_V} .msnb-fold[open] > summary .msnb-fold-preview {{ display: none; }}
{_V} .msnb-fold-more {{ display: inline-block; color: var(--msnb-link); font-size: 0.9em; padding: 2px 0; }}
{_V} .msnb-fold[open] > summary .msnb-fold-show, {_V} .msnb-fold:not([open]) > summary .msnb-fold-hide
  {{ display: none; }}
{_V} .msnb-jump {{ color: var(--msnb-muted); font-size: 0.9em; }}
{_V} .msnb-msg, {_V} .msnb-call {{ scroll-margin-top: 6px; }}
{_V} .msnb-msg:target, {_V} .msnb-call:target {{ outline: 3px solid var(--msnb-hit); outline-offset: 2px; }}
{_W} :focus-visible {{ outline: 2px solid var(--msnb-focus); outline-offset: 2px; }}
{_W} select[size] option:checked, {_P} select[size] option:checked {{ color: var(--msnb-selected-fg);
  -webkit-text-fill-color: var(--msnb-selected-fg); background: var(--msnb-selected-bg)
  linear-gradient(var(--msnb-selected-bg), var(--msnb-selected-bg)); }}
{_P} {{ background: var(--jp-layout-color0, var(--msnb-bg)); color: var(--msnb-fg);
  box-sizing: border-box; --jp-widgets-inline-height: 32px; }}
{_P} :focus-visible {{ outline: 2px solid var(--msnb-focus) !important; outline-offset: 2px; }}
{_P} .jupyter-button, {_P} .widget-button, {_P} .msnb-target {{ min-height: 32px; min-width: 32px; }}
{_P} .widget-select select option, {_P} .widget-select-multiple select option {{ min-height: 32px;
  padding: 6px 8px; box-sizing: border-box; }}
{_P} {_V} summary {{ padding: 6px 0; }}
{_S} {{ height: min(70vh, 760px); overflow: hidden; }}
{_S} .widget-html-content {{ height: 100%; flex: 1 1 auto; min-width: 0; }}
{_S} .widget-html-content > {_V} {{ height: 100%; overflow-y: auto; overscroll-behavior: contain;
  box-sizing: border-box; padding: 0 5px; }}
"""
    + "".join(f"{_V} .msnb-{kind} {{ --msnb-accent: {color}; }}\n" for kind, color in _ACCENTS.items())
    + "".join(f"{_V} .msnb-tk-{token} {{ color: var(--msnb-tk-{token}); }}\n" for token in _TOKENS)
)


def _palette(dark: bool) -> str:
    theme = [f"{name}: var({jp}, {dark_ if dark else light});" for name, jp, light, dark_ in _PALETTE]
    own = [f"{name}: {dark_ if dark else light};" for name, light, dark_ in _OWN]
    return " ".join([*theme, *own])


@functools.lru_cache(maxsize=1)
def viewer_css() -> str:
    """The viewer's ``<style>`` block: every selector sits inside ``.msnb-viewer``, ``.msnb-viewer-widget``,
    ``.msnb-page`` or ``.msnb-scroll``.

    Colours come from JupyterLab's theme variables when they exist, with
    light fallbacks, dark ones under ``prefers-color-scheme: dark`` and under
    the dark-theme markers of JupyterLab (and Voilà's ``?theme=dark``),
    Colab and VS Code. On the standalone page (``.msnb-page``), a browser that
    prefers dark gets dark JupyterLab variables too, so stock widgets follow.

    Returns:
        ``<style>…</style>``, the same string on every call.
    """
    dark_hooks = ", ".join(f"{hook} {sel}" for hook in _DARK_HOOKS for sel in (_V, _W, _P))
    light_hooks = ", ".join(f"{hook} {sel}" for hook in _LIGHT_HOOKS for sel in (_V, _W, _P))
    page_dark = " ".join(f"{name}: {value};" for name, value in _PAGE_DARK_JP)
    page_light = " ".join(f"{name}: inherit;" for name, _ in _PAGE_DARK_JP)
    return (
        "<style>\n"
        f"{_V}, {_W}, {_P} {{ {_palette(False)} }}\n"
        f"@media (prefers-color-scheme: dark) {{ {_V}, {_W}, {_P} {{ {_palette(True)} }} }}\n"
        f"{dark_hooks} {{ {_palette(True)} }}\n"
        f"{light_hooks} {{ {_palette(False)} }}\n"
        # After the hooks, and as specific: on the page the browser's preference wins over the light theme,
        # and ?voila-theme= (the template's data-msnb-theme) wins over both.
        f"@media (prefers-color-scheme: dark) {{ {_P}{_P}, {_P} {_V} {{ {page_dark} {_palette(True)} "
        "color-scheme: dark; } }\n"
        f"{_ASKED_DARK} {_P}{_P}, {_ASKED_DARK} {_P} {_V} {{ {page_dark} {_palette(True)} color-scheme: dark; }}\n"
        # ?voila-theme=light on a browser that prefers dark: the theme's own values again (inherit).
        f"{_ASKED_LIGHT} {_P}{_P}, {_ASKED_LIGHT} {_P} {_V} {{ {page_light} {_palette(False)} color-scheme: light; }}\n"
        f"{_RULES}</style>"
    )
