"""Synthea records (synthea/README.md): what a real-shaped record says is read, and only that.

A man and a deceased patient get no recommendations (the report says why); a woman with
miscarriages in 2011 and 2021 and a birth in 2015 has 2 losses, not consecutive, and 1 live
birth, with explanations citing the resources.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import rsa_rules
from rsa_rules.fhir import FhirFacts, facts_from_bundle
from rsa_rules.rendering.cards import evaluation_to_cards

SYNTHEA = Path(__file__).parent / "synthea"
TODAY = date(2026, 5, 1)
WOMAN = "woman-losses-2011-2021-birth-2015"


def record(name: str) -> list[dict[str, Any]]:
    lines = (SYNTHEA / f"{name}.ndjson").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def read(name: str) -> FhirFacts:
    return facts_from_bundle(record(name), today=TODAY)


def by_code(name: str, code: str) -> list[str]:
    return [
        f"{r['resourceType']}/{r['id']}"
        for r in record(name)
        if any(c.get("code") == code for c in (r.get("code") or {}).get("coding", ()))
    ]


def test_a_woman_with_two_miscarriages_and_a_birth_between_them() -> None:
    result = read(WOMAN)
    history = result.facts.pregnancy_history
    assert history is not None
    assert [(loss.kind, str(loss.date)) for loss in history.losses or ()] == [
        ("miscarriage", "2011-11-22"),
        ("miscarriage", "2021-03-30"),
    ]
    assert history.consecutive is False
    assert history.live_births == 1
    assert result.gender == "female"
    assert result.withheld is None
    (first_loss,) = by_code(WOMAN, "19169002")
    (second_loss,) = by_code(WOMAN, "156073000")
    assert result.references("pregnancy_history.losses.0") == (first_loss,)
    assert result.references("pregnancy_history.losses.1") == (second_loss,)
    births = result.references("pregnancy_history.live_births")
    assert set(births) == {*by_code(WOMAN, "66348005"), *by_code(WOMAN, "236974004")}
    assert set(result.references("pregnancy_history.consecutive")) >= {first_loss, second_loss}
    texts = " ".join(note.text for note in result.notes)
    assert "record one delivery: one live birth" in texts
    assert "records a birth between them" in texts
    assert "read as delivery (read as a live birth) from its text 'Childbirth'" in texts
    (termination,) = by_code(WOMAN, "714812005")
    assert termination in result.read  # an induced termination is read, never a loss


def test_the_womans_explanations_cite_her_resources() -> None:
    result = read(WOMAN)
    evaluation = rsa_rules.evaluate(result.facts)
    finding = next(f for f in evaluation.findings if f.id == "recurrent-pregnancy-loss")
    cited = {
        path
        for reason in result.cite(finding.because)
        for leaf in reason.leaves()
        for path in leaf.paths
    }
    assert set(by_code(WOMAN, "19169002")) <= cited
    assert set(by_code(WOMAN, "156073000")) <= cited
    document = result.annotate(evaluation)
    assert "withheld" not in document
    assert document["recommendations"]
    (first_loss,) = by_code(WOMAN, "19169002")
    cards = evaluation_to_cards(evaluation, fhir=result)
    assert any(f"`{first_loss}`" in card["detail"] for card in cards)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("man-died-1971", "died on 1971-10-01 (Patient.deceasedDateTime)"),
        ("woman-died-1989-miscarriage-1961", "died on 1989-05-09"),
        (
            "man-aspirin-allergy",
            "recorded as male (Patient.gender) and the record holds no pregnancy",
        ),
    ],
)
def test_a_man_and_a_deceased_patient_get_no_recommendations(name: str, reason: str) -> None:
    result = read(name)
    assert result.withheld is not None
    assert reason in result.withheld
    document = result.annotate(result.evaluate())
    assert document["recommendations"] == []
    assert reason in document["withheld"]
    assert reason in document["fhir"]["withheld"]


def test_the_deceased_womans_age_is_her_age_at_death() -> None:
    result = read("woman-died-1989-miscarriage-1961")
    assert result.facts.age == 61
    assert any("at death (1989-05-09)" in note.text for note in result.notes)


def test_a_synthea_aspirin_allergy_is_read_from_its_display() -> None:
    result = read("man-aspirin-allergy")
    contraindications = result.facts.contraindications
    assert contraindications is not None
    assert contraindications.aspirin_allergy is True
    (allergy,) = result.references("contraindications.aspirin_allergy")
    assert allergy.startswith("AllergyIntolerance/")
    assert any(note.kind == "text-match" and allergy in note.references for note in result.notes)
