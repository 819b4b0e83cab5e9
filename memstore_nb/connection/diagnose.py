"""Why a connection failed, in words that say what to do: redis-py and socket errors -> ConnectError subclasses."""

from __future__ import annotations

import ipaddress
import socket

import redis

from ..errors import (
    AuthenticationFailed,
    CertificateRejected,
    ConnectError,
    ConnectionRefused,
    ConnectTimeout,
    PrivateNetworkTimeout,
    TLSMismatch,
    UnknownHost,
)
from .endpoint import Endpoint, redact_text

__all__ = ["LOCAL_HINT", "diagnose", "explain_failure", "is_private_address"]

_PRIVATE_NETS = tuple(
    ipaddress.ip_network(net) for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
_CA_HINT = (
    "pass ca_certs= the instance's server CA, as a file path or as the PEM text itself "
    "(Memorystore: Console > your instance > Security > Download, or "
    "`gcloud redis instances describe INSTANCE --region REGION --format='value(serverCaCerts[0].cert)'`)"
)
LOCAL_HINT = "to run the walkthrough without an instance, use ENDPOINT = 'local'"


def is_private_address(host: str | None) -> bool:
    """True when ``host`` is an IP literal in 10/8, 172.16/12, 192.168/16 or fc00::/7 (no DNS lookup)."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    return any(address in net for net in _PRIVATE_NETS if net.version == address.version)


def diagnose(
    exc: BaseException,
    ep: Endpoint,
    *,
    shown: str,
    secrets: tuple[str | None, ...] = (),
    iam: bool = False,
    has_password: bool = False,
    timeout: float = 5.0,
) -> ConnectError:
    """:func:`explain_failure`, sharpened by a look at the port where the error alone cannot tell.

    A TLS handshake that times out on a port that accepts TCP is a plain port; a port that
    answers HTTP is a web server, not Redis. Both probes run only after the Redis handshake
    failed, so a working server never sees them (blocking: run it in a thread from async code).
    """
    error = explain_failure(exc, ep, shown=shown, secrets=secrets, iam=iam, has_password=has_password)
    if type(error) is ConnectTimeout and ep.tls and _tcp_accepts(ep, timeout):
        error = TLSMismatch(
            f"could not connect to {shown}: the port accepts connections but never answers the TLS "
            "handshake, so it is probably a plain (non-TLS) port: use redis:// instead of rediss://, "
            "or the instance's TLS port (Memorystore: 6378)",
            shown,
        )
    if type(error) in (TLSMismatch, ConnectError) and _answers_http(ep, timeout):
        error = _not_redis(shown)
    return error


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
        f"encryption; Console > your instance > Connections); {LOCAL_HINT}",
        shown,
    )


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
            f"(Memorystore gives an IP address: Console > your instance > Connections); {LOCAL_HINT}{tail}",
            shown,
        )
    timed_out = isinstance(exc, (redis.exceptions.TimeoutError, socket.timeout, TimeoutError)) or "timed out" in low
    unreachable = "network is unreachable" in low or "no route to host" in low
    if (timed_out or unreachable) and is_private_address(ep.host):
        return PrivateNetworkTimeout(
            f"{where}: no answer from the private address {ep.host}. Memorystore is reachable only from inside "
            "its VPC network: run this notebook in Vertex AI Workbench or Colab Enterprise on that VPC, or open "
            f"a tunnel through a VM in the VPC (`gcloud compute ssh VM -- -N -L {ep.port}:{ep.host}:{ep.port}` "
            f"and then ENDPOINT = 'redis://127.0.0.1:{ep.port}'); {LOCAL_HINT}{tail}",
            shown,
        )
    if timed_out or unreachable:
        return ConnectTimeout(
            f"{where}: no answer within the timeout: check the address and port, firewall rules, and that this "
            f"machine can reach the server; {LOCAL_HINT}{tail}",
            shown,
        )
    if "connection refused" in low or "error 111" in low or "no such file" in low:
        return ConnectionRefused(
            f"{where}: nothing accepts connections there: check the port (Memorystore: 6379, or 6378 with "
            f"in-transit encryption) and that the server is running; {LOCAL_HINT}{tail}",
            shown,
        )
    if "select is not allowed in cluster mode" in low:
        return ConnectError(f"{where}: this is a Redis Cluster, which has only database 0: drop the /{ep.db}", shown)
    if "db index" in low or "invalid db" in low:
        return ConnectError(
            f"{where}: database {ep.db} does not exist on this server (Redis Cluster has only 0){tail}", shown
        )
    return ConnectError(f"{where}{tail}", shown)
