"""CDS Hooks 2.0 client authentication with real key pairs: what is accepted and what is not."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from rsa_rules.service.auth import AuthError, JwksCache, TokenVerifier, keys_by_id
from rsa_rules.service.settings import ServiceSettings, TrustedIssuer
from rsa_rules.service.store import ServiceStore

from .conftest import (
    INLINE_ISSUER,
    ISSUER,
    Keys,
    LiveServer,
    Mint,
    Route,
    StubServer,
    bearer,
    live_server,
    stub_server,
    trusted,
)

SERVICE = "rsa-rules-patient-view"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, jwks: StubServer, keys: Keys
) -> Iterator[LiveServer]:
    database = tmp_path_factory.mktemp("auth") / "cds.sqlite3"
    with live_server(database=database, issuers=trusted(jwks, keys)) as running:
        yield running


def discovery(client: httpx.Client, server: LiveServer, token: str | None) -> httpx.Response:
    headers = bearer(token) if token is not None else {}
    return client.get(server.endpoint(), headers=headers)


def refused(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    body = response.json()
    assert set(body) == {"error", "message"}
    assert body["error"] == "invalid_token"
    assert reason in body["message"], body["message"]
    assert "Traceback" not in response.text


def unsigned(header: dict[str, Any], payload: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(payload)}."


# -- accepted ------------------------------------------------------------------------------------


def test_a_valid_token_is_accepted(client: httpx.Client, server: LiveServer, mint: Mint) -> None:
    assert discovery(client, server, mint(server.endpoint())).status_code == 200


def test_rsa_keys_from_the_issuers_jwks_url_and_inline_keys_are_accepted(
    client: httpx.Client, server: LiveServer, mint: Mint, keys: Keys
) -> None:
    rsa_token = mint(server.endpoint(), key=keys.rsa, algorithm="RS384", kid="rsa-1", jku=None)
    assert discovery(client, server, rsa_token).status_code == 200
    inline = mint(server.endpoint(), issuer=INLINE_ISSUER, jku=None)
    assert discovery(client, server, inline).status_code == 200
    as_list = mint([server.endpoint(), "https://elsewhere.example"], tenant="t-1")
    assert discovery(client, server, as_list).status_code == 200


# -- refused -------------------------------------------------------------------------------------


def test_an_expired_token_is_refused(client: httpx.Client, server: LiveServer, mint: Mint) -> None:
    token = mint(server.endpoint(), issued=time.time() - 600, lifetime=120)
    refused(discovery(client, server, token), "expired")


def test_a_token_for_another_audience_is_refused(
    client: httpx.Client, server: LiveServer, mint: Mint
) -> None:
    refused(discovery(client, server, mint(server.endpoint(SERVICE))), "audience")
    refused(discovery(client, server, mint("https://cds.example.org/cds-services")), "audience")


def test_a_token_from_an_untrusted_issuer_is_refused(
    client: httpx.Client, server: LiveServer, mint: Mint
) -> None:
    refused(
        discovery(client, server, mint(server.endpoint(), issuer="https://evil.example")), "issuer"
    )
    refused(discovery(client, server, mint(server.endpoint(), drop=("iss",))), "issuer")


def test_an_unknown_key_id_is_refused(
    client: httpx.Client, server: LiveServer, mint: Mint, keys: Keys
) -> None:
    refused(
        discovery(client, server, mint(server.endpoint(), key=keys.rogue, kid="rogue")), "key id"
    )
    refused(
        discovery(client, server, mint(server.endpoint(), issuer=INLINE_ISSUER, jku=None, kid="x")),
        "key id",
    )
    refused(discovery(client, server, mint(server.endpoint(), kid=None)), "no key id")


def test_a_token_signed_with_another_key_under_a_known_kid_is_refused(
    client: httpx.Client, server: LiveServer, mint: Mint, keys: Keys
) -> None:
    refused(discovery(client, server, mint(server.endpoint(), key=keys.rogue)), "signature")


def test_alg_none_is_refused(client: httpx.Client, server: LiveServer) -> None:
    now = int(time.time())
    token = unsigned(
        {"alg": "none", "typ": "JWT", "kid": "ec-1"},
        {"iss": ISSUER, "aud": server.endpoint(), "iat": now, "exp": now + 60, "jti": "n-1"},
    )
    refused(discovery(client, server, token), "algorithm 'none' is not accepted")


def test_hmac_is_refused(client: httpx.Client, server: LiveServer, mint: Mint) -> None:
    secret = "a-shared-secret-that-is-long-enough-for-hs256-x"  # noqa: S105 - the attack tested
    token = mint(server.endpoint(), key=secret, algorithm="HS256", kid="sym", jku=None)
    refused(discovery(client, server, token), "algorithm 'HS256' is not accepted")


def test_a_replayed_jti_is_refused(client: httpx.Client, server: LiveServer, mint: Mint) -> None:
    token = mint(server.endpoint(), jti="only-once")
    assert discovery(client, server, token).status_code == 200
    refused(discovery(client, server, token), "already used (jti replayed)")
    again = mint(server.endpoint(), jti="only-once")  # a new token cannot reuse the id either
    refused(discovery(client, server, again), "already used")


def test_a_jku_off_the_allow_list_is_never_fetched_and_the_configured_keys_decide(
    client: httpx.Client, server: LiveServer, mint: Mint, jwks: StubServer, keys: Keys
) -> None:
    before = len(jwks.requests)
    # The ES key is not among the issuer's configured keys (jwks_url is /rsa.json): refused.
    token = mint(server.endpoint(), jku="https://attacker.example/jwks.json")
    refused(discovery(client, server, token), "key id (kid) is unknown")
    # As the CDS Hooks sandbox does: a jku of its own, and a kid of the issuer's configured keys.
    token = mint(
        server.endpoint(),
        key=keys.rsa,
        algorithm="RS384",
        kid="rsa-1",
        jku="https://sandbox.cds-hooks.org/.well-known/jwks.json",
    )
    assert discovery(client, server, token).status_code == 200
    inline = mint(server.endpoint(), issuer=INLINE_ISSUER, jku="https://other.example/jwks.json")
    assert discovery(client, server, inline).status_code == 200
    fetched = [path for path, _ in jwks.requests[before:] if path != "/rsa.json"]
    assert fetched == []  # only the configured jwks_url was read, never the tokens' jku


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, "a bearer token is required"),
        ("Basic dXNlcjpwYXNz", "must be: Bearer <JWT>"),
        ("Bearer", "must be: Bearer <JWT>"),
        ("Bearer not.a.jwt", "not a well-formed JWT"),
    ],
)
def test_a_missing_or_malformed_token_is_refused(
    client: httpx.Client, server: LiveServer, authorization: str | None, reason: str
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    refused(client.get(server.endpoint(), headers=headers), reason)


def test_claims_and_header_are_checked(
    client: httpx.Client, server: LiveServer, mint: Mint, keys: Keys
) -> None:
    endpoint = server.endpoint()
    refused(discovery(client, server, mint(endpoint, lifetime=3600)), "longer than the 300 s")
    refused(
        discovery(client, server, mint(endpoint, issued=time.time() + 600)), "issued in the future"
    )
    refused(discovery(client, server, mint(endpoint, drop=("jti",))), "no jti claim")
    refused(discovery(client, server, mint(endpoint, drop=("exp",))), "no exp claim")
    refused(discovery(client, server, mint(endpoint, jti="")), "jti")
    refused(discovery(client, server, mint(endpoint, headers={"typ": "at+jwt"})), "typ")
    wrong_alg = mint(endpoint, key=keys.rsa, algorithm="RS256", kid="ec-1")
    refused(discovery(client, server, wrong_alg), "does not match its key")
    mismatched = mint(endpoint, key=keys.ec, algorithm="ES384", kid="rsa-1", jku=None)
    refused(discovery(client, server, mismatched), "cannot be verified")


def test_every_endpoint_is_protected(client: httpx.Client, server: LiveServer, mint: Mint) -> None:
    for url in (server.endpoint(SERVICE), server.endpoint(SERVICE, "feedback")):
        refused(client.post(url, json={}), "bearer token is required")
        refused(client.post(url, json={}, headers=bearer(mint(server.endpoint()))), "audience")


# -- the JWKS cache and the verifier, directly -----------------------------------------------------


class FakeClock:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_jwks_are_cached_and_refetched_for_an_unknown_kid_at_most_so_often(keys: Keys) -> None:
    async def scenario(stub: StubServer) -> None:
        clock = FakeClock()
        async with httpx.AsyncClient() as http:
            cache = JwksCache(http, ttl=300, min_refresh=0.25, clock=clock)
            url = f"{stub.url}/keys.json"
            assert (await cache.key(url, "ec-1")) == keys.ec_jwk
            assert (await cache.key(url, "ec-1")) == keys.ec_jwk
            assert stub.count("/keys.json") == 1
            stub.routes["/keys.json"] = Route(
                body={"keys": [keys.ec_jwk, {**keys.ec_jwk, "kid": "new"}]}
            )
            clock.now += 0.125  # (steps a binary fraction, so the sums are exact)
            assert await cache.key(url, "new") is None  # too soon to refetch
            assert stub.count("/keys.json") == 1
            clock.now += 0.125  # min_refresh has passed
            assert (await cache.key(url, "new")) is not None  # rotated key found
            assert stub.count("/keys.json") == 2
            clock.now += 299.5  # still within the ttl: served from the cache
            assert (await cache.key(url, "ec-1")) == keys.ec_jwk
            assert stub.count("/keys.json") == 2
            clock.now += 0.5  # the ttl has passed: refetched even for a known key id
            assert (await cache.key(url, "ec-1")) == keys.ec_jwk
            assert stub.count("/keys.json") == 3
            expired = JwksCache(http, ttl=0, min_refresh=0, clock=clock)
            await expired.key(url, "ec-1")
            await expired.key(url, "ec-1")
            assert stub.count("/keys.json") == 5

    with stub_server() as stub:
        stub.routes["/keys.json"] = Route(body={"keys": [keys.ec_jwk]})
        asyncio.run(scenario(stub))


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        (Route(500, {}), "cannot be fetched"),
        (Route(raw=b"<html>"), "is not JSON"),
        (Route(body={"no": "keys"}), "has no keys"),
        (Route(raw=b'{"keys": [' + b'{"kid": "x"},' * 30_000 + b"{}]}"), "cannot be fetched"),
    ],
)
def test_a_bad_jwks_answer_is_an_auth_error(route: Route, reason: str) -> None:
    async def fetch(url: str) -> None:
        async with httpx.AsyncClient() as http:
            await JwksCache(http, 300, 10).key(url, "any")

    with stub_server() as stub:
        stub.routes["/jwks"] = route
        with pytest.raises(AuthError, match=reason):
            asyncio.run(fetch(f"{stub.url}/jwks"))


def test_a_failing_jwks_is_not_refetched_on_every_request(keys: Keys) -> None:
    async def scenario(stub: StubServer) -> None:
        async with httpx.AsyncClient() as http:
            cache = JwksCache(http, ttl=300, min_refresh=60)
            url = f"{stub.url}/down.json"
            with pytest.raises(AuthError, match="cannot be fetched"):
                await cache.key(url, "ec-1")
            stub.routes["/down.json"] = Route(body={"keys": [keys.ec_jwk]})
            assert await cache.key(url, "ec-1") is None  # not retried yet
            assert stub.count("/down.json") == 1

    with stub_server() as stub:
        stub.routes["/down.json"] = Route(503, {})
        asyncio.run(scenario(stub))


def test_an_unreachable_jwks_is_an_auth_error() -> None:
    async def fetch() -> None:
        async with httpx.AsyncClient() as http:
            await JwksCache(http, 300, 10).key("http://127.0.0.1:9/jwks", "any")

    with pytest.raises(AuthError, match="cannot be fetched"):
        asyncio.run(fetch())


def test_symmetric_keys_in_a_jwks_are_never_used() -> None:
    keys = keys_by_id(
        {
            "keys": [
                {"kty": "oct", "kid": "s", "k": "eA"},
                {"kty": "EC", "kid": "e"},
                "junk",
                {"kty": "RSA"},
            ]
        }
    )
    assert list(keys) == ["e"]


def test_an_issuer_with_only_a_jku_needs_the_token_to_name_it(
    tmp_path: Path, keys: Keys, jwks: StubServer
) -> None:
    settings = ServiceSettings(
        issuers=(TrustedIssuer(iss=ISSUER, jku=(f"{jwks.url}/ec.json",)),), database=tmp_path / "db"
    )
    now = int(time.time())
    token = jwt.encode(
        {"iss": ISSUER, "aud": "a", "iat": now, "exp": now + 60, "jti": "j"},
        keys.ec,
        algorithm="ES384",
        headers={"kid": "ec-1"},
    )

    async def verify() -> None:
        async with httpx.AsyncClient() as http:
            with ServiceStore(settings.database) as store:
                await TokenVerifier(settings, store, http).verify(f"Bearer {token}", ["a"])

    with pytest.raises(AuthError, match="key id"):
        asyncio.run(verify())
