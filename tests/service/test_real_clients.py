"""Requests as real CDS clients send them: the CDS Hooks specification's examples, the CDS Hooks
sandbox's request shapes and the Da Vinci CRD test kit's fixtures (see fixtures/README.md).

Each gets a 2xx with valid cards, or the 412 the specification mandates when prefetch data is
missing and cannot be fetched; never a 400 for a request the specification allows. Also: CORS
for browser clients, ``Cache-Control: no-store``, 415 for a body that is not JSON by its content
type, an OperationOutcome in place of prefetch data.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..fhir.cds_rules import check_response
from ..fhir.fhirdata import bundle, patient
from .conftest import Keys, LiveServer, Mint, StubServer, bearer, live_server, trusted

FIXTURES = Path(__file__).parent / "fixtures"
PATIENT_VIEW = "rsa-rules-patient-view"
ORDER_SIGN = "rsa-rules-order-sign"
ORDER_SELECT = "rsa-rules-order-select"
SANDBOX = "https://sandbox.cds-hooks.org"
NO_DATA = {"patient": None, "conditions": None, "observations": None}
NO_DATA.update({"medications": None, "services": None, "procedures": None, "allergies": None})


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def request_of(
    hook: str, context: dict[str, Any], prefetch: dict[str, Any] | None
) -> dict[str, Any]:
    """A published hook context wrapped in the request fields it was published without."""
    document: dict[str, Any] = {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context}
    if prefetch is not None:
        document["prefetch"] = prefetch
    return document


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, jwks: StubServer, keys: Keys
) -> Iterator[LiveServer]:
    database = tmp_path_factory.mktemp("clients") / "cds.sqlite3"
    with live_server(
        database=database, issuers=trusted(jwks, keys), cors_origins=(SANDBOX,)
    ) as running:
        yield running


def post(
    client: httpx.Client,
    server: LiveServer,
    mint: Mint,
    path: tuple[str, ...],
    document: Any,
    **headers: str,
) -> httpx.Response:
    token = mint(server.endpoint(*path))
    return client.post(server.endpoint(*path), json=document, headers={**bearer(token), **headers})


def report(response: httpx.Response) -> dict[str, Any]:
    extension: dict[str, Any] = response.json().get("extension", {})
    found: dict[str, Any] = extension.get("org.rsa-rules.fhir-report", {})
    return found


# -- the CDS Hooks specification's examples --------------------------------------------------------


@pytest.mark.parametrize(
    ("hook", "service", "name"),
    [
        ("order-sign", ORDER_SIGN, "spec-order-sign-context.json"),
        ("order-select", ORDER_SELECT, "spec-order-select-context.json"),
    ],
)
def test_the_specifications_order_examples_are_answered(
    client: httpx.Client, server: LiveServer, mint: Mint, hook: str, service: str, name: str
) -> None:
    context = fixture(name)["context"]
    assert "type" not in context["draftOrders"]  # as published: a Bundle without type
    response = post(client, server, mint, (service,), request_of(hook, context, NO_DATA))
    assert response.status_code == 200, response.text
    cards = check_response(response.json())
    assert [c for c in cards if c["indicator"] != "info"] == []
    assert response.headers["cache-control"] == "no-store"


def test_an_unrelated_order_strict_parsing_rejects_gets_no_card(
    client: httpx.Client, server: LiveServer, mint: Mint
) -> None:
    # The specification's amoxicillin draft order; patientId added (order-sign requires it).
    context = {**fixture("spec-order-sign-amoxicillin-context.json")["context"]}
    context["patientId"] = "1288992"
    published = request_of("order-sign", context, NO_DATA)
    response = post(client, server, mint, (ORDER_SIGN,), published)
    assert response.status_code == 200, response.text
    assert check_response(response.json()) == []
    # The specification's order-sign example (R4): its amoxicillin order is not valid R4.
    example = fixture("spec-order-sign-context.json")["context"]
    response = post(client, server, mint, (ORDER_SIGN,), request_of("order-sign", example, NO_DATA))
    assert check_response(response.json()) == []
    unused = {item["reference"]: item for item in report(response)["unused"]}
    amoxicillin = unused["MedicationRequest/smart-MedicationRequest-103"]
    assert amoxicillin["status"] == "invalid"
    assert "concept" not in amoxicillin  # not about this engine: listed, never a card
    assert unused["NutritionOrder/pureeddiet-simple"]["status"] == "unrecognised"


def test_the_specifications_patient_view_request_gets_the_mandated_412(
    client: httpx.Client, server: LiveServer, mint: Mint
) -> None:
    published = fixture("spec-patient-view-request.json")
    response = post(client, server, mint, (PATIENT_VIEW,), published)
    assert response.status_code == 412  # its prefetch is another service's; no server allowed
    assert response.json()["error"] == "prefetch_missing"
    answered = {
        **published,
        "prefetch": {**NO_DATA, "patient": published["prefetch"]["patientToGreet"]},
    }
    response = post(client, server, mint, (PATIENT_VIEW,), answered)
    assert response.status_code == 200, response.text
    check_response(response.json())


@pytest.mark.parametrize(
    "name",
    [
        "spec-feedback-accepted.json",
        "spec-feedback-overridden.json",
        "spec-feedback-overridden-no-reason.json",
    ],
)
def test_the_specifications_feedback_examples_are_stored_as_sent(
    client: httpx.Client, server: LiveServer, mint: Mint, name: str
) -> None:
    document = fixture(name)
    assert document["feedback"][0]["outcomeTimestamp"].endswith("Z")
    response = post(client, server, mint, (PATIENT_VIEW, "feedback"), document)
    assert response.status_code == 200, response.text
    assert response.json() == {"stored": 1}


# -- the Da Vinci CRD test kit ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "name"),
    [
        (ORDER_SIGN, "crd-order-sign-hook-request.json"),
        (ORDER_SELECT, "crd-order-select-hook-request.json"),
    ],
)
def test_the_crd_test_kits_requests_are_answered(
    client: httpx.Client, server: LiveServer, mint: Mint, service: str, name: str
) -> None:
    published = fixture(name)
    response = post(client, server, mint, (service,), published)
    assert response.status_code == 412  # no prefetch, and its FHIR server is not allowed
    with_data = {**copy.deepcopy(published), "prefetch": NO_DATA}
    response = post(client, server, mint, (service,), with_data)
    assert response.status_code == 200, response.text
    assert [c for c in check_response(response.json()) if c["indicator"] != "info"] == []


# -- the CDS Hooks sandbox -------------------------------------------------------------------------


def test_the_sandboxs_order_sign_shape_is_read(
    client: httpx.Client, server: LiveServer, mint: Mint
) -> None:
    context = {**fixture("sandbox-rx-sign-context.json"), "patientId": "smart-1288992"}
    context["userId"] = "Practitioner/COREPRACTITIONER1"
    prefetch = {**NO_DATA, "patient": patient("smart-1288992")}
    response = post(
        client, server, mint, (ORDER_SIGN,), request_of("order-sign", context, prefetch)
    )
    assert response.status_code == 200, response.text
    check_response(response.json())
    notes = [note["text"] for note in report(response)["notes"]]
    assert any("category given as a single value" in text for text in notes)
    unused = report(response).get("unused", [])
    assert all(u["reference"] != "MedicationRequest/request-123" for u in unused)


def test_the_sandboxs_order_select_without_intent_is_an_info_card(
    client: httpx.Client, server: LiveServer, mint: Mint
) -> None:
    context = {**fixture("sandbox-rx-view-context.json"), "patientId": "smart-1288992"}
    prefetch = {**NO_DATA, "patient": patient("smart-1288992")}
    response = post(
        client, server, mint, (ORDER_SELECT,), request_of("order-select", context, prefetch)
    )
    assert response.status_code == 200, response.text
    (card,) = check_response(response.json())
    assert card["indicator"] == "info"
    assert card["summary"].startswith("A draft order could not be checked (aspirin)")


# -- CORS, caching, content type -------------------------------------------------------------------


def test_cors_for_the_configured_origins_including_preflight(
    client: httpx.Client, server: LiveServer, mint: Mint
) -> None:
    preflight = client.options(
        server.endpoint(PATIENT_VIEW),
        headers={
            "Origin": SANDBOX,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == SANDBOX
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    token = mint(server.endpoint())
    found = client.get(server.endpoint(), headers={**bearer(token), "Origin": SANDBOX})
    assert found.status_code == 200
    assert found.headers["access-control-allow-origin"] == SANDBOX
    other = client.options(
        server.endpoint(PATIENT_VIEW),
        headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in other.headers


def test_no_cors_headers_without_configured_origins(
    client: httpx.Client, tmp_path: Path, jwks: StubServer, keys: Keys, mint: Mint
) -> None:
    with live_server(database=tmp_path / "db", issuers=trusted(jwks, keys)) as running:
        token = mint(running.endpoint())
        found = client.get(running.endpoint(), headers={**bearer(token), "Origin": SANDBOX})
    assert found.status_code == 200
    assert "access-control-allow-origin" not in found.headers


def test_a_body_that_is_not_json_by_its_content_type_is_415(
    client: httpx.Client, server: LiveServer, mint: Mint
) -> None:
    token = mint(server.endpoint(PATIENT_VIEW))
    document = json.dumps(request_of("patient-view", {"patientId": "p1"}, NO_DATA))
    response = client.post(
        server.endpoint(PATIENT_VIEW),
        content=document,
        headers={**bearer(token), "Content-Type": "text/plain"},
    )
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"
    token = mint(server.endpoint(PATIENT_VIEW))
    charset = client.post(
        server.endpoint(PATIENT_VIEW),
        content=document,
        headers={**bearer(token), "Content-Type": "application/json; charset=utf-8"},
    )
    assert charset.status_code == 200


def test_an_operation_outcome_in_prefetch_is_reported_never_silent(
    client: httpx.Client, server: LiveServer, mint: Mint
) -> None:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "forbidden", "diagnostics": "Access denied"}],
    }
    searchset = bundle(outcome, kind="searchset")
    prefetch = {**NO_DATA, "patient": patient(), "conditions": outcome, "observations": searchset}
    document = request_of("patient-view", {"patientId": "p1"}, prefetch)
    response = post(client, server, mint, (PATIENT_VIEW,), document)
    assert response.status_code == 200, response.text
    cards = check_response(response.json())
    (card,) = [c for c in cards if c["summary"].startswith("Patient data was unavailable")]
    assert "conditions" in card["summary"]
    assert "Access denied" in card["detail"]
    found = report(response)
    assert found["unavailable"] == [
        {"prefetch": "conditions", "reason": "error forbidden Access denied"}
    ]
    (nested,) = [u for u in found["unused"] if u["resource_type"] == "OperationOutcome"]
    assert "Access denied" in nested["reason"]


# -- whom the engine speaks to ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("person", "reason"),
    [
        ({"deceasedDateTime": "2020-01-02"}, "died on 2020-01-02"),
        ({"gender": "male"}, "recorded as male"),
    ],
)
def test_no_cards_for_a_deceased_patient_or_a_man_and_the_report_says_why(
    client: httpx.Client, server: LiveServer, mint: Mint, person: dict[str, Any], reason: str
) -> None:
    who = {**patient(), **person}
    ivig = {
        "resourceType": "MedicationRequest",
        "id": "ivig",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.whocc.no/atc", "code": "J06BA02"}]
        },
    }
    prefetch = {**NO_DATA, "patient": who, "medications": bundle(ivig, kind="searchset")}
    response = post(
        client,
        server,
        mint,
        (PATIENT_VIEW,),
        request_of("patient-view", {"patientId": "p1"}, prefetch),
    )
    assert response.status_code == 200, response.text
    assert response.json()["cards"] == []
    assert reason in report(response)["withheld"]


def test_discovery_states_its_usage_requirements(
    client: httpx.Client, server: LiveServer, mint: Mint
) -> None:
    response = client.get(server.endpoint(), headers=bearer(mint(server.endpoint())))
    for service in response.json()["services"]:
        assert "JWT" in service["usageRequirements"]
        assert "Procedure?patient=" in service["prefetch"]["procedures"]
        assert "code=http://snomed.info/sct|11466000" in service["prefetch"]["procedures"]
