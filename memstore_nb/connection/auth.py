"""Google auth for notebooks: where am I, credentials, project id, and an IAM token provider for Redis."""

from __future__ import annotations

import datetime
import html
import importlib.util
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis.credentials import CredentialProvider

from ..errors import ArgumentError, AuthError

__all__ = [
    "AuthResult",
    "GoogleIAMCredentialProvider",
    "authenticate",
    "detect_environment",
    "set_project",
]

log = logging.getLogger(__name__)

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
_PROJECT_RE = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
_PLACEHOLDER_PROJECTS = {"my-project-id", "your-project-id", "project-id", "my-project"}
_ADC_COMMAND = "gcloud auth application-default login"
# google-auth refreshes ahead of expiry on its own schedule; a Redis connection may be opened
# a few minutes before it is used, so also refresh when less than this is left.
_REFRESH_MARGIN = datetime.timedelta(minutes=5)


def detect_environment() -> str:
    """Where this kernel runs: ``"colab"``, ``"colab-enterprise"``, ``"workbench"`` or ``"local"``.

    Looks only at local markers (environment variables, importable modules, files); it never
    contacts the metadata server. ``MEMSTORE_NB_ENVIRONMENT`` overrides the guess.

    Example:
        >>> detect_environment() in {"colab", "colab-enterprise", "workbench", "local"}
        True
    """
    forced = os.environ.get("MEMSTORE_NB_ENVIRONMENT", "").strip().lower()
    if forced in ("colab", "colab-enterprise", "workbench", "local"):
        return forced
    product = os.environ.get("VERTEX_PRODUCT", "").upper()
    if product == "COLAB_ENTERPRISE":
        return "colab-enterprise"
    if _has_colab():
        return "colab"
    # Workbench instances (and the Deep Learning VM images they run on) carry these markers.
    if (
        product.startswith("WORKBENCH")
        or "DL_ANACONDA_HOME" in os.environ
        or os.path.exists("/opt/deeplearning/metadata/env_version")
    ):
        return "workbench"
    return "local"


def _has_colab() -> bool:
    if "google.colab" in sys.modules:
        return True
    try:
        return importlib.util.find_spec("google.colab") is not None
    except (ImportError, ValueError):
        return False


@dataclass(frozen=True)
class AuthResult:
    """What :func:`authenticate` found. Its ``repr`` and HTML hold no token.

    Attributes:
        environment: as :func:`detect_environment`.
        credentials: the google-auth credentials (ask them for a token only when needed).
        project_id: the Google Cloud project, or None when unknown.
        principal: the account or service account e-mail, when known.
    """

    environment: str
    credentials: Any = field(repr=False)
    project_id: str | None
    principal: str | None = None

    def __repr__(self) -> str:
        kind = type(self.credentials).__module__ + "." + type(self.credentials).__name__
        return (
            f"AuthResult(environment={self.environment!r}, project_id={self.project_id!r}, "
            f"principal={self.principal!r}, credentials=<{kind}>)"
        )

    def _repr_html_(self) -> str:
        rows = [
            ("environment", self.environment),
            ("project", self.project_id or "(not set: call set_project)"),
            ("principal", self.principal or "(unknown)"),
            ("credentials", type(self.credentials).__name__),
        ]
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows
        )
        return f"<table class='memstore-nb-auth'>{body}</table>"


def authenticate(project_id: str | None = None) -> AuthResult:
    """Find Google credentials the way this environment expects, without printing any secret.

    Colab: runs ``google.colab.auth.authenticate_user()`` (a sign-in prompt), then uses
    Application Default Credentials (ADC). Colab Enterprise and Workbench: ADC from the
    metadata server. Local: ADC from ``GOOGLE_APPLICATION_CREDENTIALS`` or the gcloud file.
    Only needed for IAM connections; ``ENDPOINT = "local"`` and AUTH-string endpoints never need it.

    Args:
        project_id: the project to use; also set with :func:`set_project`. When None, taken from
            ``GOOGLE_CLOUD_PROJECT`` or the credentials.

    Returns:
        An :class:`AuthResult`.

    Raises:
        AuthError: no credentials; the message gives the command that creates them.
        ArgumentError: ``project_id`` is not a valid project id.

    Example:
        >>> auth = authenticate("my-real-project")  # doctest: +SKIP
    """
    if project_id is not None:
        _check_project_id(project_id)
    env = detect_environment()
    if env == "colab":
        from google.colab import auth as colab_auth  # type: ignore[import-not-found]

        colab_auth.authenticate_user()
    credentials, found_project = _load_adc(env)
    project = project_id or os.environ.get("GOOGLE_CLOUD_PROJECT") or found_project or None
    result = AuthResult(env, credentials, project, _principal(credentials))
    log.info("authenticated in %s as %s (project %s)", env, result.principal or "unknown", project)
    return result


def _load_adc(env: str) -> tuple[Any, str | None]:
    import google.auth
    import google.auth.exceptions

    try:
        if env == "local":
            return _load_local_adc()
        credentials, project = google.auth.default(scopes=SCOPES)
        return credentials, project
    except google.auth.exceptions.DefaultCredentialsError as exc:
        if env == "local":
            hint = f"run `{_ADC_COMMAND}` in a terminal (or set GOOGLE_APPLICATION_CREDENTIALS to a key file)"
        elif env == "colab":
            hint = "run the cell again and finish the sign-in prompt"
        else:
            hint = (
                "the metadata server gave no credentials: check that the runtime or instance has a "
                f"service account, or run `{_ADC_COMMAND}` in its terminal"
            )
        raise AuthError(f"no Google credentials found ({env}): {hint}. Details: {exc}") from exc


def _load_local_adc() -> tuple[Any, str | None]:
    """ADC without the metadata-server probe (a 3 s network wait on every laptop)."""
    import google.auth
    import google.auth.exceptions

    explicit = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    config_dir = os.environ.get("CLOUDSDK_CONFIG") or str(Path.home() / ".config" / "gcloud")
    well_known = Path(config_dir) / "application_default_credentials.json"
    # google.auth.default() reads these files first and stops there; only with neither would it
    # go on to probe the metadata server, which a plain Compute Engine VM alone has.
    if explicit or well_known.is_file() or _on_gce():
        return google.auth.default(scopes=SCOPES)
    raise google.auth.exceptions.DefaultCredentialsError("no GOOGLE_APPLICATION_CREDENTIALS and no gcloud ADC file")


def _on_gce() -> bool:
    try:
        return "Google" in Path("/sys/class/dmi/id/product_name").read_text()
    except OSError:
        return False


def _principal(credentials: Any) -> str | None:
    for attr in ("service_account_email", "account", "signer_email"):
        value = getattr(credentials, attr, None)
        if isinstance(value, str) and value and value != "default":
            return value
    return None


def _check_project_id(project_id: object) -> str:
    where = "find it in the Cloud Console's project picker or with `gcloud projects list`"
    if not isinstance(project_id, str):
        raise ArgumentError(f"a project id is a string, not {type(project_id).__name__}; {where}", project_id)
    value = project_id.strip()
    if value in _PLACEHOLDER_PROJECTS:
        raise ArgumentError(
            f"{value!r} is the placeholder from the walkthrough: replace it with your project id; {where}", value
        )
    if not _PROJECT_RE.fullmatch(value):
        raise ArgumentError(
            f"{value[:60]!r} is not a project id (6-30 characters: lowercase letters, digits and hyphens, "
            f"starting with a letter, not ending with a hyphen); {where}",
            value,
        )
    return value


def set_project(project_id: str) -> str:
    """Use ``project_id`` from now on: the notebook replacement for ``!gcloud config set project``.

    Validates the id, sets ``GOOGLE_CLOUD_PROJECT`` for this process and, when gcloud is
    installed, runs ``gcloud config set project`` too (a missing or failing gcloud is only logged).

    Args:
        project_id: e.g. ``"acme-chat-prod"``.

    Returns:
        The project id.

    Raises:
        ArgumentError: malformed id, or the walkthrough's placeholder ``my-project-id``.

    Example:
        >>> set_project("my-project-id")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        memstore_nb.errors.ArgumentError: 'my-project-id' is the placeholder ...
    """
    value = _check_project_id(project_id)
    os.environ["GOOGLE_CLOUD_PROJECT"] = value
    gcloud = shutil.which("gcloud")
    if gcloud:
        try:
            done = subprocess.run(
                [gcloud, "config", "set", "project", value, "--quiet"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            if done.returncode != 0:
                log.warning("gcloud config set project failed (%s): %s", done.returncode, done.stderr.strip()[-300:])
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("could not run gcloud config set project: %s", exc)
    else:
        log.info("gcloud not found; GOOGLE_CLOUD_PROJECT set to %s for this process", value)
    return value


class GoogleIAMCredentialProvider(CredentialProvider):
    """redis-py credential provider that authenticates as ``default`` with a Google access token.

    redis-py calls :meth:`get_credentials` on every new connection; the token is refreshed
    there when google-auth does not consider it fresh, so sessions outlive the one-hour token.

    Args:
        credentials: google-auth credentials; Application Default Credentials when None
            (loaded on the first connection, never at import).

    Example:
        >>> provider = GoogleIAMCredentialProvider()  # doctest: +SKIP
        >>> redis.Redis(host="10.0.0.3", credential_provider=provider, protocol=2)  # doctest: +SKIP
    """

    def __init__(self, credentials: Any = None) -> None:
        self._credentials = credentials
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        kind = type(self._credentials).__name__ if self._credentials is not None else "ADC (not loaded yet)"
        return f"<GoogleIAMCredentialProvider {kind}>"

    def __deepcopy__(self, memo: dict[int, Any]) -> GoogleIAMCredentialProvider:
        return self  # shared on purpose: one token cache for every connection of a client

    def get_credentials(self) -> tuple[str, str]:
        with self._lock:
            if self._credentials is None:
                self._credentials, _ = _load_adc(detect_environment())
            credentials = self._credentials
            if _needs_refresh(credentials):
                import google.auth.exceptions
                import google.auth.transport.requests

                try:
                    credentials.refresh(google.auth.transport.requests.Request())
                except google.auth.exceptions.GoogleAuthError as exc:
                    raise AuthError(
                        f"could not refresh the Google access token for IAM auth ({type(exc).__name__}); "
                        f"run `{_ADC_COMMAND}` (local) or check the runtime's service account"
                    ) from exc
                log.debug("refreshed the IAM access token (expires %s)", getattr(credentials, "expiry", None))
            token = credentials.token
            if not token:
                raise AuthError("google-auth returned no access token; check the credentials given to iam=True")
            return "default", token

    async def get_credentials_async(self) -> tuple[str, str]:
        return self.get_credentials()


def _needs_refresh(credentials: Any) -> bool:
    if not credentials.valid:
        return True
    state = getattr(credentials, "token_state", None)
    if state is not None and getattr(state, "name", "") != "FRESH":
        return True
    expiry = getattr(credentials, "expiry", None)
    if expiry is None:
        return False
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    if expiry.tzinfo is not None:
        expiry = expiry.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return bool(expiry - now < _REFRESH_MARGIN)
