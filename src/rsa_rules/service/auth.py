"""CDS Hooks 2.0 client authentication: the bearer JWT, verified with PyJWT.

Every call must carry ``Authorization: Bearer <JWT>`` signed by a trusted CDS client:

- the header's ``alg`` is an asymmetric JWS algorithm (``none`` and HMAC are refused before
  anything else is read); ``kid`` names the key; ``typ``, when given, is ``JWT``;
- ``iss`` is on the allow-list (the trusted-issuers file); the key comes from the issuer's
  inline JWK Set, its configured ``jwks_url``, or the token's ``jku`` header when it is on
  that issuer's allow-list; any other ``jku`` is ignored (never fetched) and the token is
  verified against the issuer's configured keys;
- ``aud`` equals the URL of the endpoint called (under the configured public base URL);
- ``exp``, ``iat`` and ``jti`` are required; the token is not expired, not issued in the
  future, and lives at most ``max_token_lifetime`` seconds; a ``jti`` seen before (also by a
  restarted service) is a replay and is refused.

A failure raises :class:`AuthError` with a short reason; the service answers 401 with it and
nothing more (no stack trace, nothing from the token).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import httpx
import jwt

from .settings import ServiceSettings, TrustedIssuer
from .store import ServiceStore

__all__ = ["AuthError", "Client", "JwksCache", "TokenVerifier"]

_MAX_JWKS_BYTES = 256 * 1024


class AuthError(Exception):
    """The request is not authenticated; ``reason`` is safe to show the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Client:
    """The authenticated CDS client of a request."""

    issuer: str
    subject: str | None
    tenant: str | None
    jti: str


class JwksCache:
    """JWK Sets fetched from allow-listed URLs, kept ``ttl`` seconds, by URL and key id."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        ttl: float,
        min_refresh: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._ttl = ttl
        self._min_refresh = min_refresh
        self._clock = clock  # seconds, monotonic; tests pass their own
        self._keys: dict[str, dict[str, dict[str, Any]]] = {}
        self._fetched: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def key(self, url: str, kid: str) -> dict[str, Any] | None:
        """The key ``kid`` of the JWK Set at ``url`` (fetched when missing or stale)."""
        now = self._clock()
        keys = self._keys.get(url)
        fetched = self._fetched.get(url, float("-inf"))
        stale = keys is None or now - fetched >= self._ttl
        if not stale and keys is not None and kid in keys:
            return keys[kid]
        if not stale and now - fetched < self._min_refresh:
            return None  # an unknown key id does not refetch more often than min_refresh
        lock = self._locks.setdefault(url, asyncio.Lock())
        async with lock:
            if self._fetched.get(url, float("-inf")) == fetched:
                try:
                    self._keys[url] = await self._fetch(url)
                finally:  # a failed fetch is not retried sooner than a successful one
                    self._fetched[url] = self._clock()
                    self._keys.setdefault(url, {})
        return self._keys[url].get(kid)

    async def _fetch(self, url: str) -> dict[str, dict[str, Any]]:
        try:
            response = await self._http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError:
            raise AuthError("the client's JWK Set cannot be fetched") from None
        if response.status_code != 200 or len(response.content) > _MAX_JWKS_BYTES:
            raise AuthError("the client's JWK Set cannot be fetched")
        try:
            document = json.loads(response.content)
        except ValueError:
            raise AuthError("the client's JWK Set is not JSON") from None
        return keys_by_id(document)


def keys_by_id(document: Any) -> dict[str, dict[str, Any]]:
    """The public keys of a JWK Set by ``kid``; symmetric (``oct``) keys are never kept."""
    keys = document.get("keys") if isinstance(document, Mapping) else None
    if not isinstance(keys, list):
        raise AuthError("the client's JWK Set has no keys")
    out: dict[str, dict[str, Any]] = {}
    for key in keys:
        if isinstance(key, dict) and isinstance(key.get("kid"), str) and key.get("kty") != "oct":
            out[key["kid"]] = key
    return out


class TokenVerifier:
    """Verifies the bearer JWT of each request (see the module docstring)."""

    def __init__(
        self, settings: ServiceSettings, store: ServiceStore, http: httpx.AsyncClient
    ) -> None:
        self.settings = settings
        self.store = store
        self.jwks = JwksCache(http, settings.jwks_cache_seconds, settings.jwks_refresh_seconds)
        self._inline = {
            issuer.iss: keys_by_id(issuer.jwks) for issuer in settings.issuers if issuer.jwks
        }

    async def verify(self, authorization: str | None, audiences: Sequence[str]) -> Client:
        """The client, or :class:`AuthError`. ``audiences``: the URLs ``aud`` may be."""
        token = _bearer(authorization)
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise AuthError("the bearer token is not a well-formed JWT") from None
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in self.settings.algorithms:
            raise AuthError(
                f"algorithm {algorithm!r} is not accepted (asymmetric signatures only: "
                f"{', '.join(self.settings.algorithms)})"
            )
        if header.get("typ") not in (None, "JWT"):
            raise AuthError("the token type (typ) must be JWT")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("the token has no key id (kid)")
        iss = unverified.get("iss")
        issuer = self.settings.issuer(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise AuthError("the token's issuer (iss) is not trusted")
        jwk = await self._key(issuer, header, kid)
        if jwk is None:
            raise AuthError("the token's key id (kid) is unknown for this issuer")
        if jwk.get("alg") not in (None, algorithm):
            raise AuthError("the token's algorithm does not match its key")
        claims = self._decode(token, jwk, algorithm, issuer.iss, audiences)
        lifetime = int(claims["exp"]) - int(claims["iat"])
        if lifetime > self.settings.max_token_lifetime:
            raise AuthError(
                f"the token lives {lifetime} s, longer than the {self.settings.max_token_lifetime}"
                " s this service accepts"
            )
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti:
            raise AuthError("the token id (jti) must be a non-empty string")
        fresh = await anyio.to_thread.run_sync(
            self.store.remember_token,
            issuer.iss,
            jti,
            int(claims["exp"]) + self.settings.clock_skew,
            int(time.time()),
        )
        if not fresh:
            raise AuthError("the token was already used (jti replayed)")
        subject = claims.get("sub")
        tenant = claims.get("tenant")
        return Client(
            issuer.iss,
            subject if isinstance(subject, str) else None,
            tenant if isinstance(tenant, str) else None,
            jti,
        )

    async def _key(
        self, issuer: TrustedIssuer, header: Mapping[str, Any], kid: str
    ) -> dict[str, Any] | None:
        jku = header.get("jku")
        if isinstance(jku, str) and jku in issuer.jku:
            return await self.jwks.key(jku, kid)
        # A jku not on the issuer's allow-list is never fetched; the token is verified against
        # the issuer's configured keys instead (CDS clients such as the sandbox always send one).
        inline = self._inline.get(issuer.iss)
        if inline is not None and kid in inline:
            return inline[kid]
        if issuer.jwks_url is not None:
            return await self.jwks.key(issuer.jwks_url, kid)
        return None

    def _decode(
        self,
        token: str,
        jwk: dict[str, Any],
        algorithm: str,
        issuer: str,
        audiences: Sequence[str],
    ) -> dict[str, Any]:
        try:
            key = jwt.PyJWK(jwk, algorithm=algorithm)
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[algorithm],
                audience=list(audiences),
                issuer=issuer,
                leeway=self.settings.clock_skew,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("the token has expired (exp)") from None
        except jwt.ImmatureSignatureError:
            raise AuthError("the token is issued in the future (iat)") from None
        except jwt.InvalidAudienceError:
            raise AuthError("the token's audience (aud) is not this endpoint's URL") from None
        except jwt.MissingRequiredClaimError as error:
            raise AuthError(f"the token has no {error.claim} claim") from None
        except jwt.InvalidSignatureError:
            raise AuthError("the token's signature does not verify") from None
        except jwt.PyJWTError:
            raise AuthError("the token cannot be verified with the issuer's key") from None
        return claims


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise AuthError("a bearer token is required (Authorization: Bearer <JWT>)")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("the Authorization header must be: Bearer <JWT>")
    return token.strip()
