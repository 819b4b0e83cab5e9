"""Endpoint parsing never shows what stands before the last '@', and rejects impossible host names."""

from __future__ import annotations

import pytest
import redis

from memstore_nb.connection import explain_failure, parse_endpoint, redact_endpoint
from memstore_nb.errors import ConnectError, EndpointError

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
