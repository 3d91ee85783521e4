"""The CDS Hooks service over HTTP: a real uvicorn server on a loopback port, real tokens."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import rsa_rules
from rsa_rules.service.store import ServiceStore

from ..conftest import RULES
from ..fhir.cds_rules import check_response, empty_values
from ..fhir.fhirdata import aps_bundle, bundle, ivig_order, miscarriage, patient
from .conftest import ISSUER, Keys, LiveServer, Mint, StubServer, bearer, live_server, trusted

PATIENT_VIEW = "rsa-rules-patient-view"
ORDER_SIGN = "rsa-rules-order-sign"
ORDER_SELECT = "rsa-rules-order-select"


def prefetch_of(data: dict[str, Any]) -> dict[str, Any]:
    """A FHIR Bundle split into this service's prefetch keys, as a CDS client sends them."""
    resources = [entry["resource"] for entry in data["entry"]]

    def searchset(kind: str) -> dict[str, Any] | None:
        found = [r for r in resources if r["resourceType"] == kind]
        if not found:
            return None
        return bundle(*found, kind="searchset")

    patients = [r for r in resources if r["resourceType"] == "Patient"]
    return {
        "patient": patients[0] if patients else None,
        "conditions": searchset("Condition"),
        "observations": searchset("Observation"),
        "medications": searchset("MedicationRequest"),
        "services": searchset("ServiceRequest"),
        "procedures": searchset("Procedure"),
        "allergies": searchset("AllergyIntolerance"),
    }


def hook_request(
    hook: str, prefetch: dict[str, Any] | None = None, **context: Any
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/dr-1", "patientId": "p1", **context},
    }
    if prefetch is not None:
        document["prefetch"] = prefetch
    return document


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, jwks: StubServer, keys: Keys
) -> Iterator[LiveServer]:
    database = tmp_path_factory.mktemp("http") / "cds.sqlite3"
    with live_server(
        database=database, issuers=trusted(jwks, keys), max_body_bytes=64 * 1024
    ) as running:
        yield running


def call(
    client: httpx.Client, server: LiveServer, mint: Mint, service: str, document: Any
) -> httpx.Response:
    token = mint(server.endpoint(service))
    return client.post(server.endpoint(service), json=document, headers=bearer(token))


# -- acceptance: discovery, patient-view, order-sign ----------------------------------------------


def test_discovery_lists_the_services_with_prefetch(
    client: httpx.Client, server: LiveServer, mint: Mint
) -> None:
    response = client.get(server.endpoint(), headers=bearer(mint(server.endpoint())))
    assert response.status_code == 200
    services = response.json()["services"]
    assert {s["id"]: s["hook"] for s in services} == {
        PATIENT_VIEW: "patient-view",
        ORDER_SIGN: "order-sign",
        ORDER_SELECT: "order-select",
    }
    for service in services:
        assert set(service["prefetch"]) == {
            "patient",
            "conditions",
            "observations",
            "medications",
            "services",
            "procedures",
            "allergies",
        }
    assert empty_values(response.json()) == []


def test_patient_view_for_an_aps_patient_given_as_a_fhir_bundle(
    client: httpx.Client, server: LiveServer, mint: Mint
) -> None:
    response = call(
        client, server, mint, PATIENT_VIEW, hook_request("patient-view", prefetch_of(aps_bundle()))
    )
    assert response.status_code == 200, response.text
    cards = check_response(response.json())
    first = cards[0]
    assert first["summary"].startswith("Recommend heparin plus low-dose aspirin")
    assert first["source"]["topic"]["code"] == "RSA-ANTICOAG-APS"
    assert "`Condition/aps`" in first["detail"]
    assert all(card["indicator"] == "info" for card in cards)
    report = response.json()["extension"]["org.rsa-rules.fhir-report"]
    assert [note["kind"] for note in report["notes"]][:2] == ["text-match", "text-match"]
    assert "unused" not in report


def test_order_sign_with_an_ivig_draft_order_and_no_reason_returns_an_info_card(
    client: httpx.Client, server: LiveServer, mint: Mint
) -> None:
    draft = ivig_order("ivig-1", status="draft")
    prefetch = prefetch_of(
        bundle(patient(), miscarriage("m1", "2024-01-01"), miscarriage("m2", "2025-02-01"))
    )
    document = hook_request("order-sign", prefetch, draftOrders=bundle(draft))
    response = call(client, server, mint, ORDER_SIGN, document)
    assert response.status_code == 200, response.text
    (card,) = check_response(response.json())
    # The order states no reason: recurrent loss is established, so the alert is inferred.
    assert card["indicator"] == "info"
    assert card["source"]["topic"]["code"] == "RSA-IMMUNO-IVIG"
    assert card["summary"].startswith("If this is to prevent miscarriage: Avoid IVIg")
    assert {r["code"] for r in card["overrideReasons"]} >= {
        "research-protocol",
        "informed-patient-choice",
    }
    (suggestion,) = card["suggestions"]
    assert suggestion["actions"][0] == {
        "type": "delete",
        "description": "Remove the draft order MedicationRequest/ivig-1",
        "resourceId": "MedicationRequest/ivig-1",
    }


def test_order_select_checks_only_the_selected_orders(
    client: httpx.Client, server: LiveServer, mint: Mint
) -> None:
    drafts = bundle(ivig_order("ivig-1"), ivig_order("ivig-2"))
    prefetch = prefetch_of(
        bundle(patient(), miscarriage("m1", "2024-01-01"), miscarriage("m2", "2025-02-01"))
    )
    document = hook_request(
        "order-select", prefetch, draftOrders=drafts, selections=["MedicationRequest/ivig-2"]
    )
    response = call(client, server, mint, ORDER_SELECT, document)
    (card,) = check_response(response.json())
    assert card["suggestions"][0]["actions"][0]["resourceId"] == "MedicationRequest/ivig-2"
    nothing = hook_request(
        "order-select", prefetch, draftOrders=drafts, selections=["MedicationRequest/other"]
    )
    assert check_response(call(client, server, mint, ORDER_SELECT, nothing).json()) == []


def test_an_unreadable_draft_order_of_an_intervention_is_an_info_card(
    client: httpx.Client, server: LiveServer, mint: Mint
) -> None:
    draft = {
        **ivig_order("x"),
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "5224"}]
        },
    }
    document = hook_request("order-sign", prefetch_of(bundle(patient())), draftOrders=bundle(draft))
    (card,) = check_response(call(client, server, mint, ORDER_SIGN, document).json())
    assert card["indicator"] == "info"
    assert card["summary"].startswith("A draft order could not be checked (heparin)")
    assert "`MedicationRequest/x`" in card["detail"]


# -- feedback --------------------------------------------------------------------------------------


def test_feedback_is_stored_durably_across_a_restart(
    client: httpx.Client, mint: Mint, jwks: StubServer, keys: Keys, database: Path
) -> None:
    public = "https://cds.example.org"  # the same public URL before and after the restart
    settings = {"database": database, "issuers": trusted(jwks, keys), "public_url": public}
    service_url = f"{public}/cds-services/{PATIENT_VIEW}"
    feedback_aud = f"{service_url}/feedback"
    with live_server(**settings) as first:
        response = client.post(
            first.endpoint(PATIENT_VIEW),
            json=hook_request("patient-view", prefetch_of(aps_bundle())),
            headers=bearer(mint(service_url)),
        )
        card = check_response(response.json())[0]
        overridden = {
            "feedback": [
                {
                    "card": card["uuid"],
                    "outcome": "overridden",
                    "overrideReason": {
                        "reason": {
                            "code": "specialist-decision",
                            "system": "urn:rsa-rules:cds-hooks:override-reason",
                        },
                        "userComment": "Discussed with haematology",
                    },
                    "outcomeTimestamp": "2026-05-01T10:00:00Z",
                }
            ]
        }
        used = mint(feedback_aud)
        stored = client.post(
            first.endpoint(PATIENT_VIEW, "feedback"), json=overridden, headers=bearer(used)
        )
        assert (stored.status_code, stored.json()) == (200, {"stored": 1})
    with live_server(**settings) as second:
        accepted = {
            "feedback": [
                {
                    "card": str(uuid.uuid4()),
                    "outcome": "accepted",
                    "acceptedSuggestions": [{"id": str(uuid.uuid4())}],
                    "outcomeTimestamp": "2026-05-01T10:05:00+00:00",
                }
            ]
        }
        # the service URL is an accepted audience for its feedback endpoint too
        response = client.post(
            second.endpoint(PATIENT_VIEW, "feedback"),
            json=accepted,
            headers=bearer(mint(service_url)),
        )
        assert response.status_code == 200
        replayed = client.post(
            second.endpoint(PATIENT_VIEW, "feedback"), json=accepted, headers=bearer(used)
        )
        assert replayed.status_code == 401
        assert "already used" in replayed.json()["message"]
    with ServiceStore(database) as store:
        rows = store.feedback(PATIENT_VIEW)
        assert store.feedback("other") == []
    assert [row["outcome"] for row in rows] == ["overridden", "accepted"]
    assert rows[0]["card"] == card["uuid"]
    assert rows[0]["overrideReason"]["userComment"] == "Discussed with haematology"
    assert rows[0]["client"] == ISSUER
    assert rows[1]["acceptedSuggestions"][0]["id"]
    assert "overrideReason" not in rows[1]
    assert "acceptedSuggestions" not in rows[0]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({}, "feedback: Field required"),
        ({"feedback": []}, "at least 1 item"),
        (
            {
                "feedback": [
                    {"card": "c", "outcome": "maybe", "outcomeTimestamp": "2026-01-01T00:00:00Z"}
                ]
            },
            "outcome",
        ),
        (
            {
                "feedback": [
                    {"card": "c", "outcome": "accepted", "outcomeTimestamp": "2026-01-01T00:00:00Z"}
                ]
            },
            "needs acceptedSuggestions",
        ),
        (
            {
                "feedback": [
                    {
                        "card": "c",
                        "outcome": "overridden",
                        "acceptedSuggestions": [{"id": "s"}],
                        "outcomeTimestamp": "2026-01-01T00:00:00Z",
                    }
                ]
            },
            "has no acceptedSuggestions",
        ),
        (
            {"feedback": [{"card": "c", "outcome": "overridden", "outcomeTimestamp": "yesterday"}]},
            "ISO 8601",
        ),
    ],
)
def test_invalid_feedback_is_a_clear_400(
    client: httpx.Client, server: LiveServer, mint: Mint, document: Any, message: str
) -> None:
    url = server.endpoint(PATIENT_VIEW, "feedback")
    response = client.post(url, json=document, headers=bearer(mint(url)))
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert message in response.json()["message"]


# -- errors ----------------------------------------------------------------------------------------


def test_missing_prefetch_without_a_fhir_server_is_412(
    client: httpx.Client, server: LiveServer, mint: Mint
) -> None:
    prefetch = prefetch_of(aps_bundle())
    del prefetch["observations"]
    response = call(client, server, mint, PATIENT_VIEW, hook_request("patient-view", prefetch))
    assert response.status_code == 412
    assert response.json() == {
        "error": "prefetch_missing",
        "message": (
            "required prefetch data is missing (observations) and no fhirServer was given "
            "to fetch it"
        ),
    }
    none_at_all = call(client, server, mint, PATIENT_VIEW, hook_request("patient-view"))
    assert none_at_all.status_code == 412
    assert (
        "patient, conditions, observations, medications, services" in none_at_all.json()["message"]
    )


def test_null_prefetch_means_no_data_not_missing(
    client: httpx.Client, server: LiveServer, mint: Mint
) -> None:
    prefetch = dict.fromkeys(
        (
            "patient",
            "conditions",
            "observations",
            "medications",
            "services",
            "procedures",
            "allergies",
        )
    )
    response = call(client, server, mint, PATIENT_VIEW, hook_request("patient-view", prefetch))
    assert response.status_code == 200
    assert response.json() == {"cards": []}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b"{not json",
            "not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2)",
        ),
        (b"", "the request body is empty"),
        (b"\xff\xfe", "not UTF-8"),
        (b'{"hook": NaN}', "NaN is not allowed in a CDS Hooks request"),
        (b'{"hook": "a", "hook": "b"}', "the key 'hook' appears twice"),
        (b"[" * 5_000 + b"]" * 5_000, "nested too deeply"),
    ],
)
def test_malformed_json_is_400_with_a_clear_message(
    client: httpx.Client, server: LiveServer, mint: Mint, body: bytes, message: str
) -> None:
    url = server.endpoint(PATIENT_VIEW)
    headers = {**bearer(mint(url)), "Content-Type": "application/json"}
    response = client.post(url, content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_json"
    assert message in response.json()["message"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([1, 2], "must be a JSON object"),
        ({"hook": "patient-view", "context": {"patientId": "p1"}}, "hookInstance: Field required"),
        (hook_request("order-sign"), "answers the patient-view hook"),
        (
            hook_request("patient-view", {"patient": "Patient/p1"}),
            "prefetch.patient must be a FHIR resource or null",
        ),
    ],
)
def test_invalid_requests_are_400(
    client: httpx.Client, server: LiveServer, mint: Mint, document: Any, message: str
) -> None:
    response = call(client, server, mint, PATIENT_VIEW, document)
    assert response.status_code == 400
    assert message in response.json()["message"]


def test_fhir_data_about_two_patients_is_400(
    client: httpx.Client, server: LiveServer, mint: Mint
) -> None:
    prefetch = prefetch_of(bundle(patient("p1"), miscarriage("m", "2020-01-01")))
    prefetch["patient"] = {"resourceType": "Bundle", "type": "collection", "timestamp": "never"}
    response = call(client, server, mint, PATIENT_VIEW, hook_request("patient-view", prefetch))
    assert response.status_code == 400
    assert response.json()["error"] == "bad_fhir_data"


def test_request_bodies_are_size_limited(
    client: httpx.Client, server: LiveServer, mint: Mint
) -> None:
    url = server.endpoint(PATIENT_VIEW)
    big = json.dumps(
        hook_request("patient-view", {"patient": {"resourceType": "Patient", "x": "y" * 70_000}})
    )
    declared = client.post(
        url, content=big, headers={**bearer(mint(url)), "Content-Type": "application/json"}
    )
    assert declared.status_code == 413
    assert declared.json() == {
        "error": "too_large",
        "message": "the request body is larger than 65536 bytes",
    }

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192].encode()

    streamed = client.post(url, content=chunks(), headers=bearer(mint(url)))
    assert streamed.status_code == 413


def test_unknown_services_and_paths_are_404_json(
    client: httpx.Client, server: LiveServer, mint: Mint
) -> None:
    url = server.endpoint("nope")
    response = client.post(url, json={}, headers=bearer(mint(url)))
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_service"
    feedback = client.post(url + "/feedback", json={}, headers=bearer(mint(url)))
    assert feedback.status_code == 404
    assert client.get(server.url + "/elsewhere").json() == {
        "error": "http_error",
        "message": "Not Found",
    }
    wrong_method = client.delete(server.endpoint())
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"] == "http_error"


class BrokenEngine:
    """An engine that fails: the service must answer 500 with nothing of the failure."""

    def __init__(self) -> None:
        self.knowledge = rsa_rules.default_engine().knowledge

    def evaluate(self, facts: Any) -> Any:
        raise RuntimeError("secret internal detail /etc/passwd")


def test_a_failure_inside_is_500_without_a_trace(client: httpx.Client, database: Path) -> None:
    with live_server(engine=BrokenEngine(), auth=False, database=database) as broken:
        response = client.post(
            broken.endpoint(PATIENT_VIEW),
            json=hook_request("patient-view", prefetch_of(aps_bundle())),
        )
    assert response.status_code == 500
    assert response.json() == {
        "error": "internal_error",
        "message": "the service failed; the failure is in its log",
    }
    assert "secret" not in response.text
    assert "Traceback" not in response.text


def test_without_auth_no_token_is_needed(client: httpx.Client, database: Path) -> None:
    with live_server(auth=False, database=database) as open_server:
        response = client.get(open_server.endpoint())
        assert response.status_code == 200
        url = open_server.endpoint(ORDER_SIGN, "feedback")
        stored = client.post(
            url,
            json={
                "feedback": [
                    {
                        "card": "c",
                        "outcome": "overridden",
                        "outcomeTimestamp": "2026-01-01T00:00:00",
                    }
                ]
            },
        )
        assert stored.json() == {"stored": 1}
    with ServiceStore(database) as store:
        assert store.feedback()[0]["client"] == "(no authentication)"


def test_the_service_builds_its_engine_from_a_knowledge_base_directory(
    client: httpx.Client, database: Path
) -> None:
    with live_server(engine=None, auth=False, database=database, rules=str(RULES)) as own:
        engine = own.server.config.app.state.service.engine
        assert engine is not rsa_rules.default_engine()
        response = client.post(
            own.endpoint(ORDER_SIGN),
            json=hook_request(
                "order-sign",
                prefetch_of(
                    bundle(
                        patient(), miscarriage("m1", "2024-01-01"), miscarriage("m2", "2025-02-01")
                    )
                ),
                draftOrders=bundle(ivig_order()),
            ),
        )
    (card,) = check_response(response.json())
    assert card["source"]["topic"]["code"] == "RSA-IMMUNO-IVIG"
