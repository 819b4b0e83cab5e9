"""How a command reaches Redis: ``--endpoint`` (``local`` by default), the AUTH string from the environment."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
from collections.abc import Iterator
from typing import Any

from .output import note, safe

__all__ = ["LOCAL", "LOCAL_CLUSTER", "PASSWORD_ENV", "redis_for", "shown"]

LOCAL = "local"
LOCAL_CLUSTER = "local-cluster"
PASSWORD_ENV = "MEMSTORE_NB_PASSWORD"


@contextlib.contextmanager
def redis_for(args: argparse.Namespace) -> Iterator[tuple[Any, str]]:
    """A connected client for ``--endpoint``, and a URL other processes can use to reach the same server.

    ``local`` is the persistent per-user store (started when needed, left
    running; the URL is then ``"local"``: other processes find the store themselves);
    ``local-cluster`` starts an embedded cluster owned by this
    command, stopped when the block ends (also on Ctrl-C). The URL carries
    the AUTH string (it travels to child processes through their
    environment, never their command line); print it only through :func:`_shown`.
    """
    from ..connection.client import connect
    from ..connection.endpoint import parse_endpoint
    from ..local.launch import start_local_redis

    endpoint = args.endpoint.strip()
    password = os.environ.get(PASSWORD_ENV) or None
    options: dict[str, Any] = {"ca_certs": getattr(args, "ca_certs", None), "iam": getattr(args, "iam", False)}
    if password:
        options["password"] = password
    with contextlib.ExitStack() as stack:
        if endpoint == LOCAL:
            from ..local import store as local_store

            # Other processes (the page's kernel) reach the store as "local" too: no password in a URL.
            store = local_store.ensure()
            verb = "started" if store.started else "using"
            note(f"{verb} the local store at {safe(store.url)} (data in {safe(str(store.directory))})")
            client = connect(LOCAL)
            stack.callback(client.close)
            yield client, LOCAL
            return
        if endpoint == LOCAL_CLUSTER:
            server = start_local_redis(cluster=True)
            stack.callback(server.stop)
            endpoint = server.url
            note(f"started an embedded Redis Cluster at {endpoint} (stopped when this command ends)")
        client = connect(endpoint, **options)
        stack.callback(client.close)
        parsed = parse_endpoint(endpoint)
        if password:
            parsed = dataclasses.replace(parsed, password=password)
        yield client, parsed.to_url(redact=False)


def shown(url: str) -> str:
    """``url`` fit for printing: the password reads ``***``."""
    from ..connection.endpoint import parse_endpoint

    return parse_endpoint(url).to_url()
