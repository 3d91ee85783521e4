"""Settings, the trusted-issuers file, the SQLite store, and ``rsa-rules serve`` itself."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import psutil
import pytest
from pydantic import ValidationError
from uvicorn.protocols.http.h11_impl import H11Protocol

from rsa_rules.adapters.cds_hooks import prefetch_templates
from rsa_rules.cli import main
from rsa_rules.service import commandline
from rsa_rules.service.app import NoDelayHttp, app_from_environment
from rsa_rules.service.settings import (
    APP_FACTORY,
    SETTINGS_ENVIRONMENT,
    ServiceSettings,
    TrustedIssuer,
    is_loopback,
    load_issuers,
)
from rsa_rules.service.store import ServiceStore

from ..conftest import ROOT
from .conftest import INLINE_ISSUER, START_TIMEOUT, Keys, free_socket

EC_KEY = {"kty": "EC", "crv": "P-384", "kid": "k", "x": "AA", "y": "AA"}


# -- settings ---------------------------------------------------------------------------------


def test_auth_is_on_by_default_and_needs_trusted_issuers() -> None:
    with pytest.raises(ValidationError, match="no trusted issuers are configured"):
        ServiceSettings()
    settings = ServiceSettings(issuers=(TrustedIssuer(iss="https://ehr", jwks={"keys": [EC_KEY]}),))
    assert settings.auth
    assert settings.base_url == "http://127.0.0.1:8080"
    assert "HS256" not in settings.algorithms
    assert "none" not in settings.algorithms


def test_no_auth_is_for_the_loopback_interface_only() -> None:
    for host in ("127.0.0.1", "::1", "localhost"):
        assert ServiceSettings(auth=False, host=host).auth is False
    with pytest.raises(ValidationError, match="local development only"):
        ServiceSettings(auth=False, host="0.0.0.0")  # noqa: S104 - the refusal is the test


def test_settings_refuse_symmetric_algorithms_and_bad_urls() -> None:
    with pytest.raises(ValidationError, match="'HS256' is not an accepted algorithm"):
        ServiceSettings(auth=False, algorithms=("ES384", "HS256"))
    with pytest.raises(ValidationError, match="not an http"):
        ServiceSettings(auth=False, public_url="cds.example.org")
    with pytest.raises(ValidationError, match="not an http"):
        ServiceSettings(auth=False, fhir_servers=("ftp://fhir",))


def test_the_public_url_and_the_fhir_allow_list() -> None:
    settings = ServiceSettings(
        auth=False,
        host="::1",
        port=9000,
        fhir_servers=("https://fhir.example.org/r4/",),
    )
    assert settings.base_url == "http://[::1]:9000"
    assert settings.fhir_server_allowed("https://fhir.example.org/r4")
    assert settings.fhir_server_allowed("https://fhir.example.org/r4/tenant-1")
    assert not settings.fhir_server_allowed("https://fhir.example.org/r4-evil")
    assert not settings.fhir_server_allowed("https://fhir.example.org")
    public = ServiceSettings(auth=False, public_url="https://cds.example.org/")
    assert public.base_url == "https://cds.example.org"


def test_trusted_issuers_need_keys_and_safe_key_urls() -> None:
    with pytest.raises(ValidationError, match="has no keys"):
        TrustedIssuer(iss="https://ehr")
    with pytest.raises(ValidationError, match="must be https"):
        TrustedIssuer(iss="https://ehr", jwks_url="http://ehr.example.org/jwks")
    with pytest.raises(ValidationError, match="must be https"):
        TrustedIssuer(iss="https://ehr", jku=("http://ehr.example.org/jwks",))
    with pytest.raises(ValidationError, match="not an http"):
        TrustedIssuer(iss="https://ehr", jwks_url="file:///etc/keys")
    with pytest.raises(ValidationError, match="JWK Set"):
        TrustedIssuer(iss="https://ehr", jwks={"keys": []})
    loopback = TrustedIssuer(
        iss="x", jwks_url="http://127.0.0.1:5000/jwks", jku=("http://localhost/j",)
    )
    assert loopback.jku == ("http://localhost/j",)


def test_is_loopback() -> None:
    assert is_loopback("127.0.0.2")
    assert is_loopback("[::1]")
    assert is_loopback("LOCALHOST")
    assert not is_loopback("10.0.0.1")
    assert not is_loopback("example.org")


def test_the_issuers_file_reads_json_or_yaml(tmp_path: Path) -> None:
    as_json = tmp_path / "issuers.json"
    as_json.write_text(
        json.dumps({"issuers": [{"iss": "https://a", "jwks": {"keys": [EC_KEY]}}]}),
        encoding="utf-8",
    )
    assert [i.iss for i in load_issuers(as_json)] == ["https://a"]
    as_yaml = tmp_path / "issuers.yaml"
    as_yaml.write_text(
        "issuers:\n  - iss: https://b\n    jwks_url: https://b.example/jwks\n", encoding="utf-8"
    )
    assert load_issuers(str(as_yaml))[0].jwks_url == "https://b.example/jwks"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "cannot read"),
        ("issuers: [unclosed", "not valid JSON or YAML"),
        ("- a list", "must hold an object with an 'issuers' list"),
        ('{"issuers": [{"iss": "https://a"}]}', "issuer 0: issuer: issuer 'https://a' has no keys"),
        ('{"issuers": [{"iss": "https://a", "jwks_url": "https://a/j", "extra": 1}]}', "extra"),
        (
            '{"issuers": [{"iss": "https://a", "jwks_url": "https://a/j"}, '
            '{"iss": "https://a", "jwks_url": "https://a/k"}]}',
            "issuer listed twice: https://a",
        ),
    ],
)
def test_a_bad_issuers_file_says_what_is_wrong(
    tmp_path: Path, text: str | None, message: str
) -> None:
    path = tmp_path / "issuers.json"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        load_issuers(path)


# -- the store -----------------------------------------------------------------------------------


def test_token_ids_are_remembered_until_they_expire(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "store.sqlite3"
    with ServiceStore(path) as store:
        assert store.remember_token("iss", "a", expires_at=100, now=50)
        assert not store.remember_token("iss", "a", expires_at=100, now=60)
        assert store.remember_token("other", "a", expires_at=100, now=60)
    with ServiceStore(path) as store:
        assert not store.remember_token("iss", "a", expires_at=100, now=70)
        for number in range(300):  # the purge of expired ids runs every so often
            store.remember_token("iss", f"n{number}", expires_at=1000, now=500)
        assert store.remember_token("iss", "a", expires_at=2000, now=1500)


def test_feedback_round_trips(tmp_path: Path) -> None:
    with ServiceStore(tmp_path / "s.sqlite3") as store:
        count = store.add_feedback(
            "svc",
            [
                {
                    "card": "c1",
                    "outcome": "accepted",
                    "outcomeTimestamp": "t",
                    "acceptedSuggestions": [{"id": "s"}],
                },
                {"card": "c2", "outcome": "overridden", "outcomeTimestamp": "t"},
            ],
            client="iss",
            received_at="now",
        )
        assert count == 2
        rows = store.feedback()
    assert rows == [
        {
            "received_at": "now",
            "service_id": "svc",
            "card": "c1",
            "outcome": "accepted",
            "outcomeTimestamp": "t",
            "client": "iss",
            "acceptedSuggestions": [{"id": "s"}],
        },
        {
            "received_at": "now",
            "service_id": "svc",
            "card": "c2",
            "outcome": "overridden",
            "outcomeTimestamp": "t",
            "client": "iss",
        },
    ]


# -- rsa-rules serve -------------------------------------------------------------------------------


def _captured_run(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    import uvicorn

    seen: dict[str, Any] = {}

    def fake_run(app: Any, **options: Any) -> None:
        seen["app"] = app
        seen.update(options)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    return seen


def test_serve_runs_uvicorn_with_the_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seen = _captured_run(monkeypatch)
    issuers = tmp_path / "issuers.json"
    issuers.write_text(json.dumps({"issuers": [{"iss": "https://a", "jwks": {"keys": [EC_KEY]}}]}))
    status = main(
        [
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "8443",
            "--trusted-issuers",
            str(issuers),
            "--public-url",
            "https://cds.example.org",
            "--database",
            str(tmp_path / "db.sqlite3"),
            "--fhir-server",
            "https://fhir.example.org/r4",
            "--no-access-log",
            "--log-level",
            "warning",
        ]
    )
    assert status == 0
    assert (seen["host"], seen["port"], seen["access_log"], seen["log_level"]) == (
        "127.0.0.1",
        8443,
        False,
        "warning",
    )
    assert seen["server_header"] is False
    assert seen["lifespan"] == "on"
    assert seen["app"].state.service.settings.fhir_servers == ("https://fhir.example.org/r4",)
    assert "AUTHENTICATION IS OFF" not in capsys.readouterr().err
    discovery = seen["app"].state.service.discovery
    assert discovery["services"][0]["prefetch"]["conditions"] == (
        "Condition?patient={{context.patientId}}"
    )


def test_serve_can_narrow_the_conditions_prefetch(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _captured_run(monkeypatch)
    assert main(["serve", "--no-auth", "--narrow-conditions"]) == 0
    service = seen["app"].state.service
    assert service.settings.narrow_conditions is True
    templates = {s.prefetch["conditions"] for s in service.services.values()}
    assert len(templates) == 1
    (template,) = templates
    assert "&code=" in template
    assert "O03.9" in template
    assert [s["prefetch"]["conditions"] for s in service.discovery["services"]] == [template] * 3


def test_no_auth_says_so_loudly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _captured_run(monkeypatch)
    assert main(["serve", "--no-auth", "--port", "8099"]) == 0
    err = capsys.readouterr().err
    assert "AUTHENTICATION IS OFF" in err
    assert "127.0.0.1:8099" in err
    lines = commandline.no_auth_banner("127.0.0.1:8099").splitlines()
    assert len({len(line) for line in lines}) == 1  # a closed frame


def test_a_plain_http_public_address_is_warned_about(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _captured_run(monkeypatch)
    issuers = tmp_path / "issuers.json"
    issuers.write_text(json.dumps({"issuers": [{"iss": "https://a", "jwks": {"keys": [EC_KEY]}}]}))
    with caplog.at_level("WARNING", logger="rsa_rules.service"):
        main(["serve", "--host", "10.1.2.3", "--trusted-issuers", str(issuers)])
    assert "requires https" in caplog.text


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "no trusted issuers are configured"),
        (["--no-auth", "--host", "192.0.2.1"], "--no-auth is for local development only"),
        (["--trusted-issuers", "/nonexistent/issuers.json"], "cannot read"),
        (["--no-auth", "--max-body-bytes", "10"], "max_body_bytes"),
    ],
)
def test_serve_refuses_a_bad_configuration(
    capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    assert main(["serve", *arguments]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rsa-rules: ")
    assert message in err
    assert "Traceback" not in err


@pytest.mark.slow
def test_rsa_rules_serve_starts_a_real_server(tmp_path: Path) -> None:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    command = [
        sys.executable,
        "-m",
        "rsa_rules",
        "serve",
        "--no-auth",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--database",
        str(tmp_path / "cds.sqlite3"),
    ]
    environment = {**os.environ, "PYTHONWARNINGS": "error"}
    process = subprocess.Popen(
        command, cwd=ROOT, stderr=subprocess.PIPE, text=True, env=environment
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        answer = None
        with httpx.Client(timeout=2.0, trust_env=False) as http:
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    answer = http.get(f"http://127.0.0.1:{port}/cds-services")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
        assert answer is not None
        assert answer.status_code == 200
        assert len(answer.json()["services"]) == 3
    finally:
        process.send_signal(signal.SIGINT)
        try:
            _, err = process.communicate(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung server fails the test
            process.kill()
            _, err = process.communicate()
    assert "AUTHENTICATION IS OFF" in err
    assert process.returncode == 0, err


# -- rsa-rules serve --workers ---------------------------------------------------------------


def test_serve_with_workers_hands_its_settings_to_each_worker(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen = _captured_run(monkeypatch)
    monkeypatch.setenv(SETTINGS_ENVIRONMENT, "")  # restored after the test
    database = tmp_path / "db.sqlite3"
    status = main(
        ["serve", "--no-auth", "--workers", "3", "--database", str(database), "--port", "8111"]
    )
    assert status == 0
    assert seen["app"] == APP_FACTORY
    assert (seen["factory"], seen["workers"], seen["http"]) == (True, 3, NoDelayHttp)
    settings = ServiceSettings.model_validate_json(os.environ[SETTINGS_ENVIRONMENT])
    assert (settings.auth, settings.port, settings.database) == (False, 8111, database)
    assert database.exists()  # the shared store is made once, before the workers start
    app = app_from_environment()  # what each worker runs
    assert app.state.service.settings == settings


def test_serve_with_one_worker_runs_the_application_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _captured_run(monkeypatch)
    assert main(["serve", "--no-auth"]) == 0
    assert seen["app"].state.service.settings.auth is False
    assert seen["http"] is NoDelayHttp
    assert "workers" not in seen


@pytest.mark.parametrize("workers", ["0", "-1", "65"])
def test_a_worker_count_out_of_range_is_refused(
    workers: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--no-auth", "--workers", workers]) == 2
    assert f"--workers must be from 1 to 64, not {workers}" in capsys.readouterr().err


def test_a_worker_started_without_settings_says_how_to_start_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(SETTINGS_ENVIRONMENT, raising=False)
    with pytest.raises(RuntimeError, match="start the service with rsa-rules serve"):
        app_from_environment()


def test_every_connection_has_nagle_off() -> None:
    """The listening socket a worker is handed can make asyncio leave TCP_NODELAY off."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # proto 0, as uvicorn binds
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = socket.create_connection(listener.getsockname())
    accepted, _ = listener.accept()

    class Transport:
        def get_extra_info(self, name: str) -> Any:
            return accepted if name == "socket" else None

    seen: list[Any] = []
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(
        H11Protocol, "connection_made", lambda self, transport: seen.append(transport)
    )
    try:
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        protocol = NoDelayHttp.__new__(NoDelayHttp)
        transport = Transport()
        protocol.connection_made(transport)  # type: ignore[arg-type]
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert seen == [transport]  # and uvicorn's own set-up follows
    finally:
        monkeypatch.undo()
        for sock in (client, accepted, listener):
            sock.close()


@pytest.mark.slow
def test_two_workers_answer_share_the_token_store_and_stop_together(
    tmp_path: Path, keys: Keys
) -> None:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    url = f"http://127.0.0.1:{port}/cds-services/rsa-rules-patient-view"
    issuers = tmp_path / "issuers.json"
    issuers.write_text(
        json.dumps({"issuers": [{"iss": INLINE_ISSUER, "jwks": {"keys": [keys.ec_jwk]}}]})
    )
    command = [sys.executable, "-m", "rsa_rules", "serve", "--workers", "2", "--port", str(port)]
    command += ["--trusted-issuers", str(issuers), "--database", str(tmp_path / "db.sqlite3")]
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        body = {"hook": "patient-view", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"}
        prefetch = dict.fromkeys(prefetch_templates())  # every key sent, as "no data"
        body |= {"context": {"userId": "Practitioner/1", "patientId": "p1"}, "prefetch": prefetch}
        token = _token(keys, url)
        answers = []
        with httpx.Client(timeout=20.0, trust_env=False) as http:
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    http.get(f"http://127.0.0.1:{port}/cds-services")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            children = psutil.Process(process.pid).children(recursive=True)
            for _ in range(4):  # the same token on new connections: whichever worker answers
                with httpx.Client(timeout=20.0, trust_env=False) as fresh:
                    answer = fresh.post(url, json=body, headers=_bearer(token))
                    answers.append(answer.status_code)
            answers.append(
                http.post(url, json=body, headers=_bearer(_token(keys, url))).status_code
            )
        assert answers[0] == 200
        assert answers[1:4] == [401, 401, 401]  # replayed, refused by every worker
        assert answers[4] == 200
        assert sum("spawn_main" in " ".join(c.cmdline()) for c in children) == 2  # the workers
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung server fails the test
            process.kill()
            process.communicate()
    assert process.returncode == 0
    _, alive = psutil.wait_procs(children, timeout=START_TIMEOUT)
    assert not alive, [" ".join(c.cmdline()) for c in alive]


def _token(keys: Keys, audience: str) -> str:
    now = int(time.time())
    claims = {"iss": INLINE_ISSUER, "aud": audience, "iat": now, "exp": now + 60}
    claims["jti"] = os.urandom(8).hex()
    return jwt.encode(claims, keys.ec, algorithm="ES384", headers={"kid": keys.ec_jwk["kid"]})


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
