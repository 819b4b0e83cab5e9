"""From an endpoint string to a ready client: parsing and redaction, connect/aconnect, failure diagnosis,
the retry policy, Google auth, and the ConnectionForm widget."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import face

if TYPE_CHECKING:
    from .auth import AuthResult, GoogleIAMCredentialProvider, authenticate, detect_environment, set_project
    from .client import ConnectInfo, aconnect, connect, connect_with_info
    from .diagnose import explain_failure, is_private_address
    from .endpoint import Endpoint, parse_endpoint, redact_endpoint, redact_text
    from .form import ConnectionForm
    from .retry import AsyncBoundedRetry, BoundedRetry, RetryingRedisCluster

_WHERE = {
    "AuthResult": ".auth",
    "GoogleIAMCredentialProvider": ".auth",
    "authenticate": ".auth",
    "detect_environment": ".auth",
    "set_project": ".auth",
    "ConnectInfo": ".client",
    "aconnect": ".client",
    "connect": ".client",
    "connect_with_info": ".client",
    "explain_failure": ".diagnose",
    "is_private_address": ".diagnose",
    "Endpoint": ".endpoint",
    "parse_endpoint": ".endpoint",
    "redact_endpoint": ".endpoint",
    "redact_text": ".endpoint",
    "ConnectionForm": ".form",
    "AsyncBoundedRetry": ".retry",
    "BoundedRetry": ".retry",
    "RetryingRedisCluster": ".retry",
}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = face(__name__, _WHERE)
