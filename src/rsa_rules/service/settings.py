"""Settings of the CDS Hooks service, and the trusted-issuers file.

The trusted-issuers file (JSON or YAML) lists the CDS clients allowed to call the service::

    {"issuers": [
      {"iss": "https://ehr.example.org",
       "jwks_url": "https://ehr.example.org/.well-known/jwks.json",
       "jku": ["https://ehr.example.org/.well-known/jwks.json"]},
      {"iss": "https://other.example.org", "jwks": {"keys": [ ...public JWKs... ]}}
    ]}

``jwks_url`` is where the issuer's keys are fetched when its tokens carry no ``jku`` header;
``jku`` is the allow-list of JWK Set URLs its tokens may name (a token naming any other URL is
verified against the issuer's other keys, and that URL is never fetched); ``jwks`` gives the
keys inline (out of band, as CDS Hooks allows). Key URLs must be ``https``, except on the
loopback interface.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "APP_FACTORY",
    "ASYMMETRIC_ALGORITHMS",
    "SETTINGS_ENVIRONMENT",
    "ServiceSettings",
    "TrustedIssuer",
    "default_database",
    "is_loopback",
    "load_issuers",
]

# CDS Hooks 2.0: never "none", never a symmetric (HMAC) algorithm. ES384 and RS384 are
# recommended; the other asymmetric JWS algorithms are accepted.
ASYMMETRIC_ALGORITHMS = (
    "ES256",
    "ES384",
    "ES512",
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
)


SETTINGS_ENVIRONMENT = "RSA_RULES_SERVE_SETTINGS"
"""The environment variable that hands the settings (JSON) to ``serve --workers`` processes."""
APP_FACTORY = "rsa_rules.service.app:app_from_environment"
"""What each worker process of ``serve --workers`` imports and calls to build its application."""


def default_database() -> Path:
    """Where the service keeps its SQLite file unless told: the user's data directory.

    ``$XDG_DATA_HOME/rsa-rules/cds.sqlite3`` on Linux (``~/.local/share`` when the variable is
    not set), and the platform's own data directory elsewhere; never the working directory.
    """
    return platformdirs.user_data_path("rsa-rules", appauthor=False) / "cds.sqlite3"


def is_loopback(host: str) -> bool:
    """Whether a host name or address is the loopback interface."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _key_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError(f"{url!r}: key URLs must be https (http only on the loopback interface)")
    return url


class TrustedIssuer(BaseModel):
    """A CDS client allowed to call the service, and where its public keys are."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    iss: str = Field(min_length=1)
    jwks_url: str | None = None
    jku: tuple[str, ...] = ()
    jwks: Mapping[str, Any] | None = None

    @field_validator("jwks_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return None if value is None else _key_url(value)

    @field_validator("jku")
    @classmethod
    def _check_jku(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_key_url(url) for url in value)

    @field_validator("jwks")
    @classmethod
    def _check_jwks(cls, value: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        if value is not None:
            keys = value.get("keys")
            if not isinstance(keys, list) or not keys:
                raise ValueError("jwks must be a JWK Set: an object with a non-empty 'keys' list")
        return value

    @model_validator(mode="after")
    def _some_keys(self) -> TrustedIssuer:
        if self.jwks_url is None and not self.jku and self.jwks is None:
            raise ValueError(f"issuer {self.iss!r} has no keys: give jwks_url, jku or jwks")
        return self


class ServiceSettings(BaseModel):
    """Everything ``rsa-rules serve`` is configured with."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_url: str | None = Field(
        default=None,
        description="The base URL CDS clients call; a token's aud must be an endpoint under it.",
    )
    database: Path = Field(
        default_factory=default_database,
        description="SQLite file for feedback and seen token ids (default: default_database()).",
    )
    auth: bool = True
    issuers: tuple[TrustedIssuer, ...] = ()
    algorithms: tuple[str, ...] = ASYMMETRIC_ALGORITHMS
    max_token_lifetime: int = Field(default=300, ge=1, description="Seconds from iat to exp.")
    clock_skew: int = Field(default=10, ge=0, le=300, description="Seconds of leeway.")
    jwks_cache_seconds: int = Field(default=300, ge=0)
    jwks_refresh_seconds: int = Field(
        default=10, ge=0, description="Least time between two fetches for an unknown key id."
    )
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    fhir_servers: tuple[str, ...] = Field(
        default=(), description="FHIR server base URLs the service may fetch missing data from."
    )
    fhir_timeout: float = Field(default=5.0, gt=0)
    rules: str | None = None
    cors_origins: tuple[str, ...] = Field(
        default=(),
        description="Browser origins allowed to call the service (CORS); none by default.",
    )
    narrow_conditions: bool = Field(
        default=False,
        description="Prefetch Conditions by the code lists' codes only (see prefetch_templates).",
    )

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            if origin == "*":
                continue
            parts = urlsplit(origin)
            if (
                parts.scheme not in ("https", "http")
                or not parts.hostname
                or parts.path not in ("", "/")
                or parts.query
                or parts.fragment
            ):
                raise ValueError(f"{origin!r} is not a browser origin (scheme://host[:port], or *)")
        return tuple(origin.rstrip("/") for origin in value)

    @field_validator("algorithms")
    @classmethod
    def _asymmetric(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if name not in ASYMMETRIC_ALGORITHMS:
                raise ValueError(f"{name!r} is not an accepted algorithm (asymmetric JWS only)")
        return value

    @field_validator("public_url", "fhir_servers")
    @classmethod
    def _urls(cls, value: Any) -> Any:
        for url in (value,) if isinstance(value, str) else (value or ()):
            parts = urlsplit(url)
            if parts.scheme not in ("https", "http") or not parts.hostname:
                raise ValueError(f"{url!r} is not an http(s) URL")
        return value

    @model_validator(mode="after")
    def _auth_needs_issuers(self) -> ServiceSettings:
        if self.auth and not self.issuers:
            raise ValueError(
                "authentication is on (CDS Hooks 2.0: every call carries a signed JWT) but no "
                "trusted issuers are configured: give --trusted-issuers FILE, or --no-auth for "
                "local development"
            )
        if not self.auth and not is_loopback(self.host):
            raise ValueError(
                "--no-auth is for local development only: bind to the loopback interface "
                "(127.0.0.1, ::1 or localhost)"
            )
        return self

    @property
    def base_url(self) -> str:
        """The public base URL, without a trailing slash."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def issuer(self, iss: str) -> TrustedIssuer | None:
        return next((issuer for issuer in self.issuers if issuer.iss == iss), None)

    def fhir_server_allowed(self, url: str) -> bool:
        """Whether the service may fetch from this FHIR server (its base is on the allow-list)."""
        wanted = url.rstrip("/") + "/"
        return any(wanted.startswith(allowed.rstrip("/") + "/") for allowed in self.fhir_servers)


def load_issuers(path: str | Path) -> tuple[TrustedIssuer, ...]:
    """Read the trusted-issuers file (JSON or YAML). ``ValueError`` says what is wrong."""
    file = Path(path)
    try:
        document = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as error:
        raise ValueError(f"cannot read {file}: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise ValueError(f"{file} is not valid JSON or YAML: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("issuers"), list):
        raise ValueError(f"{file} must hold an object with an 'issuers' list")
    issuers: list[TrustedIssuer] = []
    for number, item in enumerate(document["issuers"]):
        try:
            issuers.append(TrustedIssuer.model_validate(item))
        except ValidationError as error:
            problem = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'issuer'}: "
                f"{e['msg'].removeprefix('Value error, ')}"
                for e in error.errors()
            )
            raise ValueError(f"{file}, issuer {number}: {problem}") from None
    names = [issuer.iss for issuer in issuers]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"{file}: issuer listed twice: {', '.join(twice)}")
    return tuple(issuers)
