"""A client's keyword arguments from an endpoint and the caller's options (auth, TLS, timeouts), and the
one-shot probe that checks the server before a client is made."""

from __future__ import annotations

import os
import time
from typing import Any

import redis

from ..errors import ArgumentError
from ..replies import version_tuple
from .advice import PASSWORD_ENV
from .endpoint import Endpoint
from .retry import no_retry

__all__ = ["client_kwargs", "probe"]


def client_kwargs(
    ep: Endpoint,
    password: str | None,
    ca_certs: str | bytes | os.PathLike[str] | None,
    iam: bool,
    credentials: Any,
    timeout: float,
) -> dict[str, Any]:
    """The keyword arguments of a redis-py client for ``ep``: RESP2, ``timeout`` for connecting and each reply,
    the AUTH string (``password``, else the URL's, else ``$MEMSTORE_NB_PASSWORD``) or an IAM token
    provider, and TLS with ``ca_certs``.

    Raises:
        ArgumentError: options that do not go together (a password with IAM, a CA without TLS, a CA
            file that does not exist or PEM text that is not a certificate).
    """
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
    if secret is None and not iam:
        # The AUTH string may travel in the environment instead (a command line and a notebook's
        # parameters are visible; `memstore-nb run` hands it to the kernel this way), as
        # redis-cli's REDISCLI_AUTH does.
        secret = os.environ.get(PASSWORD_ENV) or None
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


def probe(kwargs: dict[str, Any]) -> tuple[tuple[int, ...], bool, float]:
    """One attempt with ``kwargs``, no retries: the server's version, whether cluster mode is on, PING ms."""
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
