"""Endpoint strings: parsing what a form cell holds into an :class:`Endpoint`, and keeping its secrets out of sight."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from ..errors import EndpointError

__all__ = ["ACCEPTED_FORMS", "Endpoint", "parse_endpoint", "redact_endpoint", "redact_text"]


ACCEPTED_FORMS = (
    "accepted forms: redis://[user[:password]@]host[:port][/db], rediss://... (TLS), "
    "unix:///path/to/redis.sock, host:port, host, [IPv6]:port, local"
)
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
        kind: ``"tcp"``, ``"unix"``, ``"local"`` (the local store) or ``"local-cluster"``.
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
