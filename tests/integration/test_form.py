"""ConnectionForm against real servers: connect, show the outcome, keep no password in widget state."""

from __future__ import annotations

# ruff: noqa: F811  (pytest fixtures imported from helpers.servers are parameters here)
import datetime
import json
from collections.abc import Iterator

import ipywidgets as widgets
import pytest
import redis
from helpers.servers import (  # noqa: F401
    AUTH_STRING,
    DEBIAN_REDIS,
    TLSFiles,
    auth_server,
    tls_files,
    tls_server,
)

from memstore_nb.connection.form import ConnectionForm, ca_from_upload
from memstore_nb.local import LocalRedis, free_port


def _all_widget_state(form: widgets.Widget) -> str:
    """Everything the front end (and a saved notebook) would hold for the form and its children."""
    seen: list[dict] = []

    def walk(w: widgets.Widget) -> None:
        seen.append(w.get_state())
        for child in getattr(w, "children", ()):
            walk(child)

    walk(form)
    return json.dumps(seen, default=repr)


@pytest.fixture()
def form_cleanup() -> Iterator[list[ConnectionForm]]:
    forms: list[ConnectionForm] = []
    yield forms
    for form in forms:
        if form.client is not None:
            form.client.close()
        form.close()


def test_connects_and_reports(redis_server: LocalRedis, form_cleanup: list[ConnectionForm]) -> None:
    form = ConnectionForm(default=redis_server.url, timeout=1.0)
    form_cleanup.append(form)
    assert isinstance(form, widgets.VBox) and form.client is None
    form._button.click()
    assert isinstance(form.client, redis.Redis) and form.client.ping() is True
    assert "Connected to" in form.outcome and "standalone" in form.outcome and "PING" in form.outcome
    assert form.info.mode == "standalone"


def test_local_default(form_cleanup: list[ConnectionForm]) -> None:
    form = ConnectionForm()
    form_cleanup.append(form)
    assert form._endpoint.value == "local"
    assert form.connect() is form.client and form.client.ping() is True
    assert "local (unix://" in form.outcome and "store.sock" in form.outcome


def test_password_never_stays_in_widget_state(auth_server: LocalRedis, form_cleanup: list[ConnectionForm]) -> None:
    form = ConnectionForm(default=f"redis://127.0.0.1:{auth_server.port}", timeout=1.0)
    form_cleanup.append(form)
    form._password.value = AUTH_STRING
    form._button.click()
    assert form.client is not None and form.client.ping() is True
    assert form._password.value == ""
    assert AUTH_STRING not in _all_widget_state(form) and AUTH_STRING not in form.outcome

    form._password.value = AUTH_STRING + "-wrong"
    form._button.click()
    assert form.client is None
    assert "rejected the password" in form.outcome
    state = _all_widget_state(form)
    assert AUTH_STRING not in state and "-wrong" not in form.outcome


def test_password_typed_into_the_endpoint_is_moved_out(
    auth_server: LocalRedis, form_cleanup: list[ConnectionForm]
) -> None:
    form = ConnectionForm(default=f"redis://:{AUTH_STRING}@127.0.0.1:{auth_server.port}", timeout=1.0)
    form_cleanup.append(form)
    assert AUTH_STRING not in _all_widget_state(form)  # taken out of the default at once
    form.connect()
    assert form.client is not None and form.client.ping() is True

    form._endpoint.value = f"redis://:{AUTH_STRING}@127.0.0.1:{auth_server.port}/1"
    form.connect()
    assert form.client is not None
    assert form._endpoint.value == f"redis://127.0.0.1:{auth_server.port}/1"
    assert AUTH_STRING not in _all_widget_state(form)


def test_password_in_a_malformed_endpoint_is_hidden_too(form_cleanup: list[ConnectionForm]) -> None:
    form = ConnectionForm(default=f"redis://:{AUTH_STRING}@127.0.0.1:notaport")
    form_cleanup.append(form)
    assert AUTH_STRING not in _all_widget_state(form)
    form._endpoint.value = f"redis://:{AUTH_STRING}@127.0.0.1:stillbad"
    form.connect()
    assert "is not a number" in form.outcome
    assert AUTH_STRING not in _all_widget_state(form) and AUTH_STRING not in form.outcome


def test_errors_show_inline_escaped(form_cleanup: list[ConnectionForm]) -> None:
    form = ConnectionForm(default="<b>not an endpoint</b>")
    form_cleanup.append(form)
    form.connect()
    assert form.client is None
    assert "&lt;b&gt;" in form.outcome and "<b>" not in form.outcome and "placeholder" in form.outcome

    form._endpoint.value = f"redis://127.0.0.1:{free_port()}"
    form.connect()
    assert "nothing accepts connections" in form.outcome and form._button.disabled is False


def test_tls_ca_pasted_or_uploaded(
    tls_server: LocalRedis, tls_files: TLSFiles, form_cleanup: list[ConnectionForm]
) -> None:
    form = ConnectionForm(default=tls_server.url, timeout=2.0)
    form_cleanup.append(form)
    form.connect()
    assert form.client is None and "TLS certificate was not accepted" in form.outcome

    form._ca_text.value = tls_files.ca_pem
    form.connect()
    assert form.client is not None and form.client.ping() is True

    upload = ConnectionForm(default=tls_server.url, timeout=2.0)
    form_cleanup.append(upload)
    _upload_as_the_browser_would(upload._ca_upload, "server-ca.pem", tls_files.ca_pem.encode())
    upload.connect()
    assert upload.client is not None and upload.client.ping() is True


def _upload_as_the_browser_would(widget: widgets.FileUpload, name: str, content: bytes) -> None:
    if widgets.__version__.startswith("7."):
        # ipywidgets 7: the front end sends metadata and data, then bumps _counter; value is derived.
        widget.metadata = [{"name": name, "type": "application/x-pem-file", "size": len(content), "lastModified": 0}]
        widget.data = [content]
        widget._counter += 1
    else:
        widget.value = (
            {
                "name": name,
                "type": "application/x-pem-file",
                "size": len(content),
                "content": memoryview(content),
                "last_modified": datetime.datetime.now(datetime.timezone.utc),
            },
        )


def test_iam_toggle_reaches_connect(redis_server: LocalRedis, form_cleanup: list[ConnectionForm]) -> None:
    form = ConnectionForm(default=redis_server.url, timeout=1.0)
    form_cleanup.append(form)
    form._iam.value = True
    form._password.value = "both"
    form.connect()
    assert form.client is None and "not both" in form.outcome


def test_upload_value_shapes_of_ipywidgets_7_and_8() -> None:
    pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    v7 = {"ca.pem": {"metadata": {"name": "ca.pem", "type": "", "size": len(pem)}, "content": pem.encode()}}
    v8 = ({"name": "ca.pem", "type": "", "size": len(pem), "content": memoryview(pem.encode())},)
    assert ca_from_upload(v7) == pem
    assert ca_from_upload(v8) == pem
    assert ca_from_upload({}) is None and ca_from_upload(()) is None and ca_from_upload(None) is None
