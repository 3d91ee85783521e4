"""Live servers for the service tests: the CDS Hooks app on uvicorn, and small loopback HTTP
servers standing in for a CDS client's JWKS endpoint and a FHIR server.

Everything binds to 127.0.0.1 on a free port, is started and stopped by the tests, and every
wait is bounded.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

import rsa_rules
from rsa_rules.service.app import create_app
from rsa_rules.service.settings import ServiceSettings, TrustedIssuer

START_TIMEOUT = 30.0
DEFAULT_ENGINE: Any = object()  # give the app the session's engine (None: let it build its own)
ISSUER = "https://ehr.example.org"
INLINE_ISSUER = "https://inline.example.org"


# -- the CDS Hooks service -----------------------------------------------------------------------


class LiveServer:
    """The real app on uvicorn, in a thread, on a socket bound to a free loopback port."""

    def __init__(
        self, settings: ServiceSettings, sock: socket.socket, engine: Any = DEFAULT_ENGINE
    ) -> None:
        self.settings = settings
        self.sock = sock
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(
                settings,
                engine=rsa_rules.default_engine() if engine is DEFAULT_ENGINE else engine,
            ),
            log_level="warning",
            access_log=False,
            lifespan="on",
            ws="none",
            http="h11",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]})

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the CDS Hooks server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=START_TIMEOUT)
        self.sock.close()
        if self.thread.is_alive():  # pragma: no cover - a hung server fails the test
            raise RuntimeError("the CDS Hooks server did not stop")

    def endpoint(self, *parts: str) -> str:
        return "/".join([self.url, "cds-services", *parts])


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def live_server(engine: Any = DEFAULT_ENGINE, **settings: Any) -> Iterator[LiveServer]:
    """Start the service with these settings (port and public URL filled in); stop it after."""
    sock = free_socket()
    port = sock.getsockname()[1]
    settings.setdefault("public_url", f"http://127.0.0.1:{port}")
    server = LiveServer(ServiceSettings(port=port, **settings), sock, engine)
    try:
        server.start()
        yield server
    finally:
        server.stop()


# -- small loopback HTTP servers (JWKS, FHIR) --------------------------------------------------


@dataclass
class Route:
    status: int = 200
    body: Any = None
    raw: bytes | None = None


@dataclass
class StubServer:
    """A loopback HTTP server answering GETs from a table of routes (path with query)."""

    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    url: str = ""

    def count(self, path: str) -> int:
        return sum(1 for seen, _ in self.requests if seen == path)


@contextmanager
def stub_server() -> Iterator[StubServer]:
    stub = StubServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            stub.requests.append((self.path, dict(self.headers)))
            route = stub.routes.get(self.path, Route(404, {"resourceType": "OperationOutcome"}))
            payload = route.raw if route.raw is not None else json.dumps(route.body).encode()
            self.send_response(route.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=START_TIMEOUT)


# -- keys and tokens -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Keys:
    ec: ec.EllipticCurvePrivateKey
    rsa: rsa.RSAPrivateKey
    rogue: ec.EllipticCurvePrivateKey
    ec_jwk: dict[str, Any]
    rsa_jwk: dict[str, Any]


@pytest.fixture(scope="session")
def keys() -> Keys:
    ec_key = ec.generate_private_key(ec.SECP384R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_jwk = {
        **ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True),
        "kid": "ec-1",
        "use": "sig",
        "alg": "ES384",
    }
    rsa_jwk = {
        **RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True),
        "kid": "rsa-1",
        "use": "sig",
    }
    return Keys(ec_key, rsa_key, ec.generate_private_key(ec.SECP384R1()), ec_jwk, rsa_jwk)


@pytest.fixture(scope="session")
def jwks(keys: Keys) -> Iterator[StubServer]:
    """The CDS client's JWK Sets, on a loopback server: /ec.json (jku) and /rsa.json."""
    with stub_server() as stub:
        stub.routes["/ec.json"] = Route(body={"keys": [keys.ec_jwk]})
        stub.routes["/rsa.json"] = Route(
            body={"keys": [keys.rsa_jwk, {"kty": "oct", "kid": "sym", "k": "c2VjcmV0"}]}
        )
        yield stub


def trusted(jwks: StubServer, keys: Keys) -> tuple[TrustedIssuer, ...]:
    return (
        TrustedIssuer(iss=ISSUER, jwks_url=f"{jwks.url}/rsa.json", jku=(f"{jwks.url}/ec.json",)),
        TrustedIssuer(iss=INLINE_ISSUER, jwks={"keys": [keys.ec_jwk]}),
    )


Mint = Callable[..., str]


@pytest.fixture(scope="session")
def mint(keys: Keys, jwks: StubServer) -> Mint:
    """A token factory: ES384 with the allow-listed jku by default; anything can be changed."""

    def make(
        audience: str | list[str],
        *,
        key: Any = None,
        algorithm: str = "ES384",
        kid: str | None = "ec-1",
        jku: str | None = "default",
        issuer: str = ISSUER,
        lifetime: int = 120,
        issued: float | None = None,
        jti: str | None = None,
        drop: tuple[str, ...] = (),
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        now = time.time() if issued is None else issued
        payload: dict[str, Any] = {
            "iss": issuer,
            "sub": "ehr-client",
            "aud": audience,
            "iat": int(now),
            "exp": int(now) + lifetime,
            "jti": str(uuid.uuid4()) if jti is None else jti,
            **claims,
        }
        for name in drop:
            payload.pop(name, None)
        header: dict[str, Any] = {"typ": "JWT"}
        if kid is not None:
            header["kid"] = kid
        if jku == "default":
            header["jku"] = f"{jwks.url}/ec.json"
        elif jku is not None:
            header["jku"] = jku
        header.update(headers or {})
        signing = keys.ec if key is None else key
        return jwt.encode(payload, signing, algorithm=algorithm, headers=header)

    return make


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=20.0, trust_env=False) as http:
        yield http


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "state" / "cds.sqlite3"
