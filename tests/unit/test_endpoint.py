"""parse_endpoint: every accepted form, every rejected form, and no password anywhere it could leak."""

from __future__ import annotations

import logging

import pytest
import redis

from memstore_nb.connection import (
    Endpoint,
    explain_failure,
    is_private_address,
    parse_endpoint,
    redact_text,
)
from memstore_nb.connection.retry import BoundedRetry
from memstore_nb.errors import (
    AuthenticationFailed,
    CertificateRejected,
    ConnectError,
    ConnectionRefused,
    ConnectTimeout,
    EndpointError,
    MemstoreError,
    PrivateNetworkTimeout,
    TLSMismatch,
    UnknownHost,
)

SECRET = "Pa55-w0rd-XYZZY"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("redis://10.0.0.3:6379", Endpoint("tcp", "10.0.0.3", 6379)),
        ("redis://10.0.0.3", Endpoint("tcp", "10.0.0.3", 6379)),
        ("redis://10.0.0.3:6380/2", Endpoint("tcp", "10.0.0.3", 6380, db=2)),
        ("redis://10.0.0.3:6380/", Endpoint("tcp", "10.0.0.3", 6380)),
        ("redis://10.0.0.3:6380?db=4", Endpoint("tcp", "10.0.0.3", 6380, db=4)),
        ("rediss://10.0.0.3:6378", Endpoint("tcp", "10.0.0.3", 6378, tls=True)),
        ("rediss://10.0.0.3", Endpoint("tcp", "10.0.0.3", 6378, tls=True)),
        ("REDISS://redis.example.com:16379/1", Endpoint("tcp", "redis.example.com", 16379, db=1, tls=True)),
        ("redis://alice@h:1", Endpoint("tcp", "h", 1, username="alice")),
        ("unix:///run/redis/redis.sock", Endpoint("unix", path="/run/redis/redis.sock")),
        ("unix:///tmp/r.sock?db=3", Endpoint("unix", path="/tmp/r.sock", db=3)),
        ("10.0.0.3:6379", Endpoint("tcp", "10.0.0.3", 6379)),
        ("10.0.0.3", Endpoint("tcp", "10.0.0.3", 6379)),
        ("localhost", Endpoint("tcp", "localhost", 6379)),
        ("my_host-1.internal:7000", Endpoint("tcp", "my_host-1.internal", 7000)),
        ("[::1]:6380", Endpoint("tcp", "::1", 6380)),
        ("[::1]", Endpoint("tcp", "::1", 6379)),
        ("redis://[fe80::1:2]:6379/1", Endpoint("tcp", "fe80::1:2", 6379, db=1)),
        ("  redis://10.0.0.3:6379 \n", Endpoint("tcp", "10.0.0.3", 6379)),
        ("local", Endpoint("local")),
        (" LOCAL ", Endpoint("local")),
        ("local-cluster", Endpoint("local-cluster")),
        ("redis://box.xyz:1", Endpoint("tcp", "box.xyz", 1)),
    ],
)
def test_accepted_forms(text: str, expected: Endpoint) -> None:
    parsed = parse_endpoint(text)
    assert parsed == expected
    assert parsed.kind == expected.kind and parsed.tls == expected.tls and parsed.username == expected.username
    assert parse_endpoint(parsed) is parsed


def test_passwords_in_url_are_parsed_and_decoded() -> None:
    ep = parse_endpoint(f"rediss://app:{SECRET}%40x@10.0.0.3:6378/1")
    assert (ep.username, ep.password, ep.host, ep.port, ep.db, ep.tls) == (
        "app",
        SECRET + "@x",
        "10.0.0.3",
        6378,
        1,
        True,
    )
    only_password = parse_endpoint(f"redis://:{SECRET}@10.0.0.3")
    assert only_password.username is None and only_password.password == SECRET
    raw_at = parse_endpoint("redis://:p@ss@h:1")  # an unencoded '@' in a password still works
    assert raw_at.password == "p@ss" and raw_at.host == "h"
    unix = parse_endpoint(f"unix://:{SECRET}@/tmp/r.sock")
    assert unix.password == SECRET and unix.path == "/tmp/r.sock"


@pytest.mark.parametrize(
    "text",
    [f"redis://:{SECRET}@10.0.0.3:6379/1", f"rediss://user:{SECRET}@[::1]:6378", f"unix://:{SECRET}@/tmp/x.sock"],
)
def test_password_never_in_repr_str_or_url(text: str) -> None:
    ep = parse_endpoint(text)
    for shown in (repr(ep), str(ep), ep.to_url(), f"{ep}", f"{ep!r}", repr([ep]), repr({"e": ep})):
        assert SECRET not in shown
        assert "***" in shown
    assert SECRET in ep.to_url(redact=False)
    assert parse_endpoint(ep.to_url(redact=False)) == ep
    assert parse_endpoint(ep.to_url(redact=False)).password == SECRET


def test_equality_ignores_password_so_comparisons_reveal_nothing() -> None:
    a = parse_endpoint("redis://:one@h:1")
    b = parse_endpoint("redis://:two@h:1")
    assert a == b and hash(a) == hash(b)
    with pytest.raises(AttributeError):
        a.host = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("", "nothing was entered"),
        ("   \t ", "nothing was entered"),
        ("http://10.0.0.3:6379", "unsupported scheme 'http://'"),
        ("https://x", "unsupported scheme"),
        ("tcp://10.0.0.3:6379", "unsupported scheme"),
        ("redis:/10.0.0.3", "needs '://'"),
        ("redis://10.0.0.3:abc", "is not a number"),
        ("redis://10.0.0.3:0", "out of range"),
        ("redis://10.0.0.3:65536", "out of range"),
        ("redis://10.0.0.3:99999999", "out of range"),
        ("redis://10.0.0.3:", "port is missing"),
        ("10.0.0.3:-1", "is not a number"),
        ("redis://", "host is missing"),
        ("redis://:6379", "host is missing"),
        (f"redis://:{SECRET}@", "host is missing"),
        ("redis://10.0.0.3:6379/abc", "bad database index"),
        ("redis://10.0.0.3:6379/-1", "bad database index"),
        ("redis://10.0.0.3:6379/1/2", "bad database index"),
        ("redis://10.0.0.3:6379/999999", "bad database index"),
        ("redis://10.0.0.3?db=x", "bad database index"),
        ("redis://10.0.0.3?ssl_cert_reqs=none", "unsupported query parameter"),
        ("redis://[::1:6379", "no closing ']'"),
        ("redis://::1]:6379", "']' without an opening '['"),
        ("redis://[::1]6379", "stray characters"),
        ("redis://[not-ipv6]:6379", "is not an IPv6 address"),
        ("::1", "must be written in brackets"),
        ("fe80::1:6379", "must be written in brackets"),
        ("redis://10.0.0 .3:6379", "spaces inside"),
        ("redis://10.0.0.3 :6379", "spaces inside"),
        ("redis://us er:pw@h", "spaces inside the user name"),
        ("redis://10.0.0.3:6379\nrm -rf", "control characters"),
        ("redis://10.0.0.3\x00", "control characters"),
        ("redis://10.0.0.3:6379#frag", "stray '#'"),
        ("redis://ho$t:6379", "stray characters in the host"),
        ("redis://hóst:6379", "stray characters in the host"),
        ("redis://" + "a" * 3000, "characters long"),
        ("unix://relative.sock", "absolute path"),
        ("unix:///", "absolute path"),
        ("redis://10.x.x.x:6379", "placeholder"),
        ("<your-redis-ip>:6379", "placeholder"),
        ("redis://YOUR_INSTANCE_IP:6379", "placeholder"),
        ("redis://my-redis-host:6379", "placeholder"),
        ("REDIS_HOST:6379", "placeholder"),
        ("host:port", "placeholder"),
    ],
)
def test_rejected_forms_say_what_is_wrong(text: str, part: str) -> None:
    with pytest.raises(EndpointError) as info:
        parse_endpoint(text)
    message = str(info.value)
    assert part in message
    assert "accepted forms: redis://" in message
    assert isinstance(info.value, ValueError) and isinstance(info.value, MemstoreError)
    assert len(message) < 600  # absurd input is truncated in the message


def test_rejected_value_is_quoted_redacted() -> None:
    with pytest.raises(EndpointError) as info:
        parse_endpoint(f"redis://admin:{SECRET}@10.0.0.3:notaport")
    assert SECRET not in str(info.value) and SECRET not in repr(info.value) and SECRET not in info.value.value
    assert "redis://admin:***@10.0.0.3:notaport" in str(info.value)
    assert info.value.value == "redis://admin:***@10.0.0.3:notaport"


@pytest.mark.parametrize(
    "text",
    [
        f"redis://:{SECRET}@ss@10.0.0.3:bad",  # unencoded '@' inside the password
        f"redis://:{SECRET}\nmore@10.0.0.3",  # control character inside the password
        f"redis://us er:{SECRET}@10.0.0.3",  # space in the user name
        f"redis://:{SECRET}@10.0.0.3:6379/x/{'a' * 3000}",  # too long
        f"http://user:{SECRET}@example.com",  # wrong scheme
    ],
)
def test_no_part_of_the_password_leaks_from_errors(text: str) -> None:
    with pytest.raises(EndpointError) as info:
        parse_endpoint(text)
    for shown in (str(info.value), repr(info.value), info.value.value):
        assert SECRET not in shown and "@ss@" not in shown and "more@" not in shown


def test_non_string_is_rejected() -> None:
    with pytest.raises(EndpointError, match="must be a string"):
        parse_endpoint(6379)  # type: ignore[arg-type]


def test_redact_text_handles_urls_and_known_secrets() -> None:
    assert redact_text(f"redis://u:{SECRET}@h:1/0") == "redis://u:***@h:1/0"
    assert redact_text(f"AUTH default {SECRET} failed", (SECRET, None)) == "AUTH default *** failed"


@pytest.mark.parametrize(
    ("host", "private"),
    [
        ("10.0.0.3", True),
        ("10.255.255.255", True),
        ("172.16.0.1", True),
        ("172.31.255.1", True),
        ("172.32.0.1", False),
        ("192.168.1.20", True),
        ("192.169.0.1", False),
        ("127.0.0.1", False),
        ("8.8.8.8", False),
        ("fd00::5", True),
        ("::1", False),
        ("redis.internal", False),
        (None, False),
    ],
)
def test_private_address_classification(host: str | None, private: bool) -> None:
    assert is_private_address(host) is private


def _explain(exc: BaseException, text: str, **kwargs: object) -> ConnectError:
    return explain_failure(exc, parse_endpoint(text), **kwargs)  # type: ignore[arg-type]


def test_timeout_to_private_address_explains_vpc_and_tunnel() -> None:
    # A timeout made here, not on the network: the classification is what is under test.
    err = _explain(redis.exceptions.TimeoutError("Timeout connecting to server"), "redis://10.1.2.3:6379")
    assert isinstance(err, PrivateNetworkTimeout) and isinstance(err, ConnectTimeout)
    message = str(err)
    for needle in (
        "VPC",
        "Workbench",
        "Colab Enterprise",
        "gcloud compute ssh VM -- -N -L 6379:10.1.2.3:6379",
        "ENDPOINT = 'local'",
        "redis://127.0.0.1:6379",
    ):
        assert needle in message
    public = _explain(TimeoutError("timed out"), "redis://203.0.113.9:6379")
    assert type(public) is ConnectTimeout and "VPC" not in str(public)
    unreachable = _explain(
        redis.exceptions.ConnectionError("Error 101 connecting. Network is unreachable."), "192.168.3.4"
    )
    assert isinstance(unreachable, PrivateNetworkTimeout)


@pytest.mark.parametrize(
    ("exc", "text", "cls", "needle"),
    [
        (
            redis.exceptions.ConnectionError("Error 111 connecting to h:1. Connection refused."),
            "h:1",
            ConnectionRefused,
            "nothing accepts connections",
        ),
        (
            redis.exceptions.ConnectionError("Error 2 connecting to /x.sock. No such file or directory."),
            "unix:///x.sock",
            ConnectionRefused,
            "server is running",
        ),
        (
            redis.exceptions.ConnectionError("Error -2 connecting to nohost:6379. Name or service not known."),
            "nohost",
            UnknownHost,
            "does not resolve",
        ),
        (
            redis.exceptions.ConnectionError("Error 104 while writing to socket. Connection reset by peer."),
            "redis://h:6378",
            TLSMismatch,
            "use rediss://",
        ),
        (
            redis.exceptions.ConnectionError(
                "Error 1 connecting to h:6379. [SSL: WRONG_VERSION_NUMBER] wrong version number"
            ),
            "rediss://h:6379",
            TLSMismatch,
            "does not speak TLS",
        ),
        (
            redis.exceptions.ConnectionError(
                "Error 1 connecting. [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"
            ),
            "rediss://h",
            CertificateRejected,
            "ca_certs=",
        ),
        (
            redis.exceptions.AuthenticationError("invalid username-password pair or user is disabled."),
            "h",
            AuthenticationFailed,
            "rejected the password",
        ),
        (redis.exceptions.ResponseError("DB index is out of range"), "h/40", ConnectError, "database 40"),
    ],
)
def test_failures_are_classified_with_next_step(exc: BaseException, text: str, cls: type, needle: str) -> None:
    err = _explain(exc, text, has_password=True)
    assert type(err) is cls
    assert needle in str(err)


def test_explanations_never_echo_secrets() -> None:
    # RESP3's HELLO error carries the password in its text; it must be scrubbed.
    exc = redis.exceptions.ResponseError(
        f"unknown command 'HELLO', with args beginning with: '3' 'AUTH' 'default' '{SECRET}'"
    )
    err = _explain(exc, "redis://h", secrets=(SECRET,))
    assert SECRET not in str(err) and "***" in str(err)
    iam = _explain(redis.exceptions.AuthenticationError("WRONGPASS"), "h", iam=True)
    assert "IAM access token" in str(iam)
    missing = _explain(redis.exceptions.ResponseError("NOAUTH Authentication required."), "h")
    assert isinstance(missing, AuthenticationFailed) and "requires an AUTH string" in str(missing)


def test_retry_policy_classifies_transient_errors() -> None:
    retry = BoundedRetry(budget=0.3, base=0.01, cap=0.02)
    calls: list[int] = []

    def refused_then_ok() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise redis.exceptions.ConnectionError("Error 111 connecting. Connection refused.")
        return "ok"

    assert retry.call_with_retry(refused_then_ok, lambda _e: None) == "ok"
    assert len(calls) == 3

    for permanent in (
        redis.exceptions.AuthenticationError("invalid password"),
        redis.exceptions.ConnectionError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
        redis.exceptions.TimeoutError("Timeout reading from h:1"),
    ):
        calls.clear()

        def fail(err: Exception = permanent) -> None:
            calls.append(1)
            raise err

        with pytest.raises(type(permanent)):
            retry.call_with_retry(fail, lambda _e: None)
        assert len(calls) == 1, permanent


def test_retry_gives_up_after_its_budget() -> None:
    import time

    retry = BoundedRetry(budget=0.3, base=0.01, cap=0.05)

    def always_refused() -> None:
        raise redis.exceptions.ConnectionError("Connection refused")

    started = time.monotonic()
    with pytest.raises(redis.exceptions.ConnectionError):
        retry.call_with_retry(always_refused, lambda _e: None)
    assert time.monotonic() - started < 1.0


def test_parsing_logs_no_password(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    parse_endpoint(f"redis://:{SECRET}@10.0.0.3")
    with pytest.raises(EndpointError):
        parse_endpoint(f"redis://:{SECRET}@10.0.0.3:bad")
    assert SECRET not in caplog.text
