"""ConnectionForm: the endpoint cell as stock ipywidgets, for front ends that do not render Colab forms."""

from __future__ import annotations

import dataclasses
import html
import logging
from collections.abc import Mapping
from typing import Any

import ipywidgets as widgets
import traitlets

from ..errors import MemstoreError
from .client import ConnectInfo, connect_with_info
from .endpoint import Endpoint, parse_endpoint, redact_endpoint

__all__ = ["ConnectionForm"]

log = logging.getLogger(__name__)


def ca_from_upload(value: Any) -> str | None:
    """The first uploaded file's text, from a ``FileUpload.value`` of ipywidgets 7 or 8.

    ipywidgets 7 gives ``{name: {"metadata": {...}, "content": bytes}}``; ipywidgets 8 gives a
    tuple of ``{"name", "type", "size", "content": memoryview, ...}`` dicts.
    """
    if not value:
        return None
    # ipywidgets 7: a dict keyed by file name; ipywidgets 8: a tuple of dicts.
    first = next(iter(value.values())) if isinstance(value, Mapping) else value[0]
    content = first.get("content") if isinstance(first, Mapping) else None
    if content is None:
        return None
    return bytes(content).decode("ascii", errors="replace")


def _without_password(endpoint: Endpoint) -> str:
    if endpoint.kind in ("local", "local-cluster"):
        return endpoint.kind
    username = endpoint.username if endpoint.username and _plain_user(endpoint.username) else None
    return dataclasses.replace(endpoint, username=username, password=None).to_url(redact=False)


def _plain_user(username: str | None) -> bool:
    """A user name shown as is; one with '?', '#', '/' ... is more likely a mistyped password."""
    return not username or redact_endpoint(f"{username}:x@h").startswith(f"{username}:")


def _hidden_parts(endpoint: Endpoint) -> bool:
    return bool(endpoint.password) or not _plain_user(endpoint.username)


class ConnectionForm(widgets.VBox):
    """Endpoint, AUTH string, TLS CA, IAM toggle and a Connect button; the outcome shows inline.

    The same as a Colab ``# @param`` form cell, for JupyterLab, Workbench, VS Code and Voilà.
    After a successful click, :attr:`client` holds the ``redis.Redis`` / ``RedisCluster``.
    The password never stays in widget state: the field is emptied after each attempt.

    Args:
        default: the initial endpoint text, e.g. the notebook's ``ENDPOINT``. A password inside it
            is kept in Python only, never shown in the form.
        timeout: passed to :func:`memstore_nb.connect`.

    Example:
        >>> form = ConnectionForm(default=ENDPOINT)  # doctest: +SKIP
        >>> form  # doctest: +SKIP
        >>> client = form.client  # after clicking Connect  # doctest: +SKIP
    """

    client = traitlets.Any(None, allow_none=True)  # not synced: a Python object, not widget state
    info = traitlets.Any(None, allow_none=True)

    def __init__(self, default: str = "local", *, timeout: float = 5.0, **kwargs: Any) -> None:
        self._timeout = timeout
        self._url_password: str | None = None
        self._url_username: str | None = None  # only one that is not shown (see _plain_user)
        shown = default
        try:
            parsed = parse_endpoint(default)
            if _hidden_parts(parsed):
                self._keep_hidden(parsed)
                shown = _without_password(parsed)
        except MemstoreError:
            shown = redact_endpoint(default)  # Connect reports the problem; a password still stays out
        style = {"description_width": "8em"}
        wide = widgets.Layout(width="36em")
        self._endpoint = widgets.Text(
            value=shown, description="Endpoint", placeholder="redis://10.0.0.3:6379 or local", style=style, layout=wide
        )
        self._password = widgets.Password(
            value="",
            description="AUTH string",
            placeholder="(from the endpoint)" if self._url_password else "(none)",
            style=style,
            layout=wide,
        )
        self._ca_text = widgets.Textarea(
            value="",
            description="TLS CA",
            placeholder="-----BEGIN CERTIFICATE----- ... (paste the server CA, or upload it)",
            style=style,
            layout=widgets.Layout(width="36em", height="5em"),
        )
        self._ca_upload = widgets.FileUpload(accept=".pem,.crt,.cer", multiple=False, description="Upload CA")
        self._iam = widgets.Checkbox(value=False, description="IAM auth (Google access token)", indent=False)
        self._button = widgets.Button(description="Connect", button_style="primary", icon="plug")
        self._outcome = widgets.HTML(value="")
        self._button.on_click(lambda _button: self.connect())
        super().__init__(
            children=[
                self._endpoint,
                self._password,
                self._ca_text,
                widgets.HBox([self._ca_upload, self._iam]),
                widgets.HBox([self._button]),
                self._outcome,
            ],
            **kwargs,
        )

    def connect(self) -> Any:
        """Connect with the form's values (what the button does); returns the client or None."""
        self._button.disabled = True
        self._outcome.value = "<span>Connecting…</span>"
        try:
            endpoint = parse_endpoint(self._endpoint.value)
            if self._url_username and not endpoint.username and endpoint.kind in ("tcp", "unix"):
                endpoint = dataclasses.replace(endpoint, username=self._url_username)
            password = self._password.value or endpoint.password or self._url_password or None
            ca = self._ca_text.value.strip() or ca_from_upload(self._ca_upload.value) or None
            client, info = connect_with_info(
                endpoint, password=password, ca_certs=ca, iam=self._iam.value, timeout=self._timeout
            )
        except MemstoreError as exc:
            self._show_error(str(exc))
            return None
        except Exception as exc:  # a widget callback must show its failure, not lose it in a log
            log.exception("ConnectionForm: unexpected failure")
            self._show_error(f"{type(exc).__name__}: {exc}")
            return None
        finally:
            # Widget values are synced to the front end and written into the notebook file when
            # widget state is saved, so the AUTH string must not stay in the Password widget (or
            # inside the endpoint text). It lives on only inside the client.
            self._password.value = ""
            self._scrub_endpoint_text()
            self._button.disabled = False
        self.info = info
        self.client = client
        self._outcome.value = self._success_html(info)
        return client

    def _scrub_endpoint_text(self) -> None:
        try:
            parsed = parse_endpoint(self._endpoint.value)
        except MemstoreError:
            self._endpoint.value = redact_endpoint(self._endpoint.value)
            return
        if _hidden_parts(parsed):
            self._keep_hidden(parsed)
            self._endpoint.value = _without_password(parsed)

    def _keep_hidden(self, parsed: Endpoint) -> None:
        if parsed.password:
            self._url_password = parsed.password
        if not _plain_user(parsed.username):
            self._url_username = parsed.username

    def _show_error(self, message: str) -> None:
        self.client = None
        self.info = None
        self._outcome.value = (
            "<div style='color:#b00020;white-space:pre-wrap'>&#9888; " + html.escape(message) + "</div>"
        )

    @staticmethod
    def _success_html(info: ConnectInfo) -> str:
        return (
            "<div style='color:#1b5e20'>&#10003; Connected to <code>"
            + html.escape(info.endpoint)
            + f"</code>: Redis {html.escape(info.version)}, {html.escape(info.mode)}, "
            + f"PING {info.latency_ms:.1f} ms</div>"
        )

    @property
    def outcome(self) -> str:
        """The outcome text as shown (HTML), for tests and logs."""
        return str(self._outcome.value)
