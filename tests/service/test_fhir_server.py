"""Fetching missing prefetch data from the CDS client's FHIR server (a loopback stand-in)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from rsa_rules.adapters.cds_hooks import prefetch_templates
from rsa_rules.service.fhir_client import PrefetchError, fetch_prefetch, render_template

from ..fhir.cds_rules import check_response
from ..fhir.fhirdata import aps_bundle, bundle
from .conftest import LiveServer, Route, StubServer, live_server, stub_server
from .test_http import PATIENT_VIEW, hook_request, prefetch_of

TOKEN = "fhir-access-token"  # noqa: S105 - a stand-in FHIR access token


def _query(template: str) -> str:
    return "/fhir/" + render_template(template, {"patientId": "p1"})


@pytest.fixture
def fhir() -> Iterator[StubServer]:
    """A FHIR server holding the APS patient; conditions come in two pages."""
    templates = prefetch_templates()
    data = prefetch_of(aps_bundle())
    with stub_server() as stub:
        conditions = data["conditions"]["entry"]
        first = bundle(kind="searchset")
        first["entry"] = conditions[:2]
        first["link"] = [
            {"relation": "self", "url": f"{stub.url}/fhir/Condition?patient=p1"},
            {"relation": "next", "url": f"{stub.url}/fhir/page-2"},
        ]
        second = bundle(kind="searchset")
        second["entry"] = conditions[2:]
        stub.routes[_query(templates["patient"])] = Route(body=data["patient"])
        stub.routes[_query(templates["conditions"])] = Route(body=first)
        stub.routes["/fhir/page-2"] = Route(body=second)
        stub.routes[_query(templates["observations"])] = Route(body=data["observations"])
        stub.routes[_query(templates["medications"])] = Route(body=bundle(kind="searchset"))
        stub.routes[_query(templates["services"])] = Route(body=bundle(kind="searchset"))
        stub.routes[_query(templates["procedures"])] = Route(body=bundle(kind="searchset"))
        stub.routes[_query(templates["allergies"])] = Route(body=bundle(kind="searchset"))
        yield stub


def _fetching(stub: StubServer, database: Path) -> Any:
    return live_server(auth=False, database=database, fhir_servers=(f"{stub.url}/fhir",))


def _with_server(stub: StubServer, **extra: Any) -> dict[str, Any]:
    document = hook_request("patient-view")
    document["fhirServer"] = f"{stub.url}/fhir"
    document["fhirAuthorization"] = {
        "access_token": TOKEN,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "rsa-rules",
    }
    document.update(extra)
    return document


def _post(client: httpx.Client, server: LiveServer, document: dict[str, Any]) -> httpx.Response:
    return client.post(server.endpoint(PATIENT_VIEW), json=document)


def test_missing_prefetch_is_fetched_from_an_allowed_fhir_server(
    client: httpx.Client, fhir: StubServer, database: Path
) -> None:
    with _fetching(fhir, database) as server:
        response = _post(client, server, _with_server(fhir))
    assert response.status_code == 200, response.text
    cards = check_response(response.json())
    assert cards[0]["source"]["topic"]["code"] == "RSA-ANTICOAG-APS"
    assert "`Condition/m-3`" in cards[0]["detail"]  # from the second page
    assert fhir.count("/fhir/page-2") == 1
    assert {headers["Authorization"] for _, headers in fhir.requests} == {f"Bearer {TOKEN}"}
    assert all(headers["Accept"] == "application/fhir+json" for _, headers in fhir.requests)


def test_only_missing_keys_are_fetched(
    client: httpx.Client, fhir: StubServer, database: Path
) -> None:
    data = prefetch_of(aps_bundle())
    keys = ("patient", "conditions", "medications", "services", "procedures", "allergies")
    partial = {key: data[key] for key in keys}
    with _fetching(fhir, database) as server:
        response = _post(client, server, _with_server(fhir, prefetch=partial))
    assert response.status_code == 200
    assert [path.split("?")[0] for path, _ in fhir.requests] == ["/fhir/Observation"]


def test_a_fhir_server_off_the_allow_list_is_412(
    client: httpx.Client, fhir: StubServer, database: Path
) -> None:
    with live_server(auth=False, database=database) as server:
        response = _post(client, server, _with_server(fhir))
    assert response.status_code == 412
    assert "not on its FHIR server allow-list" in response.json()["message"]
    assert fhir.requests == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"conditions": Route(500, {})}, "the FHIR server answered 500"),
        ({"conditions": Route(raw=b"not json")}, "not JSON"),
        ({"conditions": Route(body=[1, 2])}, "not a FHIR resource"),
        ({"page-2": Route(body={"resourceType": "Patient"})}, "next page is not a Bundle"),
        ({"next": "http://elsewhere.example/fhir/page-2"}, "next page is on another server"),
    ],
)
def test_fhir_server_failures_are_412(
    client: httpx.Client, fhir: StubServer, database: Path, change: dict[str, Any], message: str
) -> None:
    templates = prefetch_templates()
    conditions = _query(templates["conditions"])
    if "conditions" in change:
        fhir.routes[conditions] = change["conditions"]
    if "page-2" in change:
        fhir.routes["/fhir/page-2"] = change["page-2"]
    if "next" in change:
        first = fhir.routes[conditions].body
        first["link"][1]["url"] = change["next"]
    with _fetching(fhir, database) as server:
        response = _post(client, server, _with_server(fhir))
    assert response.status_code == 412, response.text
    assert response.json()["error"] == "prefetch_failed"
    assert message in response.json()["message"]
    assert TOKEN not in response.text


def test_a_patient_not_found_is_no_data(
    client: httpx.Client, fhir: StubServer, database: Path
) -> None:
    del fhir.routes[_query(prefetch_templates()["patient"])]
    with _fetching(fhir, database) as server:
        response = _post(client, server, _with_server(fhir))
    assert response.status_code == 200
    assert check_response(response.json())[0]["source"]["topic"]["code"] == "RSA-ANTICOAG-APS"


def test_an_unreachable_fhir_server_is_412(client: httpx.Client, database: Path) -> None:
    with live_server(
        auth=False, database=database, fhir_servers=("http://127.0.0.1:9/fhir",)
    ) as server:
        document = hook_request("patient-view")
        document["fhirServer"] = "http://127.0.0.1:9/fhir"
        response = _post(client, server, document)
    assert response.status_code == 412
    assert "cannot be reached" in response.json()["message"]


def test_render_template_fills_context_and_user_tokens() -> None:
    context = {"patientId": "a b/c", "encounterId": 7, "userId": "Practitioner/dr 1", "flag": True}
    assert (
        render_template("Patient/{{context.patientId}}", context)
        == f"Patient/{quote('a b/c', safe='')}"
    )
    assert render_template("Encounter/{{ context.encounterId }}", context) == "Encounter/7"
    assert render_template("Practitioner/{{userPractitionerId}}", context) == "Practitioner/dr%201"
    for template in (
        "{{context.missing}}",
        "{{context.flag}}",
        "{{userPatientId}}",
        "{{unknownToken}}",
    ):
        with pytest.raises(PrefetchError, match="cannot be filled"):
            render_template(template, context)


def test_following_pages_is_bounded() -> None:
    async def fetch(stub: StubServer) -> Any:
        async with httpx.AsyncClient() as http:
            return await fetch_prefetch(http, f"{stub.url}/fhir", None, "Loop")

    with stub_server() as stub:
        looping = bundle(kind="searchset")
        looping["link"] = [{"relation": "next", "url": f"{stub.url}/fhir/Loop"}]
        stub.routes["/fhir/Loop"] = Route(body=looping)
        with pytest.raises(PrefetchError, match="more than 20 pages"):
            asyncio.run(fetch(stub))
        assert all("Authorization" not in headers for _, headers in stub.requests)
        stub.routes["/fhir/Loop"] = Route(body=bundle(kind="searchset"))
        assert asyncio.run(fetch(stub)) == {"resourceType": "Bundle", "type": "searchset"}


def test_an_answer_over_the_size_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from rsa_rules.service import fhir_client

    monkeypatch.setattr(fhir_client, "_MAX_BYTES", 100)

    async def fetch(stub: StubServer) -> Any:
        async with httpx.AsyncClient() as http:
            return await fetch_prefetch(http, f"{stub.url}/fhir/", "t", "/Patient/p1")

    with stub_server() as stub:
        stub.routes["/fhir/Patient/p1"] = Route(body={"resourceType": "Patient", "note": "x" * 200})
        with pytest.raises(PrefetchError, match="too large"):
            asyncio.run(fetch(stub))
