"""connect() and aconnect(): from an endpoint to a checked, RESP2, retrying Redis client, or one clear error."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster

from ..errors import ArgumentError, ConnectError, MemstoreError, ServerTooOld
from ..replies import version_tuple
from .diagnose import diagnose
from .endpoint import Endpoint, parse_endpoint
from .local_client import local_server, store_client
from .retry import AsyncBoundedRetry, BoundedRetry, RetryingRedisCluster, no_retry

__all__ = ["MIN_VERSION", "ConnectInfo", "Plan", "aconnect", "connect", "connect_with_info"]

log = logging.getLogger(__name__)

MIN_VERSION = (5, 0)


@dataclass(frozen=True)
class ConnectInfo:
    """What :func:`connect` found: shown by the connection form."""

    endpoint: str
    version: str
    mode: str  # "standalone" or "cluster"
    latency_ms: float


def connect(
    endpoint: str | Endpoint,
    *,
    password: str | None = None,
    ca_certs: str | bytes | os.PathLike[str] | None = None,
    iam: bool = False,
    credentials: Any = None,
    cluster: bool | None = None,
    timeout: float = 5.0,
) -> redis.Redis | redis.cluster.RedisCluster:
    """Connect to Redis / Memorystore and check the server, or explain what to fix.

    The client speaks RESP2 (Redis 5 has no ``HELLO``), has ``timeout`` as socket connect and
    read timeout, and retries transient failures (refused, reset, connect timeout) with jittered
    exponential backoff for at most ``max(2 * timeout, 5)`` seconds, so a restart or failover
    costs a short wait. Authentication, certificate and read-timeout errors are never retried:
    a write either succeeds or raises.

    Args:
        endpoint: an endpoint string (see :func:`parse_endpoint`) or an :class:`Endpoint`;
            ``"local"`` starts or reuses the persistent local store (``memstore_nb.local.store``),
            ``"local-cluster"`` a throw-away embedded cluster.
        password: the AUTH string; overrides one given in the URL.
        ca_certs: the server CA for ``rediss://``: a file path or the PEM text itself.
            Without it the system CAs are used.
        iam: authenticate with a Google access token (Memorystore for Redis Cluster / Valkey).
        credentials: google-auth credentials for ``iam``; Application Default Credentials if None.
        cluster: ``True``/``False`` to force the client kind; ``None`` asks the server (INFO cluster).
        timeout: seconds for connecting and for each reply.

    Returns:
        A ready ``redis.Redis`` or ``redis.cluster.RedisCluster`` (bytes replies, RESP2).

    Raises:
        EndpointError: the endpoint text is malformed.
        ArgumentError: incompatible options (e.g. ``password`` with ``iam``).
        ConnectError: one of its subclasses (ConnectionRefused, PrivateNetworkTimeout,
            AuthenticationFailed, TLSMismatch, CertificateRejected, ServerTooOld, UnknownHost, ...),
            whose message says what to do. No message contains the password or token.

    Example:
        >>> client = connect("local")  # doctest: +SKIP
        >>> client = connect("rediss://10.0.0.3:6378", password=AUTH, ca_certs="server-ca.pem")  # doctest: +SKIP
    """
    client, _info = connect_with_info(
        endpoint,
        password=password,
        ca_certs=ca_certs,
        iam=iam,
        credentials=credentials,
        cluster=cluster,
        timeout=timeout,
    )
    return client


def connect_with_info(
    endpoint: str | Endpoint,
    *,
    password: str | None = None,
    ca_certs: str | bytes | os.PathLike[str] | None = None,
    iam: bool = False,
    credentials: Any = None,
    cluster: bool | None = None,
    timeout: float = 5.0,
) -> tuple[redis.Redis | redis.cluster.RedisCluster, ConnectInfo]:
    """Like :func:`connect`, and also returns the server version, mode and PING latency."""
    plan = _plan(
        endpoint,
        password=password,
        ca_certs=ca_certs,
        iam=iam,
        credentials=credentials,
        cluster=cluster,
        timeout=timeout,
    )
    client: redis.Redis | redis.cluster.RedisCluster
    try:
        if plan.cluster:
            client = _cluster_client(plan)
        elif plan.local:
            client = store_client(plan.kwargs, BoundedRetry(plan.budget))
        else:
            client = redis.Redis(**plan.kwargs, retry=BoundedRetry(plan.budget))
    except MemstoreError:
        raise
    except (redis.exceptions.RedisError, OSError) as exc:
        raise plan.failure(exc) from None
    return client, plan.info


async def aconnect(
    endpoint: str | Endpoint,
    *,
    password: str | None = None,
    ca_certs: str | bytes | os.PathLike[str] | None = None,
    iam: bool = False,
    credentials: Any = None,
    cluster: bool | None = None,
    timeout: float = 5.0,
) -> redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster:
    """The async twin of :func:`connect`: the same checks, errors and retry policy, an asyncio client.

    Returns a ``redis.asyncio.Redis`` or ``redis.asyncio.cluster.RedisCluster`` (RESP2, bytes
    replies, transient failures retried within the same bounded budget). The server checks run in
    a worker thread, so the event loop is never blocked; the asyncio client is the only one made.

    Example:
        >>> client = await aconnect("local")  # doctest: +SKIP
        >>> history = MemorystoreChatMessageHistory(client, "session1")  # doctest: +SKIP
        >>> await history.aadd_messages([HumanMessage("hi")])  # doctest: +SKIP
    """
    import asyncio

    plan = await asyncio.to_thread(
        _plan,
        endpoint,
        password=password,
        ca_certs=ca_certs,
        iam=iam,
        credentials=credentials,
        cluster=cluster,
        timeout=timeout,
    )
    async_kwargs = dict(plan.kwargs)
    if "password" in async_kwargs:
        # redis.asyncio before redis-py 7 prints connection kwargs, password included, in its repr;
        # a credential provider is shown only as an object.
        from redis.credentials import UsernamePasswordCredentialProvider

        async_kwargs["credential_provider"] = UsernamePasswordCredentialProvider(
            async_kwargs.pop("username", None), async_kwargs.pop("password")
        )
    client: redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster
    try:
        if plan.cluster:
            _check_cluster_endpoint(plan)
            node_kwargs = {k: v for k, v in async_kwargs.items() if k != "db"}
            client = redis.asyncio.cluster.RedisCluster(**node_kwargs, retry=AsyncBoundedRetry(plan.budget))
            await client.ping(target_nodes=redis.asyncio.cluster.RedisCluster.ALL_NODES)
        else:
            retry = AsyncBoundedRetry(plan.budget)
            if plan.local:
                client = store_client(async_kwargs, retry, asyncio=True)
            else:
                client = redis.asyncio.Redis(**async_kwargs, retry=retry)
            await client.ping()
    except MemstoreError:
        raise
    except (redis.exceptions.RedisError, OSError) as exc:
        with contextlib.suppress(Exception):
            await client.aclose()
        raise await asyncio.to_thread(plan.failure, exc) from None
    return client


@dataclass(frozen=True)
class Plan:
    """Everything :func:`connect` and :func:`aconnect` decided before making a client: made once, by one probe.

    Attributes:
        endpoint: where to connect (the local store's own address for ``"local"``).
        shown: the endpoint as messages show it (no password).
        kwargs: the client's keyword arguments (RESP2, timeouts, auth, TLS).
        cluster: whether to make a cluster client.
        budget: seconds the retry policy may spend on transient failures.
        info: what the probe found (version, mode, latency).
        iam: whether the client authenticates with IAM tokens.
        timeout: seconds for connecting and for each reply.
        local: the endpoint is the local store (its client waits out restarts; see ``local_client``).
    """

    endpoint: Endpoint
    shown: str
    kwargs: dict[str, Any] = field(repr=False)
    cluster: bool
    budget: float
    info: ConnectInfo
    iam: bool = False
    timeout: float = 5.0
    local: bool = False

    def failure(self, exc: BaseException) -> ConnectError:
        """The :class:`ConnectError` that says what to do about ``exc`` (may probe the port; blocking)."""
        password = self.kwargs.get("password")
        return diagnose(
            exc,
            self.endpoint,
            shown=self.shown,
            secrets=(password,),
            iam=self.iam,
            has_password=bool(password),
            timeout=self.timeout,
        )


def _plan(
    endpoint: str | Endpoint,
    *,
    password: str | None,
    ca_certs: str | bytes | os.PathLike[str] | None,
    iam: bool,
    credentials: Any,
    cluster: bool | None,
    timeout: float,
) -> Plan:
    ep = parse_endpoint(endpoint)
    local = False
    if not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ArgumentError(f"timeout must be a positive number of seconds, not {timeout!r}", timeout)
    shown = ep.to_url()
    if ep.kind in ("local", "local-cluster"):
        if password or iam or ca_certs:
            log.info("%s: the embedded server needs no password, IAM or CA; those options are ignored", ep.kind)
        local = ep.kind == "local"
        server = local_server(cluster=not local)
        if not local:
            cluster = True
        shown = f"{ep.kind} ({server.url})"  # the local store's url carries no password
        # The local store's socket path is used as it is: no URL parsing of a directory's name.
        ep = Endpoint(kind="unix", path=str(server.socket)) if local else parse_endpoint(server.url)
        password, iam, ca_certs, credentials = getattr(server, "password", None) or None, False, None, None
    kwargs = _client_kwargs(ep, password, ca_certs, iam, credentials, timeout)
    budget = max(2.0 * timeout, 5.0)
    unchecked = Plan(ep, shown, kwargs, bool(cluster), budget, ConnectInfo(shown, "", "", 0.0), iam, timeout, local)
    try:
        version, cluster_enabled, latency = _probe(kwargs)
    except (redis.exceptions.RedisError, OSError) as exc:
        # Not chained ("from None"): redis-py's own traceback is what the reader must not have to
        # read, and with RESP3 its text can hold the password. The scrubbed text is kept in the message.
        raise unchecked.failure(exc) from None
    if version < MIN_VERSION:
        raise ServerTooOld(
            f"{shown} runs Redis {'.'.join(map(str, version))}; memstore-nb needs Redis 5.0 or newer: "
            "upgrade the instance (Memorystore: Console > your instance > Upgrade) or use ENDPOINT = 'local'",
            shown,
            ".".join(map(str, version)),
        )
    if cluster is None:
        cluster = cluster_enabled
    elif cluster and not cluster_enabled:
        raise ConnectError(
            f"{shown} is not a Redis Cluster (INFO cluster says cluster_enabled:0): use cluster=None or False",
            shown,
        )
    elif not cluster and cluster_enabled:
        log.warning("%s is a cluster node but cluster=False: keys on other shards will fail with MOVED", shown)
    mode = "cluster" if cluster else "standalone"
    info = ConnectInfo(shown, ".".join(map(str, version)), mode, latency)
    log.info("connected to %s: Redis %s, %s, PING %.1f ms", shown, info.version, mode, latency)
    return Plan(ep, shown, kwargs, bool(cluster), budget, info, iam, timeout, local)


def _client_kwargs(
    ep: Endpoint,
    password: str | None,
    ca_certs: str | bytes | os.PathLike[str] | None,
    iam: bool,
    credentials: Any,
    timeout: float,
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "db": ep.db,
        "protocol": 2,
        "socket_connect_timeout": timeout,
        "socket_timeout": timeout,
    }
    if ep.kind == "unix":
        kwargs["unix_socket_path"] = ep.path
    else:
        kwargs.update(host=ep.host, port=ep.port)
    secret = password if password is not None else ep.password
    if iam:
        if secret:
            raise ArgumentError("use either an AUTH string (password) or iam=True, not both")
        from .auth import GoogleIAMCredentialProvider

        kwargs["credential_provider"] = GoogleIAMCredentialProvider(credentials)
    else:
        if credentials is not None:
            raise ArgumentError("credentials= is only used with iam=True")
        if secret:
            kwargs["password"] = secret
        if ep.username:
            kwargs["username"] = ep.username
    if ep.tls:
        kwargs.update(ssl=True, ssl_cert_reqs="required", **_ca_kwargs(ca_certs))
    elif ca_certs is not None:
        raise ArgumentError(
            f"ca_certs was given but {ep.to_url()} is not TLS: use rediss:// (Memorystore's TLS port is 6378)"
        )
    return kwargs


def _ca_kwargs(ca_certs: str | bytes | os.PathLike[str] | None) -> dict[str, Any]:
    import ssl

    if ca_certs is None:
        return {}
    if isinstance(ca_certs, bytes):
        ca_certs = ca_certs.decode("ascii", errors="replace")
    text = os.fspath(ca_certs)
    if "-----BEGIN" in text:
        pem = text.strip() + "\n"
        try:
            ssl.create_default_context(cadata=pem)
        except (ssl.SSLError, ValueError) as exc:
            raise ArgumentError(f"ca_certs holds PEM text that is not a valid certificate ({exc})") from None
        return {"ssl_ca_data": pem}
    if not os.path.isfile(text):
        raise ArgumentError(
            f"ca_certs: no file {text!r}; pass the CA file's path, or its PEM text "
            "(it starts with -----BEGIN CERTIFICATE-----)",
            text,
        )
    return {"ssl_ca_certs": text}


def _probe(kwargs: dict[str, Any]) -> tuple[tuple[int, ...], bool, float]:
    """One attempt, no retries: PING, server version, cluster mode."""
    probe = redis.Redis(**kwargs, retry=no_retry(), single_connection_client=True)
    try:
        started = time.perf_counter()
        probe.ping()
        latency = (time.perf_counter() - started) * 1000.0
        server = probe.info("server")
        try:
            cluster_enabled = bool(int(probe.info("cluster").get("cluster_enabled", 0)))
        except redis.exceptions.ResponseError:
            cluster_enabled = False  # some managed servers restrict INFO sections
        return version_tuple(server.get("redis_version", "0")), cluster_enabled, latency
    finally:
        probe.close()


def _check_cluster_endpoint(plan: Plan) -> None:
    if plan.endpoint.kind == "unix":
        raise ArgumentError("a Redis Cluster is reached over TCP, not a unix socket")
    if plan.endpoint.db:
        raise ArgumentError(f"{plan.shown}: a Redis Cluster has only database 0; drop the /{plan.endpoint.db}")


def _cluster_client(plan: Plan) -> redis.cluster.RedisCluster:
    _check_cluster_endpoint(plan)
    node_kwargs = {k: v for k, v in plan.kwargs.items() if k != "db"}
    client = RetryingRedisCluster(outer_retry=BoundedRetry(plan.budget), **node_kwargs)
    client.ping(target_nodes=redis.cluster.RedisCluster.ALL_NODES)
    return client
