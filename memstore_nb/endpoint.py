"""Endpoint strings and connect(): from a form value to a checked, RESP2, retrying Redis client."""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import socket
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster

from .errors import (
    ArgumentError,
    AuthenticationFailed,
    CertificateRejected,
    ConnectError,
    ConnectionRefused,
    ConnectTimeout,
    EndpointError,
    MemstoreError,
    PrivateNetworkTimeout,
    ServerTooOld,
    TLSMismatch,
    UnknownHost,
)
from .retry import AsyncBoundedRetry, BoundedRetry, RetryingRedisCluster, no_retry

__all__ = ["Endpoint", "aconnect", "connect", "is_private_address", "parse_endpoint", "redact_endpoint"]

log = logging.getLogger(__name__)


ACCEPTED_FORMS = (
    "accepted forms: redis://[user[:password]@]host[:port][/db], rediss://... (TLS), "
    "unix:///path/to/redis.sock, host:port, host, [IPv6]:port, local"
)
MIN_VERSION = (5, 0)
_MAX_LEN = 2048
_MAX_HOST = 253  # RFC 1035: a name of at most 253 characters, labels of at most 63
_MAX_LABEL = 63
_HOST_RE = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?")
# Up to the LAST '@', as the parser splits there: an unencoded '@' in a password stays hidden.
_USERINFO_PASSWORD_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)?([^:@/]*):(.*)@", re.DOTALL)
# Values that walkthroughs and docs use as "fill this in"; connecting to them can only fail.
_PLACEHOLDERS = re.compile(
    r"<[^>]*>|\byour[-_ ]?(redis|instance|host|ip|endpoint|server)|\bx\.x\b"
    r"|\bmy-redis-host\b|\bredis_host\b|\binstance_ip\b|\bhost:port\b"
    r"|^(endpoint|changeme|todo|placeholder|hostname)$",
    re.IGNORECASE,
)
_SCHEMES = {"redis": False, "rediss": True}


@dataclass(frozen=True)
class Endpoint:
    """A parsed endpoint. Made by :func:`parse_endpoint`; the password never shows in ``repr``/``str``.

    Attributes:
        kind: ``"tcp"``, ``"unix"``, ``"local"`` (embedded Redis) or ``"local-cluster"``.
        host: host name or IP address (IPv6 without brackets), for ``tcp``.
        port: TCP port, for ``tcp``.
        db: database index (0 unless given).
        tls: ``True`` for ``rediss://``.
        username: ACL user name from the URL, if any.
        password: AUTH string from the URL, if any (left out of ``repr`` and equality).
        path: socket file, for ``unix``.
    """

    kind: str
    host: str | None = None
    port: int | None = None
    db: int = 0
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False, compare=False)
    path: str | None = None

    def __repr__(self) -> str:
        return f"Endpoint({self.to_url(redact=True)!r})"

    def __str__(self) -> str:
        return self.to_url(redact=True)

    def to_url(self, redact: bool = True) -> str:
        """The endpoint as a URL; with ``redact`` (the default) the password reads ``***``.

        Example:
            >>> parse_endpoint("redis://:s3cret@10.0.0.3:6379/2").to_url()
            'redis://:***@10.0.0.3:6379/2'
        """
        if self.kind in ("local", "local-cluster"):
            return self.kind
        userinfo = ""
        if self.username or self.password:
            userinfo = self.username or ""
            if redact and not _SIMPLE_USER_RE.fullmatch(userinfo):
                userinfo = "***"  # a "user name" with '?' or '#' is more likely a mistyped password
            elif not redact:
                userinfo = _quote_userinfo(userinfo)
            if self.password:
                userinfo += ":" + ("***" if redact else _quote_userinfo(self.password))
            userinfo += "@"
        if self.kind == "unix":
            query = f"?db={self.db}" if self.db else ""
            return f"unix://{userinfo}{self.path}{query}"
        host = f"[{self.host}]" if self.host and ":" in self.host else self.host
        db = f"/{self.db}" if self.db else ""
        return f"{'rediss' if self.tls else 'redis'}://{userinfo}{host}:{self.port}{db}"


def _quote_userinfo(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SIMPLE_USER_RE = re.compile(r"[A-Za-z0-9._~%-]*")


def redact_endpoint(text: str) -> str:
    """An endpoint string fit for showing: whatever stands before the last ``@`` reads ``***``.

    Unlike a URL parser, this makes no guess about which ``?``, ``#``, ``/`` or ``:`` belongs to
    the password: everything between the scheme and the last ``@`` is hidden, except a plain user
    name before a ``:`` (``redis://admin:***@host``).

    Example:
        >>> redact_endpoint("redis://:abc?Pw-S3cr3t@127.0.0.1:7351")
        'redis://:***@127.0.0.1:7351'
    """
    scheme = _SCHEME_RE.match(text)
    start = scheme.end() if scheme else 0
    at = text.rfind("@")
    if at < start:
        return text
    user, colon, _secret = text[start:at].partition(":")
    keep = user + ":" if colon and _SIMPLE_USER_RE.fullmatch(user) else ""
    return f"{text[:start]}{keep}***{text[at:]}"


def redact_text(text: str, secrets: tuple[str | None, ...] = ()) -> str:
    """``text`` with URL passwords and each of ``secrets`` replaced by ``***``."""
    out = _USERINFO_PASSWORD_RE.sub(lambda m: f"{m.group(1) or ''}{m.group(2)}:***@", text, count=1)
    for secret in secrets:
        if secret:
            out = out.replace(secret, "***")
    return out


def _bad(problem: str, raw: str) -> EndpointError:
    shown = redact_endpoint(raw)
    if len(shown) > 80:
        shown = shown[:80] + "…"
    return EndpointError(f"{problem} in endpoint {shown!r}; {ACCEPTED_FORMS}", shown)


def parse_endpoint(text: str | Endpoint) -> Endpoint:
    """Parse an endpoint string as typed in a form cell.

    Args:
        text: e.g. ``"redis://10.0.0.3:6379"``, ``"rediss://:AUTH@10.0.0.3:6378/0"``,
            ``"unix:///run/redis.sock"``, ``"10.0.0.3:6379"``, ``"[::1]:6380"`` or ``"local"``.
            Surrounding whitespace is ignored. An :class:`Endpoint` is returned as is.

    Returns:
        The frozen :class:`Endpoint`.

    Raises:
        EndpointError: the message quotes the (redacted) value, names the wrong part and
            lists the accepted forms.

    Example:
        >>> parse_endpoint(" 10.0.0.3 ")
        Endpoint('redis://10.0.0.3:6379')
    """
    if isinstance(text, Endpoint):
        return text
    if not isinstance(text, str):
        raise EndpointError(f"an endpoint must be a string, not {type(text).__name__}; {ACCEPTED_FORMS}")
    raw = text.strip()
    if not raw:
        raise _bad("nothing was entered", raw)
    if len(raw) > _MAX_LEN:
        raise _bad(f"the value is {len(raw)} characters long (at most {_MAX_LEN})", raw)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in raw):
        raise _bad("control characters (a pasted newline or tab?)", raw)
    lowered = raw.lower()
    if lowered in ("local", "local-cluster"):
        return Endpoint(kind=lowered)
    if _PLACEHOLDERS.search(redact_endpoint(raw)):  # a password may look like anything
        raise _bad(
            "this is a placeholder, not an address: replace it with your instance's IP and port "
            "(Console > Memorystore > your instance > Connections), or use 'local' to try the walkthrough",
            raw,
        )
    scheme, sep, rest = raw.partition("://")
    if not sep:
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:/", raw):
            raise _bad("the scheme needs '://'", raw)
        scheme, rest = "redis", raw
    scheme = scheme.lower()
    if scheme == "unix":
        return _parse_unix(rest, raw)
    if scheme not in _SCHEMES:
        raise _bad(f"unsupported scheme {scheme + '://'!r} (use redis://, rediss:// or unix://)", raw)
    return _parse_tcp(rest, raw, tls=_SCHEMES[scheme])


def _split_userinfo(rest: str, raw: str) -> tuple[str | None, str | None, str]:
    userinfo, at, hostpart = rest.rpartition("@")
    if not at:
        return None, None, rest
    user, colon, password = userinfo.partition(":")
    if any(ch.isspace() for ch in userinfo):
        raise _bad("spaces inside the user name or password (percent-encode them as %20)", raw)
    return (unquote(user) or None), (unquote(password) if colon and password else None), hostpart


def _parse_query(query: str, raw: str) -> int | None:
    if not query:
        return None
    db: int | None = None
    for item in query.split("&"):
        name, _, value = item.partition("=")
        if name != "db":
            raise _bad(
                f"unsupported query parameter {name!r} (only ?db=N; pass TLS and auth options to connect())", raw
            )
        db = _parse_db(value, raw)
    return db


def _parse_db(text: str, raw: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 5:
        raise _bad(f"bad database index {text!r} (a whole number such as 0)", raw)
    return int(text)


def _parse_unix(rest: str, raw: str) -> Endpoint:
    # The user info first, up to the LAST '@': a password may hold '?', '#', '/', ':' or '@'.
    user, password, rest = _split_userinfo(rest, raw)
    if "#" in rest:
        raise _bad("stray '#'", raw)
    path, _, query = rest.partition("?")
    if not path.startswith("/") or path == "/":
        raise _bad("a unix socket needs an absolute path, e.g. unix:///run/redis.sock", raw)
    db = _parse_query(query, raw)
    return Endpoint(kind="unix", path=unquote(path), db=db or 0, username=user, password=password)


def _parse_tcp(rest: str, raw: str, *, tls: bool) -> Endpoint:
    # The user info first, up to the LAST '@': a password may hold '?', '#', '/', ':' or '@'.
    user, password, rest = _split_userinfo(rest, raw)
    if "#" in rest:
        raise _bad("stray '#'", raw)
    rest, _, query = rest.partition("?")
    authority, slash, dbpart = rest.partition("/")
    db = 0
    if slash and dbpart:
        db = _parse_db(dbpart, raw)
    query_db = _parse_query(query, raw)
    if query_db is not None:
        db = query_db
    if any(ch.isspace() for ch in authority):
        raise _bad("spaces inside the host:port part", raw)
    if not authority:
        raise _bad("the host is missing", raw)
    host, port_text = _split_host_port(authority, raw)
    port = 6378 if tls and port_text is None else 6379
    if port_text is not None:
        if not port_text:
            raise _bad("the port is missing after ':'", raw)
        if not port_text.isascii() or not port_text.isdigit():
            raise _bad(f"the port {port_text!r} is not a number", raw)
        port = int(port_text)
        if not 1 <= port <= 65535:
            raise _bad(f"the port {port} is out of range (1-65535)", raw)
    return Endpoint(kind="tcp", host=host, port=port, db=db, tls=tls, username=user, password=password)


def _split_host_port(authority: str, raw: str) -> tuple[str, str | None]:
    if authority.startswith("["):
        inside, close, after = authority[1:].partition("]")
        if not close:
            raise _bad("an IPv6 address opened with '[' but has no closing ']'", raw)
        try:
            host = str(ipaddress.IPv6Address(inside))
        except ValueError:
            raise _bad(f"{inside!r} inside the brackets is not an IPv6 address", raw) from None
        if after and not after.startswith(":"):
            raise _bad(f"stray characters {after!r} after ']'", raw)
        return host, (after[1:] if after else None)
    if "]" in authority:
        raise _bad("a ']' without an opening '['", raw)
    if authority.count(":") > 1:
        raise _bad("an IPv6 address must be written in brackets, e.g. [::1]:6379", raw)
    host, colon, port = authority.partition(":")
    if not host:
        raise _bad("the host is missing", raw)
    if not host.isascii() or not _HOST_RE.fullmatch(host):
        raise _bad(f"stray characters in the host {host!r}", raw)
    name = host.removesuffix(".")
    if len(name) > _MAX_HOST:
        raise _bad(f"the host name is {len(name)} characters long (DNS allows at most {_MAX_HOST})", raw)
    longest = max(name.split("."), key=len)
    if len(longest) > _MAX_LABEL:
        raise _bad(
            f"the host name part {longest[:20] + '…'!r} is {len(longest)} characters long "
            f"(DNS allows at most {_MAX_LABEL} between dots)",
            raw,
        )
    return host, (port if colon else None)


# --- connect() ----------------------------------------------------------------------------------

_PRIVATE_NETS = tuple(
    ipaddress.ip_network(net) for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
_CA_HINT = (
    "pass ca_certs= the instance's server CA, as a file path or as the PEM text itself "
    "(Memorystore: Console > your instance > Security > Download, or "
    "`gcloud redis instances describe INSTANCE --region REGION --format='value(serverCaCerts[0].cert)'`)"
)
_LOCAL_HINT = "to run the walkthrough without an instance, use ENDPOINT = 'local'"


def is_private_address(host: str | None) -> bool:
    """True when ``host`` is an IP literal in 10/8, 172.16/12, 192.168/16 or fc00::/7 (no DNS lookup)."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    return any(address in net for net in _PRIVATE_NETS if net.version == address.version)


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
            ``"local"`` starts or reuses the embedded Redis, ``"local-cluster"`` an embedded cluster.
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
    client, info, _kwargs, _budget = _connect(
        endpoint,
        password=password,
        ca_certs=ca_certs,
        iam=iam,
        credentials=credentials,
        cluster=cluster,
        timeout=timeout,
    )
    return client, info


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
    a worker thread, so the event loop is never blocked.

    Example:
        >>> client = await aconnect("local")  # doctest: +SKIP
        >>> history = MemorystoreChatMessageHistory(client, "session1")  # doctest: +SKIP
        >>> await history.aadd_messages([HumanMessage("hi")])  # doctest: +SKIP
    """
    import asyncio

    checked, info, kwargs, budget = await asyncio.to_thread(
        _connect,
        endpoint,
        password=password,
        ca_certs=ca_certs,
        iam=iam,
        credentials=credentials,
        cluster=cluster,
        timeout=timeout,
    )
    checked.close()
    client: redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster
    if info.mode == "cluster":
        node_kwargs = {k: v for k, v in kwargs.items() if k != "db"}
        client = redis.asyncio.cluster.RedisCluster(**node_kwargs, retry=AsyncBoundedRetry(budget))
    else:
        client = redis.asyncio.Redis(**kwargs, retry=AsyncBoundedRetry(budget))
    try:
        await client.ping()
    except (redis.exceptions.RedisError, OSError) as exc:
        await client.aclose()
        ep = parse_endpoint(endpoint)
        raise explain_failure(exc, ep, shown=info.endpoint, secrets=(kwargs.get("password"),), iam=iam) from None
    return client


def _connect(
    endpoint: str | Endpoint,
    *,
    password: str | None,
    ca_certs: str | bytes | os.PathLike[str] | None,
    iam: bool,
    credentials: Any,
    cluster: bool | None,
    timeout: float,
) -> tuple[redis.Redis | redis.cluster.RedisCluster, ConnectInfo, dict[str, Any], float]:
    ep = parse_endpoint(endpoint)
    if not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ArgumentError(f"timeout must be a positive number of seconds, not {timeout!r}", timeout)
    shown = ep.to_url()
    if ep.kind in ("local", "local-cluster"):
        if password or iam or ca_certs:
            log.info("%s: the embedded Redis needs no password, IAM or CA; those options are ignored", ep.kind)
        server = _local_server(cluster=ep.kind == "local-cluster")
        if ep.kind == "local-cluster":
            cluster = True
        shown = f"{ep.kind} ({server.url})"
        ep = parse_endpoint(server.url)
        password, iam, ca_certs, credentials = None, False, None, None
    kwargs = _client_kwargs(ep, password, ca_certs, iam, credentials, timeout)
    secrets = (kwargs.get("password"),)
    try:
        version, cluster_enabled, latency = _probe(kwargs, ep)
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
        budget = max(2.0 * timeout, 5.0)
        client: redis.Redis | redis.cluster.RedisCluster
        if cluster:
            client = _cluster_client(ep, kwargs, budget, shown)
        else:
            client = redis.Redis(**kwargs, retry=BoundedRetry(budget))
    except MemstoreError:
        raise
    except (redis.exceptions.RedisError, OSError) as exc:
        # Not chained ("from None"): redis-py's own traceback is what the reader must not have to
        # read, and with RESP3 its text can hold the password. The scrubbed text is kept in the message.
        error = explain_failure(exc, ep, shown=shown, secrets=secrets, iam=iam, has_password=bool(secrets[0]))
        if type(error) is ConnectTimeout and ep.tls and _tcp_accepts(ep, timeout):
            error = TLSMismatch(
                f"could not connect to {shown}: the port accepts connections but never answers the TLS "
                "handshake, so it is probably a plain (non-TLS) port: use redis:// instead of rediss://, "
                "or the instance's TLS port (Memorystore: 6378)",
                shown,
            )
        if type(error) in (TLSMismatch, ConnectError) and _answers_http(ep, timeout):
            error = _not_redis(shown)
        raise error from None
    mode = "cluster" if cluster else "standalone"
    info = ConnectInfo(shown, ".".join(map(str, version)), mode, latency)
    log.info("connected to %s: Redis %s, %s, PING %.1f ms", shown, info.version, mode, latency)
    return client, info, kwargs, budget


def _tcp_accepts(ep: Endpoint, timeout: float) -> bool:
    """Whether a plain TCP connection opens (tells "no TLS on this port" from "no answer at all")."""
    try:
        with socket.create_connection((ep.host or "", ep.port or 0), timeout=timeout):
            return True
    except OSError:
        return False


def _answers_http(ep: Endpoint, timeout: float) -> bool:
    """Whether the port answers an HTTP request (tells "a web server" from "a TLS-only Redis").

    Only called after the Redis handshake failed, so a working Redis never sees the request.
    """
    if ep.kind != "tcp":
        return False
    wait = min(timeout, 2.0)
    try:
        with socket.create_connection((ep.host or "", ep.port or 0), timeout=wait) as sock:
            sock.settimeout(wait)
            sock.sendall(b"HEAD / HTTP/1.0\r\n\r\n")
            return sock.recv(16).startswith(b"HTTP/")
    except OSError:
        return False


def _not_redis(shown: str) -> ConnectError:
    return ConnectError(
        f"could not connect to {shown}: it is not a Redis server (it answered HTTP, so a web server or "
        "proxy listens there): check the host and port (Memorystore: 6379, or 6378 with in-transit "
        f"encryption; Console > your instance > Connections); {_LOCAL_HINT}",
        shown,
    )


def _local_server(*, cluster: bool) -> Any:
    from . import local

    if not cluster:
        return local.shared_local_redis()
    try:
        return local.shared_local_redis(cluster=True)  # type: ignore[call-arg]
    except (TypeError, NotImplementedError):
        raise ConnectError(
            "ENDPOINT = 'local-cluster' needs the embedded cluster launcher, which this memstore-nb lacks; "
            "use ENDPOINT = 'local' (a standalone embedded Redis) instead",
            "local-cluster",
        ) from None


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


def _probe(kwargs: dict[str, Any], ep: Endpoint) -> tuple[tuple[int, ...], bool, float]:
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
        return _version_tuple(str(server.get("redis_version", "0"))), cluster_enabled, latency
    finally:
        probe.close()


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = re.findall(r"\d+", text)[:3]
    return tuple(int(p) for p in parts) or (0,)


def _cluster_client(ep: Endpoint, kwargs: dict[str, Any], budget: float, shown: str) -> redis.cluster.RedisCluster:
    if ep.kind == "unix":
        raise ArgumentError("a Redis Cluster is reached over TCP, not a unix socket")
    if ep.db:
        raise ArgumentError(f"{shown}: a Redis Cluster has only database 0; drop the /{ep.db}")
    node_kwargs = {k: v for k, v in kwargs.items() if k != "db"}
    client = RetryingRedisCluster(outer_retry=BoundedRetry(budget), **node_kwargs)
    client.ping(target_nodes=redis.cluster.RedisCluster.ALL_NODES)
    return client


def explain_failure(
    exc: BaseException,
    ep: Endpoint,
    *,
    shown: str | None = None,
    secrets: tuple[str | None, ...] = (),
    iam: bool = False,
    has_password: bool = False,
) -> ConnectError:
    """Turn a redis-py / socket error into the :class:`ConnectError` subclass that says what to do.

    Pure: it looks only at the exception and the endpoint (no network), so every branch is testable.
    """
    shown = shown or ep.to_url()
    detail = redact_text(str(exc), (*secrets, ep.password))
    low = detail.lower()
    where = f"could not connect to {shown}"
    tail = f" (redis-py said: {type(exc).__name__}: {detail})"

    if isinstance(exc, redis.exceptions.AuthenticationError) or any(
        m in low
        for m in (
            "wrongpass",
            "invalid password",
            "invalid username-password",
            "noauth",
            "authentication required",
            "auth failed",
        )
    ):
        if iam:
            msg = (
                "the server rejected the IAM access token: check that IAM authentication is enabled on the "
                "instance and that your principal has the Memorystore DB connection user role "
                "(roles/memorystore.dbConnectionUser or roles/redis.dbConnectionUser)"
            )
        elif not has_password:
            msg = (
                "the server requires an AUTH string: pass password=... (Memorystore: Console > your instance > "
                "AUTH string, or `gcloud redis instances get-auth-string INSTANCE --region REGION`), "
                "or iam=True if the instance uses IAM authentication"
            )
        else:
            msg = "the server rejected the password (AUTH string); check it and try again (it is never shown here)"
        return AuthenticationFailed(f"{where}: {msg}{tail}", shown)
    if "without any password configured" in low or "no password is set" in low:
        return AuthenticationFailed(
            f"{where}: a password was given but the server has none configured: leave the password empty{tail}",
            shown,
        )
    if "protocol error" in low and ("http/" in low or "<html" in low or "<!doctype" in low):
        return _not_redis(shown)
    if "certificate" in low:
        hint = _CA_HINT
        if "hostname" in low or "ip address mismatch" in low:
            hint = "connect by the IP address or name that the server certificate lists"
        return CertificateRejected(f"{where}: the server's TLS certificate was not accepted: {hint}{tail}", shown)
    if ep.tls and any(
        m in low
        for m in ("wrong version number", "record layer failure", "unknown protocol", "packet length too long", "eof")
    ):
        return TLSMismatch(
            f"{where}: this port does not speak TLS: use redis:// instead of rediss://, "
            f"or the instance's TLS port{tail}",
            shown,
        )
    if not ep.tls and any(
        m in low for m in ("connection reset", "closed by server", "error 104", "broken pipe", "error while reading")
    ):
        return TLSMismatch(
            f"{where}: the server closed the connection at once; the instance probably has in-transit encryption: "
            f"use rediss:// (Memorystore's TLS port is 6378) and {_CA_HINT}{tail}",
            shown,
        )
    if any(
        m in low
        for m in (
            "name or service not known",
            "nodename nor servname",
            "temporary failure in name resolution",
            "no address associated",
            "getaddrinfo",
        )
    ):
        return UnknownHost(
            f"{where}: the host name {ep.host!r} does not resolve: check it for typos "
            f"(Memorystore gives an IP address: Console > your instance > Connections); {_LOCAL_HINT}{tail}",
            shown,
        )
    timed_out = isinstance(exc, (redis.exceptions.TimeoutError, socket.timeout, TimeoutError)) or "timed out" in low
    unreachable = "network is unreachable" in low or "no route to host" in low
    if (timed_out or unreachable) and is_private_address(ep.host):
        return PrivateNetworkTimeout(
            f"{where}: no answer from the private address {ep.host}. Memorystore is reachable only from inside "
            "its VPC network: run this notebook in Vertex AI Workbench or Colab Enterprise on that VPC, or open "
            f"a tunnel through a VM in the VPC (`gcloud compute ssh VM -- -N -L {ep.port}:{ep.host}:{ep.port}` "
            f"and then ENDPOINT = 'redis://127.0.0.1:{ep.port}'); {_LOCAL_HINT}{tail}",
            shown,
        )
    if timed_out or unreachable:
        return ConnectTimeout(
            f"{where}: no answer within the timeout: check the address and port, firewall rules, and that this "
            f"machine can reach the server; {_LOCAL_HINT}{tail}",
            shown,
        )
    if "connection refused" in low or "error 111" in low or "no such file" in low:
        return ConnectionRefused(
            f"{where}: nothing accepts connections there: check the port (Memorystore: 6379, or 6378 with "
            f"in-transit encryption) and that the server is running; {_LOCAL_HINT}{tail}",
            shown,
        )
    if "select is not allowed in cluster mode" in low:
        return ConnectError(f"{where}: this is a Redis Cluster, which has only database 0: drop the /{ep.db}", shown)
    if "db index" in low or "invalid db" in low:
        return ConnectError(
            f"{where}: database {ep.db} does not exist on this server (Redis Cluster has only 0){tail}", shown
        )
    return ConnectError(f"{where}{tail}", shown)
