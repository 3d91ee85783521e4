"""``rsa-rules serve``: run the CDS Hooks 2.0 service on uvicorn.

    rsa-rules serve --host 127.0.0.1 --port 8080 --trusted-issuers issuers.json \\
        --public-url https://cds.example.org --database /var/lib/rsa-rules/cds.sqlite3

Authentication is on by default (a signed JWT from a trusted issuer on every call);
``--no-auth`` turns it off for local development only: it binds to the loopback interface
only, and says so loudly at start-up.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .settings import (
    APP_FACTORY,
    SETTINGS_ENVIRONMENT,
    ServiceSettings,
    default_database,
    is_loopback,
    load_issuers,
)
from .store import ServiceStore

__all__ = ["add_serve_arguments", "no_auth_banner", "run_serve", "settings_from_args"]

EXIT_OK, EXIT_INPUT = 0, 2
MAX_WORKERS = 64

_BANNER_LINES = (
    "rsa-rules serve --no-auth: AUTHENTICATION IS OFF.",
    "No JWT is checked: anyone who can reach {address}",
    "can ask for decision support. For local development only.",
)


def no_auth_banner(address: str) -> str:
    """The start-up warning of ``--no-auth``, framed so that it is hard to miss."""
    lines = [line.format(address=address) for line in _BANNER_LINES]
    width = max(len(line) for line in lines) + 4
    rule = "*" * width
    body = [f"* {line.ljust(width - 4)} *" for line in lines]
    return "\n".join([rule, *body, rule]) + "\n"


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``rsa-rules serve``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to bind (default 8080)")
    parser.add_argument(
        "--public-url",
        help="the base URL CDS clients call, checked against each token's aud "
        "(default http://HOST:PORT)",
    )
    parser.add_argument(
        "--database",
        help="SQLite file for feedback and seen token ids "
        "(default: cds.sqlite3 in the user's data directory, e.g. ~/.local/share/rsa-rules)",
    )
    parser.add_argument(
        "--trusted-issuers",
        metavar="FILE",
        help="JSON or YAML file of trusted CDS clients (iss, and jwks_url, jku or jwks)",
    )
    parser.add_argument(
        "--no-auth",
        action="store_true",
        help="turn JWT authentication off: local development only (loopback only)",
    )
    parser.add_argument(
        "--fhir-server",
        action="append",
        default=[],
        metavar="URL",
        help="a FHIR server base URL the service may fetch missing prefetch data from "
        "(repeatable; none by default)",
    )
    parser.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a browser origin allowed to call the service, e.g. https://sandbox.cds-hooks.org "
        "(CORS, preflight included; repeatable; none by default)",
    )
    parser.add_argument(
        "--narrow-conditions",
        action="store_true",
        help="ask for the patient's Conditions by the codes of the code lists only, not all of "
        "them; Conditions named by their text alone (heparin-induced thrombocytopenia, PCOS, "
        "uncoded losses) are then not sent and stay unknown",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes answering requests (default 1; about one per CPU core spares "
        "each request the queue behind the others)",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=5 * 1024 * 1024,
        help="largest request body accepted (default 5 MiB)",
    )
    parser.add_argument(
        "--max-token-lifetime",
        type=int,
        default=300,
        help="longest accepted token lifetime, exp - iat, in seconds (default 300)",
    )
    parser.add_argument(
        "--clock-skew", type=int, default=10, help="seconds of leeway on exp and iat (default 10)"
    )
    parser.add_argument("--rules", help="knowledge base directory (default: the bundled one)")
    parser.add_argument(
        "--log-level",
        choices=("critical", "error", "warning", "info", "debug"),
        default="info",
    )
    parser.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="log each request line (no patient data is in it)",
    )


def settings_from_args(args: argparse.Namespace) -> ServiceSettings:
    """The service settings from the command line; ``ValueError`` names what is wrong."""
    issuers = load_issuers(args.trusted_issuers) if args.trusted_issuers else ()
    try:
        return ServiceSettings(
            host=args.host,
            port=args.port,
            public_url=args.public_url,
            database=Path(args.database) if args.database else default_database(),
            auth=not args.no_auth,
            issuers=issuers,
            max_token_lifetime=args.max_token_lifetime,
            clock_skew=args.clock_skew,
            max_body_bytes=args.max_body_bytes,
            fhir_servers=tuple(args.fhir_server),
            rules=args.rules,
            cors_origins=tuple(args.cors_origin),
            narrow_conditions=args.narrow_conditions,
        )
    except ValidationError as error:
        raise ValueError(
            "; ".join(
                f"{'.'.join(str(p) for p in item['loc']) or 'settings'}: "
                f"{item['msg'].removeprefix('Value error, ')}"
                if item["loc"]
                else item["msg"].removeprefix("Value error, ")
                for item in error.errors()
            )
        ) from None


def run_serve(args: argparse.Namespace) -> int:
    """Run the service until it is stopped; 2 when the configuration is invalid."""
    try:
        if not 1 <= args.workers <= MAX_WORKERS:
            raise ValueError(f"--workers must be from 1 to {MAX_WORKERS}, not {args.workers}")
        settings = settings_from_args(args)
    except ValueError as error:
        sys.stderr.write(f"rsa-rules: {error}\n")
        return EXIT_INPUT
    import uvicorn

    from .app import NoDelayHttp, create_app

    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("rsa_rules.service")
    if not settings.auth:
        address = f"{settings.host}:{settings.port}"
        sys.stderr.write(no_auth_banner(address))
        log.warning("authentication is OFF (--no-auth): local development only")
    else:
        log.info(
            "authentication on: %d trusted issuer(s); aud must be under %s",
            len(settings.issuers),
            settings.base_url,
        )
    if not is_loopback(settings.host) and settings.base_url.startswith("http://"):
        log.warning("the public URL is http: CDS Hooks requires https for production data")
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": args.log_level,
        "access_log": args.access_log,
        "server_header": False,
        "lifespan": "on",
        "http": NoDelayHttp,
    }
    if args.workers == 1:
        uvicorn.run(create_app(settings), **options)
        return EXIT_OK
    # Each worker process builds its own application from the settings, passed on in the
    # environment; they share the SQLite store (feedback, and token ids: a token replayed to
    # another worker is refused too). It is created here, once, before they start.
    ServiceStore(settings.database).close()
    os.environ[SETTINGS_ENVIRONMENT] = settings.model_dump_json()
    uvicorn.run(APP_FACTORY, factory=True, workers=args.workers, **options)
    return EXIT_OK
