"""connect() and ConnectionForm at awkward addresses: a web server, passwords full of URL characters."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator

import ipywidgets as widgets
import pytest

from memstore_nb.connection import connect
from memstore_nb.connection.form import ConnectionForm
from memstore_nb.errors import ConnectError

pytestmark = pytest.mark.integration

NASTY = ["abc?Pw-S3cr3t", "a#b?c/d:e@f", "p@ss:w/rd?q=9#zz9", "/S3cr3t", "S3cr3t#"]


class _Quiet(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_error(404)

    do_HEAD = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture()
def http_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.mark.parametrize("scheme", ["redis", "rediss"])
def test_a_web_server_is_named_as_such(http_port: int, scheme: str) -> None:
    with pytest.raises(ConnectError) as info:
        connect(f"{scheme}://127.0.0.1:{http_port}", timeout=2)
    message = str(info.value)
    assert "not a Redis server" in message and "answered HTTP" in message
    assert "in-transit encryption: use rediss" not in message and "Protocol Error" not in message


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _all_widget_state(form: widgets.Widget) -> str:
    seen: list[dict] = []

    def walk(w: widgets.Widget) -> None:
        seen.append(w.get_state())
        for child in getattr(w, "children", ()):
            walk(child)

    walk(form)
    return json.dumps(seen, default=repr)


def _pieces(password: str) -> list[str]:
    pieces = {password}
    for sep in "?#/:@=":
        pieces.update(p for p in password.split(sep) if len(p) >= 4)  # shorter ones occur in random model ids
    return sorted(pieces)


@pytest.mark.parametrize("password", NASTY)
def test_form_state_never_holds_the_password(password: str) -> None:
    port = _closed_port()
    good = ConnectionForm(default=f"redis://:{password}@127.0.0.1:{port}", timeout=0.5)
    bad = ConnectionForm(default=f"redis://:{password}@127.0.0.1:notaport", timeout=0.5)
    typed = ConnectionForm(default="local", timeout=0.5)
    try:
        typed._endpoint.value = f"redis://:{password}@127.0.0.1:{port}?x=1"
        for form in (good, bad, typed):
            # before Connect (what the user typed is in the field until then) and after
            states = [] if form is typed else [_all_widget_state(form)]
            form.connect()
            assert form.client is None
            states.append(_all_widget_state(form))
            for piece in _pieces(password):
                assert all(piece not in state for state in states), piece
        assert "nothing accepts connections" in good.outcome and "not a number" in bad.outcome

    finally:
        for form in (good, bad, typed):
            form.close()


def test_form_hides_a_user_name_that_looks_like_a_password() -> None:
    port = _closed_port()
    form = ConnectionForm(default=f"redis://abc?Pw-S3cr3t@127.0.0.1:{port}", timeout=0.5)
    plain = ConnectionForm(default=f"redis://default:pw@127.0.0.1:{port}", timeout=0.5)
    try:
        assert "S3cr3t" not in _all_widget_state(form)
        assert form._endpoint.value == f"redis://127.0.0.1:{port}"
        assert plain._endpoint.value == f"redis://default@127.0.0.1:{port}"  # a plain user name stays
        form.connect()
        assert "nothing accepts connections" in form.outcome and "S3cr3t" not in _all_widget_state(form)
    finally:
        form.close()
        plain.close()
