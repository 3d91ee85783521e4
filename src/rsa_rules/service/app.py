"""The CDS Hooks 2.0 service (FastAPI): discovery, three services, and feedback.

    GET  /cds-services                      discovery, with prefetch templates
    POST /cds-services/{id}                 patient-view, order-sign, order-select
    POST /cds-services/{id}/feedback        card feedback, stored durably in SQLite

Every call is authenticated (:mod:`rsa_rules.service.auth`) unless the service was started
with ``--no-auth``. Errors answer JSON ``{"error": code, "message": text}``: 400 for a body
that is not JSON or not a valid request, 401 when authentication fails, 404 for an unknown
service, 412 when required prefetch data is missing and cannot be fetched, 413 for a body
over the size limit, 415 for a body whose content type is not JSON, 500 (with no detail) for
a failure of the service itself. Answers to service calls carry ``Cache-Control: no-store``.

CORS: browser-based clients are allowed from the configured origins only (``--cors-origin``,
repeatable; none by default), preflight included. A prefetch value that is an
OperationOutcome is reported (``unavailable`` in the report extension, and a card).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Literal, NoReturn

import anyio.to_thread
import httpx
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from starlette.exceptions import HTTPException as StarletteHTTPException
from uvicorn.protocols.http.h11_impl import H11Protocol

from ..adapters.cds_hooks import (
    HookRequest,
    ServiceDefinition,
    bundle_references,
    discovery_document,
    draft_orders,
    operation_outcome_text,
    parse_hook_request,
    services,
)
from ..adapters.codes import CODES_FILE, CodeBook, load_code_book
from ..adapters.fhir import FhirError, facts_from_bundle
from ..engine import Engine, default_engine
from ..errors import FactsError
from ..jsontext import JsonTextError, loads_strict
from ..rendering.cards import data_card, evaluation_to_cards, order_cards, prune
from .auth import AuthError, Client, TokenVerifier
from .fhir_client import PrefetchError, fetch_prefetch, render_template
from .settings import SETTINGS_ENVIRONMENT, ServiceSettings
from .store import ServiceStore

__all__ = ["REPORT_EXTENSION", "NoDelayHttp", "app_from_environment", "create_app"]

log = logging.getLogger("rsa_rules.service")

# The FHIR adapter's report (resources not used, how data was read) rides on the response as
# a CDS Hooks extension, so an integrator can see it; clinicians see it in a card.
REPORT_EXTENSION = "org.rsa-rules.fhir-report"


class _Failure(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _fail(status: int, code: str, message: str) -> NoReturn:
    raise _Failure(status, code, message)


def _error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


# Answers that carry patient data are never cached (by browsers or proxies).
_NO_STORE = {"Cache-Control": "no-store"}
_JSON_TYPES = ("application/json", "application/fhir+json")

# -- feedback ---------------------------------------------------------------------------------

_TIMESTAMP: TypeAdapter[datetime] = TypeAdapter(datetime)


class _Coding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1)
    system: str = Field(min_length=1)
    display: str | None = Field(default=None, min_length=1)


class _OverrideReason(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: _Coding | None = None
    userComment: str | None = Field(default=None, min_length=1, max_length=10_000)


class _Accepted(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1)


class _FeedbackItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    card: str = Field(min_length=1, max_length=200)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[_Accepted] | None = Field(default=None, min_length=1)
    overrideReason: _OverrideReason | None = None
    outcomeTimestamp: str
    extension: dict[str, Any] | None = None

    @field_validator("outcomeTimestamp")
    @classmethod
    def _timestamp(cls, value: str) -> str:
        try:  # pydantic's parser: "Z" and offsets on every supported Python (3.10 included)
            _TIMESTAMP.validate_python(value)
        except ValidationError:
            raise ValueError("outcomeTimestamp must be an ISO 8601 timestamp") from None
        return value  # stored as sent

    @model_validator(mode="after")
    def _conditional(self) -> _FeedbackItem:
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("an accepted outcome needs acceptedSuggestions")
        if self.outcome == "overridden" and self.acceptedSuggestions:
            raise ValueError("an overridden outcome has no acceptedSuggestions")
        return self


class _Feedback(BaseModel):
    model_config = ConfigDict(extra="forbid")
    feedback: list[_FeedbackItem] = Field(min_length=1, max_length=1000)
    extension: dict[str, Any] | None = None


# -- the application --------------------------------------------------------------------------


class _Service:
    """What the request handlers share: settings, engine, code lists, store, HTTP client."""

    def __init__(self, settings: ServiceSettings, engine: Engine | None) -> None:
        self.settings = settings
        self.codes: CodeBook = _code_book(settings.rules)
        self.engine = engine
        narrow = settings.narrow_conditions
        self.services = {
            service.id: service for service in services(self.codes, narrow_conditions=narrow)
        }
        self.discovery = discovery_document(self.codes, narrow_conditions=narrow)
        self.store: ServiceStore | None = None
        self.http: httpx.AsyncClient | None = None
        self.verifier: TokenVerifier | None = None

    async def start(self) -> None:
        if self.engine is None:
            self.engine = await anyio.to_thread.run_sync(_engine, self.settings.rules)
        self.store = await anyio.to_thread.run_sync(ServiceStore, self.settings.database)
        self.http = httpx.AsyncClient(
            timeout=self.settings.fhir_timeout, follow_redirects=False, trust_env=False
        )
        self.verifier = TokenVerifier(self.settings, self.store, self.http)

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.aclose()
        if self.store is not None:
            self.store.close()

    # -- steps of a request ----------------------------------------------------------------
    async def authenticate(self, request: Request, audiences: list[str]) -> Client | None:
        if not self.settings.auth:
            return None
        if self.verifier is None:  # pragma: no cover - set at start-up
            _fail(503, "starting", "the service is starting")
        try:
            return await self.verifier.verify(request.headers.get("authorization"), audiences)
        except AuthError as error:
            log.info("401 for %s: %s", request.url.path, error.reason)
            raise _Failure(401, "invalid_token", error.reason) from None

    def service(self, service_id: str) -> ServiceDefinition:
        service = self.services.get(service_id)
        if service is None:
            _fail(404, "unknown_service", f"no CDS service {service_id!r} here")
        return service

    def url(self, *parts: str) -> str:
        return "/".join([self.settings.base_url, "cds-services", *parts])

    async def body(self, request: Request) -> Any:
        media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if media and media not in _JSON_TYPES and not media.endswith("+json"):
            _fail(415, "unsupported_media_type", f"the body must be JSON, not {media}")
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:  # the stream is counted as well
            _fail(413, "too_large", f"the request body is larger than {limit} bytes")
        chunks: list[bytes] = []
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                _fail(413, "too_large", f"the request body is larger than {limit} bytes")
            chunks.append(chunk)
        return _parse_json(b"".join(chunks))

    async def prefetch(
        self, hook: HookRequest, service: ServiceDefinition
    ) -> tuple[list[Any], list[dict[str, str]]]:
        """The prefetched resources, and the data the client or server said was unavailable
        (an OperationOutcome in place of a prefetch value)."""
        given = hook.prefetch or {}
        found: list[Any] = []
        missing: list[str] = []
        unavailable: list[dict[str, str]] = []

        def add(key: str, value: Any) -> None:
            if isinstance(value, dict) and value.get("resourceType") == "OperationOutcome":
                unavailable.append({"prefetch": key, "reason": operation_outcome_text(value)})
            else:
                found.append(value)

        for key in service.prefetch:
            if key not in given:
                missing.append(key)
                continue
            value = given[key]
            if value is None:
                continue  # CDS Hooks: null means the client has no data for this key
            if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
                _fail(400, "bad_request", f"prefetch.{key} must be a FHIR resource or null")
            add(key, value)
        if not missing:
            return found, unavailable
        server = hook.fhirServer
        keys = ", ".join(missing)
        if server is None:
            _fail(
                412,
                "prefetch_missing",
                f"required prefetch data is missing ({keys}) and no fhirServer was given to "
                "fetch it",
            )
        if not self.settings.fhir_server_allowed(server):
            _fail(
                412,
                "prefetch_missing",
                f"required prefetch data is missing ({keys}) and this service may not fetch "
                f"from {server} (not on its FHIR server allow-list)",
            )
        token = hook.fhirAuthorization.access_token if hook.fhirAuthorization else None
        try:
            queries = [render_template(service.prefetch[key], hook.context) for key in missing]
            if self.http is None:  # pragma: no cover - set at start-up
                _fail(503, "starting", "the service is starting")
            fetched = await asyncio.gather(
                *(fetch_prefetch(self.http, server, token, query) for query in queries)
            )
        except PrefetchError as error:
            _fail(412, "prefetch_failed", f"required data could not be fetched: {error}")
        for key, value in zip(missing, fetched, strict=True):
            if value is not None:
                add(key, value)
        return found, unavailable

    def decide(
        self,
        service: ServiceDefinition,
        hook: HookRequest,
        resources: list[Any],
        unavailable: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Facts from FHIR, the evaluation, and the cards (run in a worker thread)."""
        if self.engine is None:  # pragma: no cover - set at start-up
            _fail(503, "starting", "the service is starting")
        patient_id = hook.context_text("patientId")
        drafts: list[Any] = []
        checked: list[str] = []
        if service.hook in ("order-sign", "order-select"):
            bundle = hook.context["draftOrders"]
            drafts.append(bundle)
            checked = bundle_references(bundle)
            if service.hook == "order-select":
                selected = set(hook.context["selections"])
                checked = [reference for reference in checked if reference in selected]
        try:
            read = facts_from_bundle(
                [*drafts, *resources],
                patient_id=patient_id,
                today=date.today(),
                codes=self.codes,
                fhir_server=hook.fhirServer,
            )
        except (FhirError, FactsError) as error:
            _fail(400, "bad_fhir_data", f"the FHIR data cannot be read: {error}")
        evaluation = self.engine.evaluate(read.facts)
        knowledge = self.engine.knowledge
        if read.withheld is not None:  # deceased, or no pregnancy to advise on: no cards
            withheld = {
                "withheld": read.withheld,
                "unused": [item.to_dict() for item in read.unused],
                "notes": [note.to_dict() for note in read.notes],
                "unavailable": list(unavailable or ()),
            }
            return {"cards": [], "extension": prune({REPORT_EXTENSION: withheld})}
        if service.hook == "patient-view":
            cards = evaluation_to_cards(
                evaluation, fhir=read, patient_id=patient_id, codes=self.codes, knowledge=knowledge
            )
        else:
            cards = order_cards(
                evaluation,
                draft_orders(read, checked),
                fhir=read,
                patient_id=patient_id,
                codes=self.codes,
                knowledge=knowledge,
            )
        extra = data_card(
            read,
            orders=checked,
            evaluation=evaluation,
            codes=self.codes,
            unavailable=unavailable or (),
        )
        if extra is not None:
            cards.append(extra)
        report = {
            "unused": [item.to_dict() for item in read.unused],
            "notes": [note.to_dict() for note in read.notes],
            "unavailable": list(unavailable or ()),
        }
        response: dict[str, Any] = {"cards": cards}
        extension = prune({REPORT_EXTENSION: report})
        if extension:
            response["extension"] = extension
        return response


def _code_book(rules: str | None) -> CodeBook:
    """The code lists of the knowledge base directory, or the bundled ones if it has none."""
    if rules is not None and (Path(rules) / CODES_FILE).is_file():
        return load_code_book(rules)
    return load_code_book()


def _engine(rules: str | None) -> Engine:
    engine = default_engine() if rules is None else Engine(rules)
    engine.evaluate({})  # compile and warm up before the first request
    return engine


def _parse_json(body: bytes) -> Any:
    if not body:
        _fail(400, "invalid_json", "the request body is empty (a JSON object is expected)")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        _fail(400, "invalid_json", "the request body is not UTF-8")
    try:
        return loads_strict(text, what="a CDS Hooks request")
    except JsonTextError as error:
        _fail(400, "invalid_json", f"the request body cannot be read: {error}")


class NoDelayHttp(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with Nagle's algorithm off on every connection.

    The worker processes of ``serve --workers N`` get their listening socket from uvicorn's
    supervisor, and asyncio then leaves ``TCP_NODELAY`` off on Linux (uvicorn issue #3149):
    every answer on a kept-alive connection after the first would wait about 40 ms for the
    client's delayed acknowledgement. Set here, it holds however the socket was made.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def app_from_environment() -> FastAPI:
    """The application of one worker process of ``rsa-rules serve --workers N``: uvicorn
    starts each worker by importing this, and the settings come as JSON in the environment."""
    try:
        document = os.environ[SETTINGS_ENVIRONMENT]
    except KeyError:
        raise RuntimeError(
            f"{SETTINGS_ENVIRONMENT} is not set: start the service with rsa-rules serve"
        ) from None
    return create_app(ServiceSettings.model_validate_json(document))


def create_app(settings: ServiceSettings, *, engine: Engine | None = None) -> FastAPI:
    """The CDS Hooks application for these settings (an engine may be given, e.g. in tests)."""
    state = _Service(settings, engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await state.start()
        try:
            yield
        finally:
            await state.stop()

    app = FastAPI(
        title="rsa-rules CDS Hooks service",
        description="Explainable decision support for recurrent pregnancy loss (CDS Hooks 2.0).",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.service = state
    if settings.cors_origins:
        # Browser-based CDS clients (the CDS Hooks sandbox, SMART apps) call from their own
        # origin; preflight requests are answered here, before authentication.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Accept"],
            allow_credentials=False,
            max_age=600,
        )

    @app.exception_handler(_Failure)
    async def _failure(_request: Request, failure: _Failure) -> JSONResponse:
        headers = None
        if failure.status == 401:
            headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        return _error(failure.status, failure.code, failure.message, headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        return _error(error.status_code, "http_error", str(error.detail))

    @app.exception_handler(Exception)
    async def _crash(request: Request, error: Exception) -> JSONResponse:
        log.error("500 for %s: %s", request.url.path, type(error).__name__, exc_info=error)
        return _error(500, "internal_error", "the service failed; the failure is in its log")

    @app.get("/cds-services")
    async def discovery(request: Request) -> JSONResponse:
        await state.authenticate(request, [state.url()])
        return JSONResponse(state.discovery)

    @app.post("/cds-services/{service_id}")
    async def call(service_id: str, request: Request) -> JSONResponse:
        service = state.service(service_id)
        await state.authenticate(request, [state.url(service_id)])
        document = await state.body(request)
        try:
            hook = parse_hook_request(document, service.hook)
        except ValueError as error:
            _fail(400, "bad_request", str(error))
        resources, unavailable = await state.prefetch(hook, service)
        result = await anyio.to_thread.run_sync(state.decide, service, hook, resources, unavailable)
        return JSONResponse(result, headers=_NO_STORE)

    @app.post("/cds-services/{service_id}/feedback")
    async def feedback(service_id: str, request: Request) -> JSONResponse:
        service = state.service(service_id)
        client = await state.authenticate(
            request, [state.url(service_id, "feedback"), state.url(service_id)]
        )
        document = await state.body(request)
        try:
            parsed = _Feedback.model_validate(document)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in item['loc']) or '(body)'}: "
                f"{item['msg'].removeprefix('Value error, ')}"
                for item in error.errors()
            )
            _fail(400, "bad_request", f"not CDS Hooks feedback: {problems}")
        store = state.store
        if store is None:  # pragma: no cover - set at start-up
            _fail(503, "starting", "the service is starting")
        items = [item.model_dump(exclude_none=True) for item in parsed.feedback]
        stored = await anyio.to_thread.run_sync(
            lambda: store.add_feedback(
                service.id,
                items,
                client=client.issuer if client else "(no authentication)",
                received_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            )
        )
        return JSONResponse({"stored": stored})

    return app
