"""connect() against real servers: plain, AUTH, TLS, IAM token rotation, crash and restart."""

# ruff: noqa: F811  (pytest fixtures imported from helpers.servers are parameters here)

from __future__ import annotations

import datetime
import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import google.auth.credentials
import google.auth.transport.requests
import pytest
import redis
import redis.cluster
from helpers.servers import (  # noqa: F401
    AUTH_STRING,
    DEBIAN_REDIS,
    TLSFiles,
    auth_server,
    make_ca,
    plain_server,
    tls_files,
    tls_server,
)
from langchain_core.messages import AIMessage, HumanMessage

from memstore_nb.connection import BoundedRetry, Endpoint, connect, connect_with_info, parse_endpoint
from memstore_nb.connection import client as endpoint_module
from memstore_nb.errors import (
    ArgumentError,
    AuthenticationFailed,
    CertificateRejected,
    ConnectError,
    ConnectionRefused,
    ConnectTimeout,
    ServerTooOld,
    TLSMismatch,
)
from memstore_nb.history import MemorystoreChatMessageHistory
from memstore_nb.local import LocalRedis, LocalRedisCluster, free_port, start_local_redis

FAST = 0.5  # seconds: connection-failure tests must stay quick


def _kwargs(client: redis.Redis) -> dict:
    return client.connection_pool.connection_kwargs


# --- plain --------------------------------------------------------------------------------------


def test_connect_plain_pins_resp2_timeouts_and_retry(redis_url: str) -> None:
    client, info = connect_with_info(redis_url, timeout=2.0)
    try:
        assert isinstance(client, redis.Redis) and client.ping() is True
        kwargs = _kwargs(client)
        assert kwargs["protocol"] == 2
        assert kwargs["socket_timeout"] == 2.0 and kwargs["socket_connect_timeout"] == 2.0
        assert isinstance(kwargs["retry"], BoundedRetry) and kwargs["retry"].budget == 5.0
        assert info.mode == "standalone" and info.version.count(".") == 2 and info.latency_ms >= 0
    finally:
        client.close()


@pytest.mark.parametrize("form", ["bare", "hostport", "endpoint"])
def test_connect_accepts_every_form(redis_server: LocalRedis, form: str) -> None:
    target: str | Endpoint = {
        "bare": f"  127.0.0.1:{redis_server.port}  ",
        "hostport": f"localhost:{redis_server.port}",
        "endpoint": Endpoint("tcp", "127.0.0.1", redis_server.port),
    }[form]
    client = connect(target, timeout=FAST)
    assert client.ping() is True
    client.close()


def test_db_index_is_used(redis_server: LocalRedis) -> None:
    key = f"test-db-{uuid.uuid4().hex}"
    client = connect(f"redis://127.0.0.1:{redis_server.port}/3", timeout=FAST)
    other = connect(f"redis://127.0.0.1:{redis_server.port}/0", timeout=FAST)
    try:
        client.set(key, "x")
        assert other.exists(key) == 0 and client.get(key) == b"x"
    finally:
        client.delete(key)
        client.close()
        other.close()


def test_local_endpoint_uses_the_embedded_server() -> None:
    client, info = connect_with_info("local", password="ignored-for-local")
    assert client.ping() is True and info.endpoint.startswith("local (unix://")
    again = connect("local")
    assert _kwargs(again)["path"] == _kwargs(client)["path"]  # one local store, at one address


def test_unix_socket(tmp_path: Path) -> None:
    sock = tmp_path / "r.sock"
    server = start_local_redis(args=["--unixsocket", str(sock), "--unixsocketperm", "700"])
    try:
        client = connect(f"unix://{sock}", timeout=FAST)
        assert client.ping() is True
        client.close()
    finally:
        server.stop()
    with pytest.raises(ConnectionRefused):
        connect(f"unix://{tmp_path}/missing.sock", timeout=FAST)


def test_refused_port_fails_fast_with_next_step() -> None:
    port = free_port()
    started = time.monotonic()
    with pytest.raises(ConnectionRefused) as info:
        connect(f"redis://127.0.0.1:{port}", timeout=FAST)
    assert time.monotonic() - started < 0.5  # no retry on the first probe
    assert "ENDPOINT = 'local'" in str(info.value) and info.value.endpoint == f"redis://127.0.0.1:{port}"
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_silent_listener_times_out_with_a_clear_error() -> None:
    # A loopback socket that accepts and never answers: a timeout made on this machine.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(ConnectTimeout) as info:
            connect(f"redis://127.0.0.1:{port}", timeout=0.3)
        elapsed = time.monotonic() - started
    assert 0.25 < elapsed < 2.0
    assert "no answer within the timeout" in str(info.value) and "VPC" not in str(info.value)


def test_version_check_uses_the_reported_version(redis_server: LocalRedis, monkeypatch: pytest.MonkeyPatch) -> None:
    client, info = connect_with_info(redis_server.url, timeout=FAST)
    major = int(info.version.split(".")[0])
    assert major >= 5
    client.close()
    # Pretend the minimum is above this real server's version: the same check must refuse it.
    monkeypatch.setattr(endpoint_module, "MIN_VERSION", (major + 1, 0))
    with pytest.raises(ServerTooOld) as err:
        connect(redis_server.url, timeout=FAST)
    assert err.value.version == info.version and "needs Redis 5.0 or newer" in str(err.value)


def test_cluster_true_on_a_standalone_server_is_refused(redis_server: LocalRedis) -> None:
    with pytest.raises(ConnectError, match="not a Redis Cluster"):
        connect(redis_server.url, cluster=True, timeout=FAST)


def test_bad_timeout_and_option_mixes() -> None:
    with pytest.raises(ArgumentError):
        connect("local", timeout=0)
    with pytest.raises(ArgumentError, match="not both"):
        connect("redis://127.0.0.1:1", password="x", iam=True)
    with pytest.raises(ArgumentError, match="only used with iam=True"):
        connect("redis://127.0.0.1:1", credentials=object())


# --- AUTH string ------------------------------------------------------------------------------


def test_auth_string_right_wrong_and_missing(auth_server: LocalRedis, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"redis://127.0.0.1:{auth_server.port}"
    ok = connect(url, password=AUTH_STRING, timeout=FAST)
    assert ok.ping() is True
    assert AUTH_STRING not in repr(ok) and AUTH_STRING not in repr(ok.connection_pool)
    ok.close()
    in_url = connect(f"redis://:{AUTH_STRING}@127.0.0.1:{auth_server.port}", timeout=FAST)
    assert in_url.ping() is True
    in_url.close()

    wrong = AUTH_STRING + "-typo"
    started = time.monotonic()
    with pytest.raises(AuthenticationFailed) as err:
        connect(url, password=wrong, timeout=FAST)
    assert time.monotonic() - started < 0.5  # never retried
    assert "rejected the password" in str(err.value)
    with pytest.raises(AuthenticationFailed) as err_url:
        connect(f"redis://user:{wrong}@127.0.0.1:{auth_server.port}", timeout=FAST)
    with pytest.raises(AuthenticationFailed) as missing:
        connect(url, timeout=FAST)
    assert "requires an AUTH string" in str(missing.value)
    for exc in (err.value, err_url.value, missing.value):
        for text in (str(exc), repr(exc), exc.endpoint):
            assert wrong not in text and AUTH_STRING not in text
    assert AUTH_STRING not in caplog.text and wrong not in caplog.text


def test_password_to_a_server_without_one(redis_server: LocalRedis) -> None:
    with pytest.raises(AuthenticationFailed) as err:
        connect(redis_server.url, password="unneeded-secret", timeout=FAST)
    assert "unneeded-secret" not in str(err.value)


# --- TLS --------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_", ["path", "pathlike", "pem", "pem-bytes"])
def test_tls_verified_with_ca_as_path_or_pem(tls_server: LocalRedis, tls_files: TLSFiles, as_: str) -> None:
    ca = {
        "path": str(tls_files.ca_path),
        "pathlike": tls_files.ca_path,
        "pem": tls_files.ca_pem,
        "pem-bytes": tls_files.ca_pem.encode(),
    }[as_]
    client = connect(tls_server.url, ca_certs=ca, timeout=2.0)  # type: ignore[arg-type]
    kwargs = _kwargs(client)
    assert kwargs["ssl_cert_reqs"] == "required"
    assert client.set("tls-check", "1") and client.get("tls-check") == b"1"
    client.close()
    by_name = connect(f"rediss://localhost:{tls_server.port}", ca_certs=ca, timeout=2.0)  # type: ignore[arg-type]
    assert by_name.ping() is True
    by_name.close()


def test_tls_wrong_or_missing_ca_is_rejected(tls_server: LocalRedis, tmp_path: Path) -> None:
    _key, _cert, other_ca = make_ca(tmp_path, "other")
    for ca in (str(other_ca), None):
        started = time.monotonic()
        with pytest.raises(CertificateRejected) as err:
            connect(tls_server.url, ca_certs=ca, timeout=FAST)
        assert time.monotonic() - started < 1.0
        assert "ca_certs=" in str(err.value) and "CERTIFICATE_VERIFY_FAILED" in str(err.value)


def test_plain_url_to_tls_port_suggests_rediss(tls_server: LocalRedis) -> None:
    with pytest.raises(TLSMismatch) as err:
        connect(f"redis://127.0.0.1:{tls_server.port}", timeout=FAST)
    assert "use rediss://" in str(err.value) and "6378" in str(err.value)


def test_rediss_to_plain_port_suggests_redis(redis_server: LocalRedis, tls_files: TLSFiles) -> None:
    with pytest.raises(TLSMismatch) as err:
        connect(f"rediss://127.0.0.1:{redis_server.port}", ca_certs=tls_files.ca_pem, timeout=0.3)
    assert "use redis://" in str(err.value)


def test_ca_certs_problems_are_argument_errors(tls_server: LocalRedis, tmp_path: Path) -> None:
    with pytest.raises(ArgumentError, match="use rediss://"):
        connect(f"redis://127.0.0.1:{tls_server.port}", ca_certs=str(tmp_path / "x.pem"))
    with pytest.raises(ArgumentError, match="no file"):
        connect(tls_server.url, ca_certs=str(tmp_path / "missing.pem"))
    with pytest.raises(ArgumentError, match="not a valid certificate"):
        connect(tls_server.url, ca_certs="-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----")


# --- IAM --------------------------------------------------------------------------------------


class RotatingCredentials(google.auth.credentials.Credentials):
    """Real google-auth credentials whose refresh() hands out the server's current token."""

    def __init__(self, current: dict[str, str]) -> None:
        super().__init__()
        self._current = current
        self.refreshes = 0

    def refresh(self, request: object) -> None:
        assert isinstance(request, google.auth.transport.requests.Request)
        self.token = self._current["token"]
        self.expiry = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) + datetime.timedelta(hours=1)
        self.refreshes += 1

    def age_out(self) -> None:
        """As if the hour had passed."""
        self.expiry = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(seconds=1)


@pytest.fixture()
def iam_server() -> Iterator[LocalRedis]:
    server = start_local_redis(binary=DEBIAN_REDIS)
    admin = redis.Redis(port=server.port, protocol=2)
    admin.execute_command("ACL", "SETUSER", "default", "on", "resetpass", ">token-one-0000", "~*", "&*", "+@all")
    admin.close()
    try:
        yield server
    finally:
        server.stop()


def test_iam_token_rotation(iam_server: LocalRedis, session_id: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    current = {"token": "token-one-0000"}
    creds = RotatingCredentials(current)
    client = connect(iam_server.url, iam=True, credentials=creds, timeout=FAST)
    assert creds.refreshes == 1 and creds.token == "token-one-0000"
    history = MemorystoreChatMessageHistory(client, session_id)
    history.add_message(HumanMessage("before rotation"))

    admin = redis.Redis(port=iam_server.port, password="token-one-0000", protocol=2)
    admin.execute_command("ACL", "SETUSER", "default", "resetpass", ">token-two-1111")
    current["token"] = "token-two-1111"

    assert client.ping() is True  # open connections stay authenticated
    client.connection_pool.disconnect()
    started = time.monotonic()
    with pytest.raises(redis.exceptions.AuthenticationError):
        client.ping()  # the old token is still "fresh", so a new connection fails, at once
    assert time.monotonic() - started < 0.5

    creds.age_out()
    client.connection_pool.disconnect()
    history.add_message(AIMessage("after rotation"))  # new connection, fresh token
    assert creds.refreshes == 2
    assert [m.content for m in history.messages] == ["before rotation", "after rotation"]

    for shown in (repr(client), repr(client.connection_pool), caplog.text):
        assert "token-one-0000" not in shown and "token-two-1111" not in shown
    admin.close()
    client.close()


def test_iam_rejected_token_is_explained(iam_server: LocalRedis) -> None:
    creds = RotatingCredentials({"token": "not-the-token-9999"})
    with pytest.raises(AuthenticationFailed) as err:
        connect(iam_server.url, iam=True, credentials=creds, timeout=FAST)
    assert "IAM access token" in str(err.value) and "not-the-token-9999" not in str(err.value)


# --- faults -----------------------------------------------------------------------------------


@pytest.fixture()
def durable_server() -> Iterator[LocalRedis]:
    # Every acknowledged write is on disk before the reply, so a SIGKILL loses nothing acknowledged.
    server = start_local_redis(binary=DEBIAN_REDIS, args=["--appendonly", "yes", "--appendfsync", "always"])
    try:
        yield server
    finally:
        server.stop()


def test_sigkill_and_restart_mid_session(durable_server: LocalRedis) -> None:
    client = connect(durable_server.url, timeout=1.0)
    history = MemorystoreChatMessageHistory(client, "fault-session")
    history.add_messages([HumanMessage("one"), AIMessage("two")])

    durable_server.kill()
    restarter = threading.Timer(0.4, durable_server.start)
    restarter.start()
    started = time.monotonic()
    history.add_message(HumanMessage("three"))  # refused while down: retried until the server is back
    waited = time.monotonic() - started
    restarter.join()
    assert 0.3 < waited < 5.0
    assert [m.content for m in history.messages] == ["one", "two", "three"]  # none lost, none doubled

    durable_server.kill()
    durable_server.start()
    history.add_message(AIMessage("four"))  # a stale pooled connection: reset, then retried
    assert [m.content for m in history.messages] == ["one", "two", "three", "four"]
    client.close()


def test_write_to_a_dead_server_raises_and_is_not_lost_silently(durable_server: LocalRedis) -> None:
    client = connect(durable_server.url, timeout=FAST)
    client.set_retry(BoundedRetry(budget=0.4))  # the same policy with a test-sized budget
    history = MemorystoreChatMessageHistory(client, "dead-session")
    history.add_message(HumanMessage("kept"))
    durable_server.kill()
    started = time.monotonic()
    with pytest.raises(redis.exceptions.ConnectionError):
        history.add_message(HumanMessage("never acknowledged"))
    assert time.monotonic() - started < 1.5
    durable_server.start()
    assert [m.content for m in history.messages] == ["kept"]
    client.close()


# --- cluster ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def three_shard_cluster() -> Iterator[LocalRedisCluster]:
    cluster = start_local_redis(cluster=True, shards=3, replicas=1, binary=DEBIAN_REDIS)
    try:
        yield cluster
    finally:
        cluster.stop()


def test_cluster_is_detected(three_shard_cluster: LocalRedisCluster) -> None:
    seed = three_shard_cluster.primaries()[1]
    client, info = connect_with_info(f"127.0.0.1:{seed.port}", timeout=2.0)
    assert isinstance(client, redis.cluster.RedisCluster) and info.mode == "cluster"
    history = MemorystoreChatMessageHistory(client, f"cluster-{uuid.uuid4().hex}")
    history.add_message(HumanMessage("on some shard"))
    assert [m.content for m in history.messages] == ["on some shard"]
    history.clear()
    forced = connect(f"127.0.0.1:{seed.port}", cluster=False, timeout=2.0)
    assert isinstance(forced, redis.Redis)
    with pytest.raises(ConnectError, match="only database 0: drop the /2"):
        connect(f"127.0.0.1:{seed.port}/2", timeout=2.0)
    client.close()
    forced.close()


@pytest.mark.slow
def test_cluster_write_waits_out_a_failover(three_shard_cluster: LocalRedisCluster) -> None:
    client = connect(three_shard_cluster.url, timeout=5.0)
    history = MemorystoreChatMessageHistory(client, f"failover-{uuid.uuid4().hex}")
    history.add_message(HumanMessage("before"))
    three_shard_cluster.node_for_key(history.key).kill()  # SIGKILL the shard's primary
    started = time.monotonic()
    history.add_message(AIMessage("during failover"))  # CLUSTERDOWN / refused until a replica is promoted
    waited = time.monotonic() - started
    assert 1.0 < waited < 10.0
    assert [m.content for m in history.messages] == ["before", "during failover"]
    client.close()


def test_local_cluster_endpoint() -> None:
    client, info = connect_with_info("local-cluster")
    assert isinstance(client, redis.cluster.RedisCluster) and info.mode == "cluster"
    assert info.endpoint.startswith("local-cluster (redis://127.0.0.1:")
    history = MemorystoreChatMessageHistory(client, f"local-cluster-{uuid.uuid4().hex}")
    history.add_messages([HumanMessage("q"), AIMessage("a")])
    assert [m.content for m in history.messages] == ["q", "a"]
    history.clear()


def test_parse_endpoint_result_round_trips_through_connect(redis_server: LocalRedis) -> None:
    ep = parse_endpoint(redis_server.url)
    client = connect(ep, timeout=FAST)
    assert client.ping() is True
    client.close()
