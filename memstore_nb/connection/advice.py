"""How advice names what to do: in a notebook's terms (``password=...``) or the command line's (``--endpoint``).

An error raised by :func:`~memstore_nb.connect` says what to change. In a notebook that is an
argument or the ``ENDPOINT`` cell; at a terminal it is a flag or an environment variable. The
``memstore-nb`` command runs its work inside ``speaking(COMMAND_LINE)``; everything else gets the
notebook's words. A context variable carries the choice, so threads and tasks of one command
(``asyncio.to_thread`` copies the context) speak alike and two notebooks never mix.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["COMMAND_LINE", "NOTEBOOK", "PASSWORD_ENV", "Advice", "current", "speaking"]

#: the environment variable that may hold the AUTH string (the CLI's, ``connect()``'s and a kernel's)
PASSWORD_ENV = "MEMSTORE_NB_PASSWORD"


@dataclass(frozen=True)
class Advice:
    """The words for each thing an error may ask for.

    Attributes:
        password: how to give an AUTH string.
        iam: how to turn IAM authentication on.
        ca: how to give the server's CA certificate.
        local: how to use the local store instead.
        endpoint: how to set the endpoint, with ``{}`` where the URL goes.
        no_password: how to stop sending an AUTH string.
    """

    password: str
    iam: str
    ca: str
    local: str
    endpoint: str
    no_password: str

    def use_endpoint(self, url: str) -> str:
        """How to point at ``url``: ``ENDPOINT = 'redis://…'`` or ``--endpoint redis://…``."""
        return self.endpoint.format(url)


NOTEBOOK = Advice(
    password="pass password=... (or set $" + PASSWORD_ENV + ")",
    iam="iam=True",
    ca="pass ca_certs= the instance's server CA, as a file path or as the PEM text itself",
    local="to run the walkthrough without an instance, use ENDPOINT = 'local'",
    endpoint="ENDPOINT = '{}'",
    no_password="leave the password empty (and unset $" + PASSWORD_ENV + ")",
)
COMMAND_LINE = Advice(
    password="set $" + PASSWORD_ENV + " (or put it in the URL: redis://:AUTH@host:port)",
    iam="--iam",
    ca="give --ca-certs the instance's server CA file",
    local="to try memstore-nb without an instance, use --endpoint local",
    endpoint="--endpoint {}",
    no_password="unset $" + PASSWORD_ENV + " and take the password out of the URL",
)

_CURRENT: contextvars.ContextVar[Advice] = contextvars.ContextVar("memstore_nb_advice", default=NOTEBOOK)


def current() -> Advice:
    """The words errors use here: :data:`NOTEBOOK` unless inside :func:`speaking`."""
    return _CURRENT.get()


@contextlib.contextmanager
def speaking(advice: Advice) -> Iterator[Advice]:
    """Give advice in ``advice``'s words inside the block (the command line runs its commands in one)."""
    token = _CURRENT.set(advice)
    try:
        yield advice
    finally:
        _CURRENT.reset(token)
