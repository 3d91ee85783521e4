"""A lone UTF-16 surrogate anywhere in a CDS Hooks request is a 400 naming where, never a 500."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest

from ..fhir.fhirdata import aps_bundle
from .conftest import Keys, LiveServer, Mint, StubServer, bearer, live_server, trusted

PATIENT_VIEW = "rsa-rules-patient-view"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, jwks: StubServer, keys: Keys
) -> Iterator[LiveServer]:
    database = tmp_path_factory.mktemp("hostile") / "cds.sqlite3"
    with live_server(database=database, issuers=trusted(jwks, keys)) as running:
        yield running


def _prefetch(observations: object) -> dict[str, object]:
    empty = dict.fromkeys(
        ("patient", "conditions", "medications", "services", "procedures", "allergies")
    )
    return {**empty, "observations": observations}


def _request() -> dict[str, object]:
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/dr-1", "patientId": "p1"},
        "prefetch": _prefetch(aps_bundle()),
    }


def _with_surrogate(where: str) -> bytes:
    """The request as JSON text with a lone surrogate escape put at ``where``."""
    marker = "SURROGATE-HERE"
    document = _request()
    if where == "hookInstance":
        document["hookInstance"] = marker
    elif where == "context.userId":
        document["context"] = {"userId": marker, "patientId": "p1"}
    elif where == "a key":
        document["context"] = {marker: 1, "userId": "Practitioner/dr-1", "patientId": "p1"}
    else:  # deep inside the prefetched FHIR data
        bundle = aps_bundle()
        bundle["entry"][0]["resource"]["id"] = marker
        document["prefetch"] = _prefetch(bundle)
    return json.dumps(document).replace(marker, "\\ud800").encode()


@pytest.mark.parametrize("where", ["hookInstance", "context.userId", "a key", "prefetch"])
def test_a_lone_surrogate_anywhere_in_a_request_is_400(
    client: httpx.Client, server: LiveServer, mint: Mint, where: str
) -> None:
    url = server.endpoint(PATIENT_VIEW)
    headers = {**bearer(mint(url)), "Content-Type": "application/json"}
    response = client.post(url, content=_with_surrogate(where), headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_json"
    assert "lone UTF-16 surrogate" in response.json()["message"]


def test_a_surrogate_pair_is_ordinary_text(
    client: httpx.Client, server: LiveServer, mint: Mint
) -> None:
    url = server.endpoint(PATIENT_VIEW)
    headers = {**bearer(mint(url)), "Content-Type": "application/json"}
    body = json.dumps(_request()).replace("Practitioner/dr-1", "dr \\ud83d\\ude00").encode()
    response = client.post(url, content=body, headers=headers)
    assert response.status_code == 200, response.text
