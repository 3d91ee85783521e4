"""Builders of FHIR R4 test data (plain JSON dicts, as an EHR would send them)."""

from __future__ import annotations

from typing import Any

SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
ATC = "http://www.whocc.no/atc"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"

Coding = tuple[str, str] | tuple[str, str, str]


def concept(*codings: Coding, text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if codings:
        out["coding"] = [
            {"system": c[0], "code": c[1], **({"display": c[2]} if len(c) > 2 else {})}
            for c in codings
        ]
    if text is not None:
        out["text"] = text
    return out


def patient(patient_id: str = "p1", birth: str | None = "1992-06-15") -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": "Patient", "id": patient_id, "gender": "female"}
    if birth is not None:
        out["birthDate"] = birth
    return out


def condition(
    resource_id: str,
    *codings: Coding,
    text: str | None = None,
    onset: str | None = None,
    onset_period: str | None = None,
    verification: str | None = None,
    subject: str = "Patient/p1",
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Condition",
        "id": resource_id,
        "subject": {"reference": subject},
        "code": concept(*codings, text=text),
    }
    if onset is not None:
        out["onsetDateTime"] = onset
    if onset_period is not None:
        out["onsetPeriod"] = {"start": onset_period}
    if verification is not None:
        out["verificationStatus"] = concept((VERIFICATION, verification))
    return out


def miscarriage(resource_id: str, onset: str | None = None, **kwargs: Any) -> dict[str, Any]:
    return condition(resource_id, (SNOMED, "17369002", "Miscarriage"), onset=onset, **kwargs)


def quantity(value: float, code: str, unit: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"value": value, "unit": unit or code, "system": UCUM, "code": code, **extra}


def observation(
    resource_id: str,
    *codings: Coding,
    text: str | None = None,
    status: str = "final",
    when: str | None = "2026-01-05",
    subject: str | None = "Patient/p1",
    **values: Any,
) -> dict[str, Any]:
    """``values``: valueQuantity, valueCodeableConcept, valueString, interpretation (a list
    of codes of v3-ObservationInterpretation), referenceRange, dataAbsentReason,
    effectivePeriod."""
    out: dict[str, Any] = {
        "resourceType": "Observation",
        "id": resource_id,
        "status": status,
        "code": concept(*codings, text=text),
    }
    if subject is not None:
        out["subject"] = {"reference": subject}
    if when is not None:
        out["effectiveDateTime"] = when
    interpretation = values.pop("interpretation", None)
    if interpretation is not None:
        out["interpretation"] = [concept((INTERPRETATION, code)) for code in interpretation]
    out.update(values)
    return out


def lupus(resource_id: str, reading: str, when: str = "2026-01-05") -> dict[str, Any]:
    """A lupus anticoagulant result: an unconfirmed LOINC code with its display (text read)."""
    code = "10828004" if reading == "positive" else "260385009"
    return observation(
        resource_id,
        (LOINC, "3284-7", "Lupus anticoagulant"),
        when=when,
        valueCodeableConcept=concept((SNOMED, code, reading.capitalize())),
    )


def medication_request(
    resource_id: str,
    *codings: Coding,
    text: str | None = None,
    status: str = "active",
    intent: str = "order",
    subject: str = "Patient/p1",
    **extra: Any,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": resource_id,
        "status": status,
        "intent": intent,
        "subject": {"reference": subject},
        **extra,
    }
    if codings or text is not None:
        out["medicationCodeableConcept"] = concept(*codings, text=text)
    return out


def ivig_order(resource_id: str = "ivig-1", status: str = "draft") -> dict[str, Any]:
    return medication_request(
        resource_id,
        (ATC, "J06BA02", "Immunoglobulins, normal human, for intravascular adm."),
        status=status,
    )


def service_request(
    resource_id: str,
    *codings: Coding,
    text: str | None = None,
    status: str = "active",
    intent: str = "order",
    subject: str = "Patient/p1",
) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "id": resource_id,
        "status": status,
        "intent": intent,
        "subject": {"reference": subject},
        "code": concept(*codings, text=text),
    }


def bundle(*resources: dict[str, Any], kind: str = "collection") -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [{"resource": resource} for resource in resources],
    }


def aps_bundle() -> dict[str, Any]:
    """An APS patient: three miscarriages, a recorded APS diagnosis, lupus anticoagulant
    positive twice 95 days apart (the second read from its text), low anticardiolipins."""
    return bundle(
        patient("p1"),
        miscarriage("m-1", "2024-05-02"),
        miscarriage("m-2", "2024-11-20"),
        condition("m-3", (ICD10CM, "O03.9"), onset="2025-06-14T09:30:00+02:00"),
        condition(
            "aps", (SNOMED, "26843008", "Antiphospholipid syndrome"), verification="confirmed"
        ),
        lupus("la-1", "positive", "2026-01-05"),
        observation(
            "la-2", text="Lupus anticoagulant (dRVVT)", when="2026-04-10", valueString="Positive"
        ),
        observation(
            "acl-g",
            (LOINC, "3181-5"),
            valueQuantity=quantity(22, "[GPL'U]/mL", "GPL"),
        ),
        observation(
            "acl-m",
            (LOINC, "3182-3"),
            valueQuantity=quantity(8, "[MPL'U]/mL", "MPL"),
        ),
    )
