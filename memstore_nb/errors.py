"""The exceptions memstore-nb raises: one root, each subclass keeps what went wrong."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server_errors import NotSent, WriteUnconfirmed, WrongTypeError

__all__ = [
    "ArgumentError",
    "AuthError",
    "CheckpointError",
    "ClientKindError",
    "ConnectError",
    "CorruptMessageError",
    "EndpointError",
    "LocalStoreDiskFull",
    "LocalStoreError",
    "LocalStoreUnresponsive",
    "MemstoreError",
    "MissingExtraError",
    "NotSent",
    "RedisBinaryNotFound",
    "RedisStartError",
    "WriteUnconfirmed",
    "WrongTypeError",
]


class MemstoreError(Exception):
    """Root of every error memstore-nb raises on purpose.

    Catch this to handle any of them; each subclass also derives from the
    builtin a caller would expect (``ValueError``, ``TypeError``, ...).
    """


class ArgumentError(MemstoreError, ValueError):
    """An argument has an unusable value (an empty session id, a negative TTL, ...).

    Attributes:
        value: the offending value.
    """

    def __init__(self, message: str, value: object = None) -> None:
        self.value = value
        super().__init__(message)


class ClientKindError(MemstoreError, TypeError):
    """A synchronous method was called on an asyncio client, or the reverse."""


class CorruptMessageError(MemstoreError, ValueError):
    """A list element is not a LangChain message in ``message_to_dict`` form.

    Attributes:
        key: the Redis key that was read.
        index: the element's position in the list (0 is the oldest).
        preview: the start of the raw element, for diagnosis.
    """

    def __init__(self, key: str, index: int, preview: str, reason: str) -> None:
        self.key = key
        self.index = index
        self.preview = preview
        super().__init__(
            f"element #{index} of key {key!r} is not a chat message ({reason}): {preview!r}; "
            "the list was left as it is — inspect it with "
            f"LINDEX {key} {index}"
        )


class RedisBinaryNotFound(MemstoreError, FileNotFoundError):
    """No ``redis-server`` (or ``valkey-server``) binary could be found."""


class RedisStartError(MemstoreError, RuntimeError):
    """A local ``redis-server`` did not start.

    Attributes:
        log_tail: the last lines the server wrote before it died.
    """

    def __init__(self, message: str, log_tail: str = "") -> None:
        self.log_tail = log_tail
        super().__init__(message + (f"\n--- server log (tail) ---\n{log_tail}" if log_tail else ""))


class EndpointError(MemstoreError, ValueError):
    """An endpoint string could not be understood.

    Attributes:
        value: the offending text, with any password redacted.
    """

    def __init__(self, message: str, value: str = "") -> None:
        self.value = value
        super().__init__(message)


class ConnectError(MemstoreError, OSError):
    """Connecting to Redis failed; the message says what to do next.

    Attributes:
        endpoint: the endpoint, redacted.
    """

    def __init__(self, message: str, endpoint: str = "") -> None:
        self.endpoint = endpoint
        super().__init__(message)


class AuthError(MemstoreError, PermissionError):
    """Google authentication is not set up; the message gives the command to fix it."""


# --- Connection failures raised by memstore_nb.connect() -------------------------------
# Each names one cause and carries the next step in its message; catch ConnectError for all of them.


class ConnectionRefused(ConnectError):
    """Nothing accepted the connection (wrong port, server not running, missing socket file)."""


class ConnectTimeout(ConnectError):
    """The server did not answer within the timeout (firewall, wrong address, or unreachable network)."""


class PrivateNetworkTimeout(ConnectTimeout):
    """A private address (10/8, 172.16/12, 192.168/16) did not answer: usually outside the instance's VPC."""


class AuthenticationFailed(ConnectError):
    """The server rejected the AUTH string or IAM token, or needs one that was not given."""


class TLSMismatch(ConnectError):
    """One side speaks TLS and the other does not (``redis://`` to a TLS port, or the reverse)."""


class CertificateRejected(ConnectError):
    """The server's TLS certificate could not be verified with the given CA."""


class ServerTooOld(ConnectError):
    """The server runs a Redis version older than 5.0.

    Attributes:
        version: the version the server reported.
    """

    def __init__(self, message: str, endpoint: str = "", version: str = "") -> None:
        self.version = version
        super().__init__(message, endpoint)


class UnknownHost(ConnectError):
    """The host name does not resolve."""


__all__ += [
    "AuthenticationFailed",
    "CertificateRejected",
    "ConnectTimeout",
    "ConnectionRefused",
    "PrivateNetworkTimeout",
    "ServerTooOld",
    "TLSMismatch",
    "UnknownHost",
]


def __getattr__(name: str) -> Any:
    # WrongTypeError, WriteUnconfirmed and NotSent also derive from redis-py's exceptions; they load (and
    # import redis) on first use, so importing this module stays cheap.
    if name in ("WrongTypeError", "WriteUnconfirmed", "NotSent"):
        from . import server_errors

        return getattr(server_errors, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class CheckpointError(MemstoreError, ValueError):
    """A LangGraph thread's stored data cannot be used: a key of another type, or a corrupt value.

    Attributes:
        thread_id: the thread.
        checkpoint_id: the checkpoint, when one is concerned.
    """

    def __init__(self, message: str, thread_id: str = "", checkpoint_id: str | None = None) -> None:
        self.thread_id = thread_id
        self.checkpoint_id = checkpoint_id
        super().__init__(message)


class MissingExtraError(MemstoreError, ImportError):
    """An optional dependency is not installed; the message gives the ``pip install`` line."""


class LocalStoreError(MemstoreError, OSError):
    """The local store (``ENDPOINT = "local"``) cannot use its data directory or its server as they are.

    Every problem with the directory (owner, mode, a file the store did not make, a symlink, data
    written by a server this environment lacks) is one of these; the message says what to do.

    Attributes:
        directory: the data directory concerned.
    """

    def __init__(self, message: str, directory: object = "") -> None:
        self.directory = str(directory)
        super().__init__(message)

    def __str__(self) -> str:  # OSError's own __str__ would show only the first argument's repr
        return str(self.args[0]) if self.args else ""


class LocalStoreDiskFull(LocalStoreError):
    """The disk holding the local store's data is full: the store keeps what it acknowledged and stops writing.

    Attributes:
        directory: the data directory.
        mount: the mount point of the file system holding it.
        free: bytes free there when this was raised.
    """

    def __init__(self, message: str, directory: object = "", mount: str = "", free: int = 0) -> None:
        self.mount = mount
        self.free = free
        super().__init__(message, directory)


class LocalStoreUnresponsive(LocalStoreError):
    """The local store's server runs but does not answer (stopped with SIGSTOP, or busy); no second one is started.

    Attributes:
        pid: the server's process id.
    """

    def __init__(self, message: str, directory: object = "", pid: int = 0) -> None:
        self.pid = pid
        super().__init__(message, directory)
