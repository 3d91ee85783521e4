"""Only this patient's data: a resource is evidence only when its subject (or patient) reference
resolves to this patient; identifier-only, display-only, missing or other-server subjects, and
dates in the future or before birth, are not used and are reported."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

import rsa_rules
from rsa_rules.fhir import FhirFacts, UnusedResource, facts_from_bundle

from .fhirdata import LOINC, bundle, concept, lupus, medication_request, observation, patient

TODAY = date(2026, 5, 1)
SERVER = "https://ehr.example.org/fhir"
HEPARIN = ("http://www.whocc.no/atc", "B01AB01", "heparin")


def la_positive(resource_id: str, when: str = "2026-01-05", **subject: Any) -> dict[str, Any]:
    """A positive lupus anticoagulant; ``subject`` replaces (or with None removes) the subject."""
    resource = lupus(resource_id, "positive", when=when)
    if "subject" in subject:
        if subject["subject"] is None:
            resource.pop("subject")
        else:
            resource["subject"] = subject["subject"]
    return resource


def read(*resources: dict[str, Any], **kwargs: Any) -> FhirFacts:
    kwargs.setdefault("today", TODAY)
    return facts_from_bundle(bundle(patient(), *resources), **kwargs)


def unused(result: FhirFacts, reference: str) -> UnusedResource:
    return next(item for item in result.unused if item.reference == reference)


@pytest.mark.parametrize(
    ("subject", "reason"),
    [
        (None, "names no patient (no subject)"),
        ({"identifier": {"system": "urn:mrn", "value": "MRN-999"}}, "identifier only (MRN-999)"),
        ({"display": "Jane Doe"}, "a name only ('Jane Doe')"),
        ({}, "its subject has no reference"),
        ({"reference": "Patient/p2"}, "about Patient/p2, not Patient/p1"),
        ({"reference": "https://elsewhere.example/fhir/Patient/p1"}, "on another FHIR server"),
        ({"reference": "urn:uuid:1c2d"}, "is not this patient's entry in the data"),
        ({"reference": "#p"}, "a contained resource"),
        ({"reference": "Group/g1"}, "is not a patient"),
    ],
)
def test_a_result_that_is_not_this_patients_is_never_her_evidence(
    subject: dict[str, Any] | None, reason: str
) -> None:
    result = read(la_positive("la", subject=subject), fhir_server=SERVER)
    assert result.facts.antiphospholipid is None
    item = unused(result, "Observation/la")
    assert item.status == "not-used"
    assert item.concept == "lupus-anticoagulant"
    assert reason in item.reason
    assert "Observation/la" in [u["reference"] for u in result.report()["unused"]]


def test_a_heparin_order_for_another_patient_does_not_become_hers() -> None:
    order = medication_request("hep", HEPARIN, subject="Patient/p2")
    orphan = medication_request("hep-2", HEPARIN)
    orphan["subject"] = {"identifier": {"value": "MRN-2"}}
    result = read(order, orphan)
    assert result.facts.treatments is None
    assert "about Patient/p2" in unused(result, "MedicationRequest/hep").reason
    assert "identifier only" in unused(result, "MedicationRequest/hep-2").reason


@pytest.mark.parametrize(
    "reference",
    [
        "Patient/p1",
        f"{SERVER}/Patient/p1",
        f"{SERVER}/Patient/p1/_history/3",
    ],
)
def test_relative_and_same_server_references_are_this_patient(reference: str) -> None:
    result = read(la_positive("la", subject={"reference": reference}), fhir_server=SERVER + "/")
    assert result.unused == ()
    assert result.facts.antiphospholipid is not None
    assert result.sources["antiphospholipid.results.0"] == ("Observation/la",)


def test_the_patients_urn_uuid_inside_the_bundle_is_this_patient() -> None:
    data = bundle(la_positive("la", subject={"reference": "urn:uuid:7f3a"}))
    data["entry"].insert(0, {"fullUrl": "urn:uuid:7f3a", "resource": patient()})
    result = facts_from_bundle(data, today=TODAY)
    assert result.unused == ()
    assert result.facts.antiphospholipid is not None


def test_the_server_of_the_patients_full_url_is_this_server() -> None:
    data = bundle(
        la_positive("la", subject={"reference": f"{SERVER}/Patient/p1"}),
        la_positive("la-2", subject={"reference": "https://other.example/Patient/p1"}),
    )
    data["entry"].insert(0, {"fullUrl": f"{SERVER}/Patient/p1", "resource": patient()})
    result = facts_from_bundle(data, today=TODAY)
    assert [u.reference for u in result.unused] == ["Observation/la-2"]
    assert "on another FHIR server" in unused(result, "Observation/la-2").reason


@pytest.mark.parametrize(
    ("when", "reason"),
    [
        ("2026-05-02", "is after 2026-05-01 (the day of the evaluation)"),
        ("1990-01-01", "is before the patient's birth (1992-06-15)"),
    ],
)
def test_results_dated_in_the_future_or_before_birth_are_refused_visibly(
    when: str, reason: str
) -> None:
    result = read(la_positive("la", when=when))
    assert result.facts.antiphospholipid is None
    item = unused(result, "Observation/la")
    assert reason in item.reason
    assert item.concept == "lupus-anticoagulant"


def test_a_condition_with_its_onset_before_birth_is_refused() -> None:
    miscarriage = {
        "resourceType": "Condition",
        "id": "m",
        "subject": {"reference": "Patient/p1"},
        "code": concept(("http://snomed.info/sct", "17369002", "Miscarriage")),
        "onsetDateTime": "1980-03-01",
    }
    result = read(miscarriage)
    assert result.facts.pregnancy_history is None
    assert "before the patient's birth" in unused(result, "Condition/m").reason


def test_the_day_of_the_evaluation_moves_the_future() -> None:
    later = read(la_positive("la", when="2026-05-02"), today=date(2026, 6, 1))
    assert later.facts.antiphospholipid is not None


def test_an_unrecognised_resource_about_anyone_stays_unrecognised() -> None:
    other = observation("bp", (LOINC, "85354-9", "Blood pressure"), subject="Patient/p2")
    result = read(other)
    assert unused(result, "Observation/bp").status == "unrecognised"
    assert rsa_rules.evaluate(result.facts).recommendations is not None
