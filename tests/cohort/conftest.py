"""A cohort with bad records mixed in, and the answers one ``evaluate()`` at a time gives."""

from __future__ import annotations

import json
from typing import Any

import pytest

import rsa_rules
from rsa_rules.cohort.records import parse_facts_text
from rsa_rules.synthetic import synthetic_patients

# Each bad record, and the field its error row must name ("" is the document as a whole).
BAD_RECORDS: list[tuple[Any, str]] = [
    (
        {"id": "bad-weeks", "pregnancy_history": {"losses": [{"gestational_weeks": "seven"}]}},
        "pregnancy_history.losses.0.gestational_weeks",
    ),
    ({"id": "bad-field", "smoker": True}, "smoker"),
    ('{"id": "bad-json", "age": 3', ""),
    ("[1, 2, 3]", ""),
    ({"age": 121}, "age"),
    ('{"id": "twice", "age": 30, "age": 31}', ""),
    ('{"id": "nan", "age": NaN}', ""),
    (b'{"id": "latin-1", "rh": "n\xe9gative"}', ""),
    ([{"age": 30}], ""),
    (None, ""),
]


def expected_signature(item: Any) -> tuple[Any, ...]:
    """What one ``rsa_rules.evaluate()`` says of a record: its recommendations, or its error."""
    try:
        document = parse_facts_text(item) if isinstance(item, (str, bytes)) else item
        evaluation = rsa_rules.evaluate(document)
    except rsa_rules.FactsError:
        return ("error",)
    return (
        "ok",
        evaluation.patient_id,
        tuple(
            (r.rule_id, r.action, r.intervention, r.alert, r.summary)
            for r in evaluation.recommendations
        ),
        tuple((f.id, f.rule_id, f.value) for f in evaluation.findings),
    )


def result_signature(result: Any) -> tuple[Any, ...]:
    if not result.ok:
        return ("error",)
    return (
        "ok",
        result.patient_id,
        tuple(
            (r.rule_id, r.action, r.intervention, r.alert, r.summary)
            for r in result.recommendations
        ),
        tuple(tuple(f) for f in result.findings),
    )


@pytest.fixture(scope="session")
def mixed_cohort() -> list[Any]:
    """300 synthetic patients (dicts and JSON texts) with every bad record mixed in."""
    cohort: list[Any] = []
    for index, doc in enumerate(synthetic_patients(300, seed=11)):
        cohort.append(json.dumps(doc) if index % 3 == 0 else doc)
    for offset, (bad, _) in enumerate(BAD_RECORDS):
        cohort.insert(7 + offset * 29, bad)
    return cohort
