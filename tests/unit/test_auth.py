"""auth: environment detection, authenticate() per environment, set_project, the IAM token provider.

Only environment markers are faked (a stand-in google.colab module, env vars, key files);
the credentials are real google-auth objects, and nothing here touches the network.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import stat
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import google.auth.compute_engine._metadata as gce_metadata
import google.auth.credentials
import google.auth.exceptions
import google.oauth2.credentials
import google.oauth2.service_account
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from memstore_nb.connection.auth import (
    AuthResult,
    GoogleIAMCredentialProvider,
    authenticate,
    detect_environment,
    set_project,
)
from memstore_nb.errors import ArgumentError, AuthError

SA_EMAIL = "notebook-runner@acme-chat-prod.iam.gserviceaccount.com"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in (
        "VERTEX_PRODUCT",
        "MEMSTORE_NB_ENVIRONMENT",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "GOOGLE_CLOUD_PROJECT",
        "DL_ANACONDA_HOME",
    ):
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "gcloud-config"
    empty.mkdir()
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(empty))  # no gcloud ADC file
    # NO_GCE_CHECK=true, as google-auth reads it at import: never probe the metadata server here.
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    monkeypatch.setattr(gce_metadata, "_NO_GCE_CHECK", True)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.delitem(sys.modules, "google.colab.auth", raising=False)
    yield


@pytest.fixture(scope="module")
def service_account_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "acme-chat-prod",
        "private_key_id": "0123456789abcdef",
        "private_key": pem,
        "client_email": SA_EMAIL,
        "client_id": "1234567890",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    path = tmp_path_factory.mktemp("sa") / "key.json"
    path.write_text(json.dumps(info))
    return path


@pytest.fixture()
def colab(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A stand-in google.colab module whose auth.authenticate_user() records its calls."""
    calls: list[str] = []
    package = types.ModuleType("google.colab")
    auth_module = types.ModuleType("google.colab.auth")
    auth_module.authenticate_user = lambda: calls.append("authenticate_user")  # type: ignore[attr-defined]
    package.auth = auth_module  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "google.colab", package)
    monkeypatch.setitem(sys.modules, "google.colab.auth", auth_module)
    return calls


# --- detect_environment -------------------------------------------------------------------------


def test_detect_local() -> None:
    assert detect_environment() == "local"


def test_detect_colab(colab: list[str]) -> None:
    assert detect_environment() == "colab"


def test_detect_colab_enterprise_wins_over_colab_module(colab: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERTEX_PRODUCT", "COLAB_ENTERPRISE")
    assert detect_environment() == "colab-enterprise"


def test_detect_workbench(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERTEX_PRODUCT", "WORKBENCH_INSTANCE")
    assert detect_environment() == "workbench"
    monkeypatch.delenv("VERTEX_PRODUCT")
    monkeypatch.setenv("DL_ANACONDA_HOME", "/opt/conda")
    assert detect_environment() == "workbench"


def test_explicit_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMSTORE_NB_ENVIRONMENT", "Workbench")
    assert detect_environment() == "workbench"
    monkeypatch.setenv("MEMSTORE_NB_ENVIRONMENT", "nonsense")
    assert detect_environment() == "local"


# --- authenticate -------------------------------------------------------------------------------


def test_local_with_key_file(service_account_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(service_account_file))
    result = authenticate()
    assert isinstance(result, AuthResult)
    assert result.environment == "local" and result.project_id == "acme-chat-prod" and result.principal == SA_EMAIL
    assert isinstance(result.credentials, google.oauth2.service_account.Credentials)
    assert result.credentials.token is None  # no network: nothing was fetched
    private_key_line = service_account_file.read_text().split("\\n")[1]
    for shown in (repr(result), str(result), result._repr_html_()):
        assert private_key_line not in shown and "PRIVATE KEY" not in shown
    assert "<table" in result._repr_html_() and SA_EMAIL in result._repr_html_()


def test_project_precedence(service_account_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(service_account_file))
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "from-the-env-1")
    assert authenticate().project_id == "from-the-env-1"
    assert authenticate("given-project-9").project_id == "given-project-9"
    with pytest.raises(ArgumentError, match="placeholder"):
        authenticate("my-project-id")


def test_local_with_gcloud_adc_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "gcloud"
    config.mkdir()
    (config / "application_default_credentials.json").write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": "id.apps.googleusercontent.com",
                "client_secret": "not-shown-secret",
                "refresh_token": "not-shown-refresh-token",
            }
        )
    )
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(config))
    result = authenticate("acme-chat-prod")
    assert isinstance(result.credentials, google.oauth2.credentials.Credentials)
    assert result.environment == "local" and result.project_id == "acme-chat-prod"
    for shown in (repr(result), result._repr_html_()):
        assert "not-shown" not in shown


def test_local_without_adc_gives_the_command(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(AuthError) as err:
        authenticate()
    assert "gcloud auth application-default login" in str(err.value)
    assert isinstance(err.value, PermissionError)


def test_colab_signs_in_then_uses_adc(
    colab: list[str], service_account_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(service_account_file))
    result = authenticate()
    assert colab == ["authenticate_user"]
    assert result.environment == "colab" and result.principal == SA_EMAIL


@pytest.mark.parametrize(
    ("product", "env"), [("COLAB_ENTERPRISE", "colab-enterprise"), ("WORKBENCH_INSTANCE", "workbench")]
)
def test_managed_runtimes_use_adc(
    product: str, env: str, service_account_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VERTEX_PRODUCT", product)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(service_account_file))
    result = authenticate()
    assert result.environment == env and result.project_id == "acme-chat-prod"


def test_colab_enterprise_needs_no_sign_in_prompt(
    colab: list[str], service_account_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VERTEX_PRODUCT", "COLAB_ENTERPRISE")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(service_account_file))
    assert authenticate().environment == "colab-enterprise"
    assert colab == []  # the runtime's service account, no consumer-Colab prompt


def test_workbench_without_metadata_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERTEX_PRODUCT", "WORKBENCH_INSTANCE")
    with pytest.raises(AuthError, match="metadata server gave no credentials"):
        authenticate()


# --- set_project --------------------------------------------------------------------------------


@pytest.mark.parametrize("good", ["acme-chat-prod", "a12345", "x" * 30, "p-1-2-3-4"])
def test_set_project_accepts_valid_ids(good: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # no gcloud: must not fail
    assert set_project(good) == good
    assert os.environ["GOOGLE_CLOUD_PROJECT"] == good


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("my-project-id", "placeholder"),
        ("short", "not a project id"),
        ("x" * 31, "not a project id"),
        ("Upper-case", "not a project id"),
        ("1starts-with-digit", "not a project id"),
        ("ends-with-hyphen-", "not a project id"),
        ("has space here", "not a project id"),
        ("under_score", "not a project id"),
        (12345678, "is a string"),
    ],
)
def test_set_project_rejects(bad: object, why: str) -> None:
    with pytest.raises(ArgumentError) as err:
        set_project(bad)  # type: ignore[arg-type]
    assert why in str(err.value) and "gcloud projects list" in str(err.value)
    assert "GOOGLE_CLOUD_PROJECT" not in os.environ


def _fake_gcloud(folder: Path, code: int) -> Path:
    log = folder / "gcloud-calls.txt"
    script = folder / "gcloud"
    script.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexit {code}\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return log


def test_set_project_runs_gcloud_when_present(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_gcloud(tmp_path, 0)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    set_project("acme-chat-prod")
    assert calls.read_text().split() == ["config", "set", "project", "acme-chat-prod", "--quiet"]


def test_failing_gcloud_is_only_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _fake_gcloud(tmp_path, 3)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    assert set_project("acme-chat-prod") == "acme-chat-prod"
    assert "gcloud config set project failed" in caplog.text


# --- GoogleIAMCredentialProvider ------------------------------------------------------------------


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class CountingCredentials(google.auth.credentials.Credentials):
    """Real google-auth credentials that hand out token-1, token-2, ... on each refresh."""

    def __init__(self, lifetime: datetime.timedelta = datetime.timedelta(hours=1), fail: bool = False) -> None:
        super().__init__()
        self.refreshes = 0
        self.lifetime = lifetime
        self.fail = fail

    def refresh(self, request: object) -> None:
        if self.fail:
            raise google.auth.exceptions.RefreshError("token endpoint said no")
        self.refreshes += 1
        self.token = f"token-{self.refreshes}"
        self.expiry = _utcnow() + self.lifetime


def test_provider_refreshes_only_when_needed() -> None:
    creds = CountingCredentials()
    provider = GoogleIAMCredentialProvider(creds)
    assert provider.get_credentials() == ("default", "token-1")
    assert provider.get_credentials() == ("default", "token-1")  # still fresh: no refresh
    creds.expiry = _utcnow() - datetime.timedelta(seconds=1)  # expired
    assert provider.get_credentials() == ("default", "token-2")
    creds.expiry = _utcnow() + datetime.timedelta(minutes=2)  # about to expire
    assert provider.get_credentials() == ("default", "token-3")
    assert creds.refreshes == 3
    assert "token" not in repr(provider).replace("Credentials", "")


def test_provider_refresh_failure_is_an_auth_error() -> None:
    provider = GoogleIAMCredentialProvider(CountingCredentials(fail=True))
    with pytest.raises(AuthError, match="could not refresh the Google access token"):
        provider.get_credentials()


def test_provider_async_variant() -> None:
    import asyncio

    provider = GoogleIAMCredentialProvider(CountingCredentials())
    assert asyncio.run(provider.get_credentials_async()) == ("default", "token-1")


def test_provider_loads_adc_lazily(service_account_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    provider = GoogleIAMCredentialProvider()
    assert "not loaded" in repr(provider)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(service_account_file))
    from memstore_nb.connection import auth

    creds, _project = auth._load_adc("local")
    assert creds.service_account_email == SA_EMAIL


def test_importing_the_package_does_not_import_google_auth() -> None:
    code = (
        "import sys, memstore_nb, memstore_nb.connection.endpoint, memstore_nb.connection.auth, "
        "memstore_nb.connection.form; "
        "print('google.auth' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "False"


def test_logs_hold_no_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    provider = GoogleIAMCredentialProvider(CountingCredentials())
    provider.get_credentials()
    assert "token-1" not in caplog.text
