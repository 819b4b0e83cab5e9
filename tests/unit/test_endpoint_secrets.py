"""Endpoint parsing never shows what stands before the last '@', and rejects impossible host names."""

from __future__ import annotations

import pytest
import redis

from memstore_nb.connection import explain_failure, parse_endpoint, redact_endpoint, redact_text
from memstore_nb.connection.advice import COMMAND_LINE, NOTEBOOK, current, speaking
from memstore_nb.errors import AuthenticationFailed, ConnectError, EndpointError

# Each holds characters a URL parser might take for the end of the password.
NASTY = ["abc?Pw-S3cr3t", "a#b?c/d:e@f", "p@ss:w/rd?q=9#zz9", "::@@//??##", "/S3cr3t", "S3cr3t#", "?dbq=77"]


def _fragments(password: str) -> list[str]:
    """Pieces of the password long enough to be recognisable if they leaked."""
    pieces = {password}
    for sep in "?#/:@=":
        pieces.update(p for p in password.split(sep) if len(p) >= 3)
    return sorted(pieces)


@pytest.mark.parametrize("password", NASTY)
def test_nasty_passwords_parse_whole(password: str) -> None:
    ep = parse_endpoint(f"redis://:{password}@127.0.0.1:7351")
    assert (ep.password, ep.host, ep.port) == (password, "127.0.0.1", 7351)
    tls = parse_endpoint(f"rediss://app:{password}@10.0.0.3/2")
    assert (tls.username, tls.password, tls.host, tls.port, tls.db) == ("app", password, "10.0.0.3", 6378, 2)
    unix = parse_endpoint(f"unix://:{password}@/tmp/r.sock?db=3")
    assert (unix.password, unix.path, unix.db) == (password, "/tmp/r.sock", 3)
    for shown in (repr(ep), str(tls), unix.to_url()):
        for piece in _fragments(password):
            assert piece not in shown


@pytest.mark.parametrize("password", NASTY)
@pytest.mark.parametrize(
    "template",
    [
        "redis://:{pw}@127.0.0.1:notaport",
        "redis://:{pw}@127.0.0.1:7351?tls=1",
        "redis://:{pw}@ho$t:7351",
        "redis://admin:{pw}@127.0.0.1:7351/x",
        "rediss://{pw}@[::1:7351",
        "unix://:{pw}@relative.sock",
        "http://:{pw}@127.0.0.1",
        ":{pw}@127.0.0.1:99999",
        "redis://:{pw}@127.0.0.1:7351#frag",
    ],
)
def test_errors_never_show_the_password(template: str, password: str) -> None:
    with pytest.raises(EndpointError) as info:
        parse_endpoint(template.format(pw=password))
    for shown in (str(info.value), repr(info.value), str(info.value.value)):
        for piece in _fragments(password):
            assert piece not in shown, (piece, shown)


def test_the_issue_example_parses_and_its_error_forms_are_redacted() -> None:
    ep = parse_endpoint("redis://:abc?Pw-S3cr3t@127.0.0.1:7351")
    assert ep.password == "abc?Pw-S3cr3t" and ep.to_url() == "redis://:***@127.0.0.1:7351"
    assert redact_endpoint("redis://:abc?Pw-S3cr3t@127.0.0.1:7351") == "redis://:***@127.0.0.1:7351"
    assert redact_endpoint("redis://admin:a@b@h:1") == "redis://admin:***@h:1"
    assert redact_endpoint("redis://a?b:c@h") == "redis://***@h"  # not a plain user name: hidden too
    assert redact_endpoint(":pa://ss@h") == ":***@h"  # a '://' inside the password is no scheme
    assert redact_endpoint("redis://h:1/0") == "redis://h:1/0"


def test_a_user_name_that_looks_like_a_password_is_not_shown() -> None:
    ep = parse_endpoint("redis://abc?Pw-S3cr3t@127.0.0.1:7351")
    assert ep.username == "abc?Pw-S3cr3t"
    assert "S3cr3t" not in repr(ep) and "S3cr3t" not in ep.to_url()
    assert parse_endpoint(ep.to_url(redact=False)).username == "abc?Pw-S3cr3t"
    assert parse_endpoint("redis://default:pw@h").to_url() == "redis://default:***@h:6379"


@pytest.mark.parametrize(
    ("host", "part"),
    [
        ("a" * 64 + ".example.com", "at most 63"),
        ("x." + "b" * 64, "at most 63"),
        (".".join(["abcdefghi"] * 26), "at most 253"),  # 259 characters, every label short
    ],
)
def test_impossible_host_names_are_rejected(host: str, part: str) -> None:
    with pytest.raises(EndpointError) as info:
        parse_endpoint(f"redis://{host}:6379")
    assert part in str(info.value) and "accepted forms" in str(info.value)


def test_longest_possible_host_names_are_accepted() -> None:
    label = "c" * 63
    host = ".".join([label, label, label, "d" * 61])  # 253 characters
    assert len(host) == 253
    assert parse_endpoint(f"redis://{host}:6379").host == host
    assert parse_endpoint(f"{host}.:6379").host == host + "."  # a trailing dot does not count


def test_a_protocol_error_with_an_http_reply_says_not_redis() -> None:
    ep = parse_endpoint("redis://127.0.0.1:8080")
    exc = redis.exceptions.InvalidResponse("Protocol Error: b'HTTP/1.1 400 Bad Request'")
    error = explain_failure(exc, ep)
    assert type(error) is ConnectError
    assert "not a Redis server" in str(error) and "answered HTTP" in str(error)
    assert "Protocol Error" not in str(error)


# -- user info without a colon, passwords in the query (issue 20, item 8) ------------------------


@pytest.mark.parametrize("secret", ["S3cretAuthString", "a1b2c3d4-e5f6-7890-abcd-ef1234567890"])
def test_user_info_without_a_colon_is_never_shown(secret: str) -> None:
    # redis://<AUTH string>@host: the colon forgotten, the AUTH string parsed as a user name
    for text in (f"redis://{secret}@10.0.0.3:6379", f"rediss://{secret}@10.0.0.3", f"unix://{secret}@/tmp/r.sock"):
        ep = parse_endpoint(text)
        assert ep.username == secret and ep.password is None  # what redis.from_url reads too
        for shown in (repr(ep), str(ep), ep.to_url(), f"{[ep]!r}"):
            assert secret not in shown and "***@" in shown
        assert parse_endpoint(ep.to_url(redact=False)).username == secret
        assert secret not in redact_text(f"could not connect to {text}: refused")


def test_a_user_name_with_a_password_is_still_shown() -> None:
    assert parse_endpoint("redis://alice:pw@h:1").to_url() == "redis://alice:***@h:1"


@pytest.mark.parametrize("name", ["password", "PASSWORD", "pass", "auth", "token", "tls", "username"])
def test_query_values_are_never_quoted_in_errors(name: str) -> None:
    for text in (f"redis://10.0.0.3?{name}=S3cretPW", f"redis://10.0.0.3:6379/0?db=1&{name}=S3cretPW#"):
        with pytest.raises(EndpointError) as info:
            parse_endpoint(text)
        for shown in (str(info.value), repr(info.value), info.value.value):
            assert "S3cretPW" not in shown, shown
        assert f"{name}=***" in str(info.value)
    assert redact_endpoint("redis://h?db=2&password=x") == "redis://h?db=2&password=***"
    assert redact_text("see redis://h?password=S3cretPW&db=1") == "see redis://h?password=***&db=1"


def test_a_password_in_the_query_is_told_where_it_goes() -> None:
    with pytest.raises(EndpointError, match=r"for the AUTH string, pass password=\.\.\."):
        parse_endpoint("redis://10.0.0.3?password=x")
    with speaking(COMMAND_LINE), pytest.raises(EndpointError, match=r"\$MEMSTORE_NB_PASSWORD"):
        parse_endpoint("redis://10.0.0.3?password=x")


def test_an_auth_failure_with_a_user_name_alone_says_where_the_colon_goes() -> None:
    ep = parse_endpoint("redis://S3cretAuthString@10.0.0.3:6379")
    exc = redis.exceptions.AuthenticationError("WRONGPASS invalid username-password pair or user is disabled.")
    error = explain_failure(exc, ep)
    assert isinstance(error, AuthenticationFailed)
    assert "S3cretAuthString" not in str(error) and "***@10.0.0.3" in str(error)
    assert "goes after a colon" in str(error) and "redis://:AUTH@host:port" in str(error)


# -- advice in the caller's words: a notebook's, or the command line's ---------------------------


def _failures(ep_text: str) -> list[str]:
    ep = parse_endpoint(ep_text)
    return [
        str(explain_failure(redis.exceptions.AuthenticationError("NOAUTH Authentication required."), ep)),
        str(explain_failure(redis.exceptions.ConnectionError("Error 111 connecting. Connection refused."), ep)),
        str(explain_failure(redis.exceptions.ConnectionError("certificate verify failed"), ep)),
        str(explain_failure(TimeoutError("timed out"), parse_endpoint("redis://10.0.0.3:6379"))),
        str(explain_failure(redis.exceptions.ResponseError("AUTH called without any password configured"), ep)),
    ]


def test_errors_advise_in_notebook_terms_by_default() -> None:
    text = " ".join(_failures("redis://127.0.0.1:7351"))
    assert "password=..." in text and "iam=True" in text and "ENDPOINT = 'local'" in text and "ca_certs=" in text
    assert "ENDPOINT = 'redis://127.0.0.1:6379'" in text  # the tunnel's endpoint
    assert "--endpoint" not in text


def test_errors_advise_in_command_line_terms_inside_the_command() -> None:
    with speaking(COMMAND_LINE):
        text = " ".join(_failures("redis://127.0.0.1:7351"))
    for notebook in ("password=...", "iam=True", "ENDPOINT =", "ca_certs="):
        assert notebook not in text, notebook
    for flag in ("$MEMSTORE_NB_PASSWORD", "--iam", "--endpoint local", "--ca-certs", "--endpoint redis://127.0.0.1"):
        assert flag in text, flag
    assert current() is NOTEBOOK  # the block ended: notebook words again
