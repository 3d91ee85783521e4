"""FHIR R4 in: facts_from_bundle reads PatientFacts, keeps every fact's resource reference,
and reports what it did not use."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation

import rsa_rules
from rsa_rules.fhir import FhirError, FhirFacts, UnusedResource, facts_from_bundle

from .fhirdata import (
    ATC,
    ICD10CM,
    INTERPRETATION,
    LOINC,
    RXNORM,
    SNOMED,
    UCUM,
    aps_bundle,
    bundle,
    concept,
    condition,
    ivig_order,
    lupus,
    medication_request,
    miscarriage,
    observation,
    patient,
    quantity,
    service_request,
)

TODAY = date(2026, 5, 1)


def read(*resources: dict[str, Any], **kwargs: Any) -> FhirFacts:
    kwargs.setdefault("today", TODAY)
    return facts_from_bundle(bundle(*resources), **kwargs)


def unused(result: FhirFacts, reference: str) -> UnusedResource:
    return next(item for item in result.unused if item.reference == reference)


def notes(result: FhirFacts, kind: str) -> list[str]:
    return [note.text for note in result.notes if note.kind == kind]


# -- the APS patient, end to end --------------------------------------------------------------


def test_an_aps_bundle_becomes_facts_with_every_source_kept() -> None:
    result = facts_from_bundle(aps_bundle(), today=TODAY)
    facts = result.facts
    assert facts.id == "p1"
    assert facts.age == 33
    assert facts.pregnancy_history is not None
    assert facts.pregnancy_history.losses is not None
    assert [(loss.kind, str(loss.date)) for loss in facts.pregnancy_history.losses] == [
        ("miscarriage", "2024-05-02"),
        ("miscarriage", "2024-11-20"),
        ("miscarriage", "2025-06-14"),
    ]
    assert facts.antiphospholipid is not None
    assert facts.antiphospholipid.diagnosis == "confirmed"
    results = facts.antiphospholipid.results or ()
    assert [(r.test, str(r.date), r.result, r.value, r.unit) for r in results] == [
        ("anticardiolipin-igg", "2026-01-05", None, 22.0, "GPL"),
        ("anticardiolipin-igm", "2026-01-05", None, 8.0, "MPL"),
        ("lupus-anticoagulant", "2026-01-05", "positive", None, None),
        ("lupus-anticoagulant", "2026-04-10", "positive", None, None),
    ]
    assert result.patient == "Patient/p1"
    assert result.sources["age"] == ("Patient/p1",)
    assert result.sources["pregnancy_history.losses.2"] == ("Condition/m-3",)
    assert result.sources["antiphospholipid.diagnosis"] == ("Condition/aps",)
    assert result.sources["antiphospholipid.results.3"] == ("Observation/la-2",)
    assert result.unused == ()
    assert set(result.read) == {
        "Patient/p1",
        "Condition/m-1",
        "Condition/m-2",
        "Condition/m-3",
        "Condition/aps",
        "Observation/la-1",
        "Observation/la-2",
        "Observation/acl-g",
        "Observation/acl-m",
    }


def test_readings_from_text_are_reported_with_the_paths_they_became() -> None:
    result = facts_from_bundle(aps_bundle(), today=TODAY)
    texts = [note for note in result.notes if note.kind == "text-match"]
    assert [note.references for note in texts] == [("Observation/la-1",), ("Observation/la-2",)]
    assert "LOINC 3284-7, unconfirmed" in texts[0].text
    assert "'Lupus anticoagulant (dRVVT)'" in texts[1].text
    assert texts[1].paths == ("antiphospholipid.results.3",)
    (count,) = notes(result, "count")
    assert "3 counted from 3 resources" in count
    assert "consecutive is not in the data" in count


def test_explanations_show_the_fhir_resources() -> None:
    result = facts_from_bundle(aps_bundle(), today=TODAY)
    evaluation = result.evaluate()
    recommendation = next(
        r for r in evaluation.recommendations if r.intervention == "heparin-plus-low-dose-aspirin"
    )
    cited = result.cite(recommendation.because)
    paths = {path for reason in cited for leaf in reason.leaves() for path in leaf.paths}
    assert {"Condition/m-1", "Condition/m-2", "Condition/m-3", "Condition/aps"} <= paths
    assert not any(path.startswith("pregnancy_history") for path in paths)
    repeat_free = rsa_rules.evaluate(result.facts)
    assert [r.rule_id for r in repeat_free.recommendations] == [
        r.rule_id for r in evaluation.recommendations
    ]


def test_the_lupus_anticoagulant_results_are_cited_by_their_observations() -> None:
    resources = aps_bundle()["entry"]
    without_diagnosis = [e["resource"] for e in resources if e["resource"]["id"] != "aps"]
    result = read(*without_diagnosis)
    finding = result.evaluate().finding("aps-laboratory-criterion")
    assert finding is not None
    leaves = [leaf for reason in result.cite(finding.because) for leaf in reason.leaves()]
    lupus_leaf = next(leaf for leaf in leaves if leaf.id == "apl_lupus_anticoagulant")
    assert lupus_leaf.paths == ["Observation/la-1", "Observation/la-2"]


def test_annotate_rewrites_every_path_and_carries_the_report() -> None:
    result = facts_from_bundle(aps_bundle(), today=TODAY)
    document = result.annotate(result.evaluate())
    text = json.dumps(document)
    assert "antiphospholipid.results" not in text.replace('"antiphospholipid.results.', "")
    assert "Condition/aps" in text
    assert document["fhir"]["patient"] == "Patient/p1"
    assert document["fhir"]["sources"]["age"] == ["Patient/p1"]
    json.dumps(result.report())


def test_references_of_a_path_exact_enclosing_or_enclosed() -> None:
    result = read(
        patient(),
        ivig_order("a", status="active"),
        medication_request("b", (ATC, "B01AB05", "enoxaparin")),
    )
    assert result.references("treatments.0") == ("MedicationRequest/a",)
    assert result.references("treatments") == ("MedicationRequest/a", "MedicationRequest/b")
    assert result.references("treatments.1.status") == ("MedicationRequest/b",)
    assert result.references("rh") == ()
    assert result.cite_paths(["treatments.0", "rh"]) == ["MedicationRequest/a", "rh"]


# -- input forms ----------------------------------------------------------------------------------


def test_a_list_of_resources_models_and_nested_bundles_are_read() -> None:
    nested = bundle(bundle(miscarriage("m-1", "2020-01-01"), kind="searchset"))
    model = Observation.model_validate(
        observation("acl", (LOINC, "3181-5"), valueQuantity=quantity(50, "[GPL'U]"))
    )
    result = facts_from_bundle(
        [patient(), nested, model, Bundle.model_validate(bundle(lupus("la", "negative")))],
        today=TODAY,
    )
    assert result.facts.pregnancy_history is not None
    assert result.facts.antiphospholipid is not None
    assert len(result.facts.antiphospholipid.results or ()) == 2
    assert facts_from_bundle(patient(), today=TODAY).facts.age == 33


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("a string", "expected a FHIR Bundle"),
        (42, "expected a FHIR Bundle"),
        ({"id": "x"}, "must have a resourceType"),
        ({"resourceType": "Bundle", "entry": {}}, "Bundle.entry must be a list"),
        (
            {"resourceType": "Bundle", "type": "collection", "timestamp": "yesterday"},
            "not a valid FHIR Bundle",
        ),
    ],
)
def test_input_that_is_not_fhir_is_an_error(data: Any, message: str) -> None:
    with pytest.raises(FhirError, match=message):
        facts_from_bundle(data)


def test_fhir_errors_are_value_errors_of_the_library() -> None:
    assert issubclass(FhirError, ValueError)
    assert issubclass(FhirError, rsa_rules.RsaRulesError)


def test_two_patients_need_a_choice_and_others_are_reported() -> None:
    data = (patient("p1"), patient("p2", "1980-01-01"), miscarriage("m", subject="Patient/p2"))
    with pytest.raises(FhirError, match="2 Patient resources"):
        read(*data)
    chosen = read(*data, patient_id="p2")
    assert chosen.facts.id == "p2"
    assert chosen.facts.age == 46
    assert unused(chosen, "Patient/p1").reason == "another patient than Patient/p2"
    assert chosen.facts.pregnancy_history is not None


def test_resources_about_another_patient_are_not_read() -> None:
    result = read(
        patient("p1"),
        miscarriage("mine", "2020-01-01", subject="urn:uuid:whatever"),
        miscarriage("theirs", "2021-01-01", subject="https://ehr.example/fhir/Patient/p9"),
        miscarriage(
            "also-mine", "2022-01-01", subject="https://ehr.example/fhir/Patient/p1/_history/3"
        ),
    )
    item = unused(result, "Condition/theirs")
    assert item.status == "not-used"
    assert item.reason == "about https://ehr.example/fhir/Patient/p9, not Patient/p1"
    item = unused(result, "Condition/mine")
    assert "urn:uuid:whatever" in item.reason
    assert result.sources["pregnancy_history.losses.0"] == ("Condition/also-mine",)


def test_a_patient_referenced_by_its_full_url_is_recognised() -> None:
    data = bundle(miscarriage("m", "2020-01-01", subject="urn:uuid:abc"))
    data["entry"].insert(0, {"fullUrl": "urn:uuid:abc", "resource": patient("p1")})
    result = facts_from_bundle(data, today=TODAY)
    assert result.unused == ()
    assert result.facts.pregnancy_history is not None


def test_resources_about_several_patients_with_no_patient_named_are_an_error() -> None:
    with pytest.raises(FhirError, match="about 2 patients"):
        read(miscarriage("a", subject="Patient/x"), miscarriage("b", subject="Patient/y"))
    no_subject = observation("la", text="Lupus anticoagulant", subject=None, valueString="pos")
    only_subject = read(miscarriage("a", subject="Patient/x"), no_subject)
    assert only_subject.facts.id is None
    assert only_subject.facts.antiphospholipid is None  # whose result it is, is not said
    assert "names no patient" in unused(only_subject, "Observation/la").reason


def test_a_chosen_patient_missing_from_the_data_still_names_the_facts() -> None:
    result = read(miscarriage("m", "2020-01-01"), patient_id="p1")
    assert result.facts.id == "p1"
    assert result.facts.age is None
    assert result.patient == "Patient/p1"


def test_unknown_invalid_and_duplicate_resources_are_reported_never_dropped() -> None:
    data = bundle(
        patient(),
        {"resourceType": "Location", "id": "e1", "status": "active"},
        {"resourceType": "Condition", "id": "broken"},
        {"resourceType": "Observation", "status": "final", "code": {"text": "no id"}},
        miscarriage("m", "2020-01-01"),
        miscarriage("m", "2020-01-01"),
        miscarriage("m", "2021-01-01"),
        {"resourceType": "MedicationRequest", "id": "bad", "contained": [{"resourceType": "Nope"}]},
    )
    data["entry"].append({"fullUrl": "urn:uuid:no-resource"})
    result = facts_from_bundle(data, today=TODAY)
    assert unused(result, "Location/e1").status == "unrecognised"
    assert "does not read Location" in unused(result, "Location/e1").reason
    broken = unused(result, "Condition/broken")
    assert broken.status == "invalid"
    assert "subject" in broken.reason
    assert unused(result, "Observation (item 4, no id)").status == "unrecognised"
    assert unused(result, "MedicationRequest/bad").status == "invalid"
    assert unused(result, "Bundle entry 8").reason == "the entry has no resource"
    assert notes(result, "merged") == ["Condition/m was given more than once; read once"]
    assert (
        unused(result, "Condition/m").reason == "another version of this resource was given first"
    )


# -- conditions ------------------------------------------------------------------------------------


def test_verification_status_decides_whether_a_condition_is_read() -> None:
    result = read(
        patient(),
        miscarriage("confirmed", "2020-01-01", verification="confirmed"),
        miscarriage("provisional", "2021-01-01", verification="provisional"),
        miscarriage("error", "2022-01-01", verification="entered-in-error"),
        miscarriage("refuted", "2023-01-01", verification="refuted"),
    )
    assert result.sources["pregnancy_history.losses.0"] == ("Condition/confirmed",)
    assert "pregnancy_history.losses.1" not in result.sources
    for reference, status in (
        ("provisional", "provisional"),
        ("error", "entered-in-error"),
        ("refuted", "refuted"),
    ):
        item = unused(result, f"Condition/{reference}")
        assert (item.status, item.reason, item.concept) == (
            "not-used",
            f"verificationStatus is {status}",
            "miscarriage",
        )


def test_a_refuted_aps_condition_records_aps_as_excluded() -> None:
    result = read(patient(), condition("aps", (SNOMED, "26843008"), verification="refuted"))
    assert result.facts.antiphospholipid is not None
    assert result.facts.antiphospholipid.diagnosis == "excluded"
    assert result.sources["antiphospholipid.diagnosis"] == ("Condition/aps",)


def test_disagreeing_aps_conditions_leave_the_diagnosis_unknown() -> None:
    result = read(
        patient(),
        condition("yes", (ICD10CM, "D68.61")),
        condition("no", (SNOMED, "26843008"), verification="refuted"),
    )
    assert result.facts.antiphospholipid is None
    (conflict,) = notes(result, "conflict")
    assert "antiphospholipid.diagnosis left unknown" in conflict
    assert unused(result, "Condition/yes").status == "not-used"


def test_ectopic_pregnancies_are_listed_but_not_counted() -> None:
    result = read(
        patient(),
        miscarriage("m-1", "2020-01-01"),
        condition("tubal", (SNOMED, "79586000", "Tubal pregnancy"), onset="2021-01-01"),
        condition("rm", (SNOMED, "102878001")),
    )
    history = result.facts.pregnancy_history
    assert history is not None
    assert history.losses is not None
    assert [loss.kind for loss in history.losses] == ["miscarriage", "ectopic"]
    assert history.loss_count == 2
    assert result.sources["pregnancy_history.loss_count"] == ("Condition/rm",)
    assert any(
        "at least 2 losses are counted although 1 is itemised" in n
        for n in notes(result, "assumption")
    )
    assert result.evaluate().finding("recurrent-pregnancy-loss") is not None


def test_recurrent_miscarriage_alone_means_at_least_two_losses() -> None:
    result = read(patient(), condition("rm", (ICD10CM, "N96")))
    history = result.facts.pregnancy_history
    assert history is not None
    assert history.loss_count == 2
    assert history.losses is None
    enough = read(
        patient(),
        *(miscarriage(f"m{i}", f"202{i}-01-01") for i in range(3)),
        condition("rm", (ICD10CM, "O26.20")),
    )
    assert enough.facts.pregnancy_history is not None
    assert enough.facts.pregnancy_history.loss_count is None


def test_miscarriages_with_the_same_onset_are_one_loss() -> None:
    result = read(
        patient(),
        miscarriage("snomed", "2024-03-01"),
        condition("icd", (ICD10CM, "O03.4"), onset="2024-03-01T10:00:00Z"),
        miscarriage("undated-1"),
        miscarriage("undated-2"),
        condition("period", (SNOMED, "19169002"), onset_period="2019-07-01"),
    )
    history = result.facts.pregnancy_history
    assert history is not None
    assert history.losses is not None
    assert len(history.losses) == 4
    assert result.sources["pregnancy_history.losses.0"] == ("Condition/period",)
    assert result.sources["pregnancy_history.losses.1"] == ("Condition/snomed", "Condition/icd")
    (merged,) = notes(result, "merged")
    assert "(the same date, 2024-03-01): counted as one loss" in merged


def test_an_unspecified_thrombophilia_is_reported_not_guessed() -> None:
    result = read(patient(), condition("t", (SNOMED, "234467004", "Thrombophilia")))
    item = unused(result, "Condition/t")
    assert item.concept == "thrombophilia"
    assert "record which one" in item.reason
    assert result.facts.inherited_thrombophilia is None


def test_carrier_conditions_are_heterozygous_unless_a_genotype_says_more() -> None:
    result = read(
        patient(), condition("fvl", (ICD10CM, "D68.51")), condition("f2", (ICD10CM, "D68.52"))
    )
    inherited = result.facts.inherited_thrombophilia
    assert inherited is not None
    assert (inherited.factor_v_leiden, inherited.prothrombin_g20210a) == (
        "heterozygous",
        "heterozygous",
    )
    assert any("without its zygosity" in n for n in notes(result, "assumption"))
    homozygous = read(
        patient(),
        condition("fvl", (ICD10CM, "D68.51")),
        observation("f5", (LOINC, "21667-1"), valueString="Homozygous"),
    )
    assert homozygous.facts.inherited_thrombophilia is not None
    assert homozygous.facts.inherited_thrombophilia.factor_v_leiden == "homozygous"
    assert homozygous.sources["inherited_thrombophilia.factor_v_leiden"] == (
        "Observation/f5",
        "Condition/fvl",
    )
    negative = read(
        patient(),
        condition("fvl", (ICD10CM, "D68.51")),
        observation("f5", (LOINC, "21667-1"), valueCodeableConcept=concept((SNOMED, "260385009"))),
    )
    assert negative.facts.inherited_thrombophilia is None
    (conflict,) = notes(negative, "conflict")
    assert "record a carrier" in conflict
    assert "a negative result" in conflict


# -- observations ----------------------------------------------------------------------------------


def test_only_final_results_with_a_value_are_read() -> None:
    result = read(
        patient(),
        observation(
            "pre", (LOINC, "3181-5"), status="preliminary", valueQuantity=quantity(50, "[GPL'U]")
        ),
        observation(
            "absent",
            (LOINC, "3182-3"),
            dataAbsentReason=concept(text="Specimen unsatisfactory"),
        ),
        observation(
            "coded-absent", (LOINC, "3182-3"), dataAbsentReason=concept(("http://x", "error"))
        ),
        observation(
            "amended", (LOINC, "3181-5"), status="amended", valueQuantity=quantity(50, "[GPL'U]")
        ),
    )
    assert "status is preliminary" in unused(result, "Observation/pre").reason
    assert unused(result, "Observation/absent").reason == "no value (Specimen unsatisfactory)"
    assert unused(result, "Observation/coded-absent").reason == "no value (error)"
    assert result.sources["antiphospholipid.results.0"] == ("Observation/amended",)


def test_titres_need_a_ucum_unit_and_an_exact_value() -> None:
    result = read(
        patient(),
        observation("not-ucum", (LOINC, "3181-5"), valueQuantity={"value": 50, "unit": "GPL"}),
        observation("mg", (LOINC, "3181-5"), valueQuantity=quantity(50, "mg/L")),
        observation(
            "less", (LOINC, "3181-5"), valueQuantity=quantity(10, "[GPL'U]", comparator="<")
        ),
        observation(
            "novalue",
            (LOINC, "3181-5"),
            valueQuantity={"unit": "GPL", "system": UCUM, "code": "[GPL'U]"},
        ),
        observation("wrong-isotype", (LOINC, "3182-3"), valueQuantity=quantity(50, "[GPL'U]")),
        observation("umL", (LOINC, "44448-9"), valueQuantity=quantity(12, "U/mL")),
    )
    assert (
        "its unit (GPL) is not a UCUM titre unit" in unused(result, "Observation/not-ucum").reason
    )
    assert "its unit (mg/L)" in unused(result, "Observation/mg").reason
    assert "given as <10" in unused(result, "Observation/less").reason
    assert unused(result, "Observation/novalue").reason == "the quantity has no value"
    assert "GPL is for IGG antibodies" in unused(result, "Observation/wrong-isotype").reason
    results = result.facts.antiphospholipid.results if result.facts.antiphospholipid else ()
    assert [(r.test, r.value, r.unit) for r in results or ()] == [("anti-b2gpi-igg", 12.0, "U/mL")]


def test_a_qualitative_reading_is_used_when_the_titre_cannot_be() -> None:
    result = read(
        patient(),
        observation(
            "acl",
            (LOINC, "3181-5"),
            valueQuantity=quantity(80, "[GPL'U]", comparator=">"),
            interpretation=["POS"],
        ),
    )
    results = result.facts.antiphospholipid.results if result.facts.antiphospholipid else ()
    assert [(r.test, r.result) for r in results or ()] == [("anticardiolipin-igg", "positive")]


def test_the_percentile_flag_comes_from_a_reference_range_that_names_it() -> None:
    def b2gpi(resource_id: str, value: float, text: str, high_code: str = "U/mL") -> dict[str, Any]:
        return observation(
            resource_id,
            (LOINC, "44449-7"),
            valueQuantity=quantity(value, "U/mL"),
            referenceRange=[{"high": quantity(20, high_code), "text": text}],
        )

    result = read(
        patient(),
        b2gpi("above", 35, "99th percentile of healthy controls"),
        b2gpi("below", 5, "<20 U/mL (99th centile)"),
        b2gpi("plain", 35, "normal < 20"),
        b2gpi("other-unit", 35, "99th percentile", "[GPL'U]"),
    )
    results = result.facts.antiphospholipid.results if result.facts.antiphospholipid else ()
    flags = {
        ref: next(
            r
            for i, r in enumerate(results or ())
            if result.sources[f"antiphospholipid.results.{i}"] == (ref,)
        ).above_99th_percentile
        for ref in (
            "Observation/above",
            "Observation/below",
            "Observation/plain",
            "Observation/other-unit",
        )
    }
    assert flags == {
        "Observation/above": True,
        "Observation/below": False,
        "Observation/plain": None,
        "Observation/other-unit": None,
    }


def test_lupus_anticoagulant_needs_a_positive_or_negative_reading() -> None:
    result = read(
        patient(),
        observation("ratio", text="Lupus anticoagulant", valueQuantity=quantity(1.4, "{ratio}")),
        observation(
            "ratio-flagged",
            text="Lupus anticoagulant",
            valueQuantity=quantity(1.4, "{ratio}"),
            interpretation=["POS"],
        ),
        observation(
            "detected", text="lupus anticoagulant", valueCodeableConcept=concept(text="Detected")
        ),
        observation(
            "disagree", text="Lupus anticoagulant", valueString="negative", interpretation=["POS"]
        ),
        observation(
            "other-interpretation",
            text="Lupus anticoagulant",
            valueQuantity=quantity(1.4, "{ratio}"),
            interpretation=["H"],
        ),
        observation(
            "foreign-system", text="Lupus anticoagulant", valueString="weird", interpretation=[]
        ),
    )
    assert "needs a positive or negative reading" in unused(result, "Observation/ratio").reason
    assert "disagree" in unused(result, "Observation/disagree").reason
    assert (
        "needs a positive or negative reading"
        in unused(result, "Observation/other-interpretation").reason
    )
    results = result.facts.antiphospholipid.results if result.facts.antiphospholipid else ()
    assert [r.result for r in results or ()] == ["positive", "positive"]


def test_partial_dates_leave_a_result_undated_and_say_so() -> None:
    result = read(
        patient(),
        observation(
            "acl", (LOINC, "3181-5"), when="2025-03", valueQuantity=quantity(50, "[GPL'U]")
        ),
    )
    results = result.facts.antiphospholipid.results if result.facts.antiphospholipid else ()
    assert [r.date for r in results or ()] == [None]
    assert any("2025-03 is not a full date" in n for n in notes(result, "assumption"))
    period = read(
        patient(),
        observation(
            "acl",
            (LOINC, "3181-5"),
            when=None,
            effectivePeriod={"start": "2025-03-02"},
            valueQuantity=quantity(50, "[GPL'U]"),
        ),
    )
    results = period.facts.antiphospholipid.results if period.facts.antiphospholipid else ()
    assert [str(r.date) for r in results or ()] == ["2025-03-02"]


def test_genotypes_are_read_from_codes_and_text() -> None:
    result = read(
        patient(),
        observation("f5", (LOINC, "21667-1"), valueCodeableConcept=concept(text="Heterozygous")),
        observation(
            "f2",
            (LOINC, "24476-4"),
            valueCodeableConcept=concept((SNOMED, "260415000", "Not detected")),
        ),
    )
    inherited = result.facts.inherited_thrombophilia
    assert inherited is not None
    assert (inherited.factor_v_leiden, inherited.prothrombin_g20210a) == (
        "heterozygous",
        "negative",
    )
    unread = read(
        patient(),
        observation("f5", (LOINC, "21667-1"), valueString="Detected"),
        observation(
            "f2",
            (LOINC, "24476-4"),
            valueCodeableConcept=concept(("http://x", "1", "Homozygous"), text="Heterozygous"),
        ),
        observation("f5b", (LOINC, "21667-1"), valueCodeableConcept=concept()),
    )
    assert "'Detected'" in unused(unread, "Observation/f5").reason
    assert "more than one genotype" in unused(unread, "Observation/f2").reason
    assert "(no value)" in unused(unread, "Observation/f5b").reason


def test_disagreeing_genotypes_leave_the_fact_unknown() -> None:
    result = read(
        patient(),
        observation("a", (LOINC, "21667-1"), valueString="heterozygous"),
        observation("b", (LOINC, "21667-1"), valueString="negative"),
    )
    assert result.facts.inherited_thrombophilia is None
    (conflict,) = notes(result, "conflict")
    assert "Observation/a: heterozygous; Observation/b: negative" in conflict
    assert {u.reference for u in result.unused} == {"Observation/a", "Observation/b"}


def test_deficiencies_come_from_the_laboratory_interpretation_or_range() -> None:
    result = read(
        patient(),
        observation(
            "pc", (LOINC, "27818-4"), valueQuantity=quantity(40, "%"), interpretation=["L"]
        ),
        observation(
            "ps",
            (LOINC, "31102-7"),
            valueQuantity=quantity(45, "%"),
            referenceRange=[{"low": quantity(60, "%")}],
        ),
        observation(
            "at",
            (LOINC, "27811-9"),
            valueQuantity=quantity(95, "%"),
            referenceRange=[{"low": quantity(80, "%")}],
        ),
    )
    inherited = result.facts.inherited_thrombophilia
    assert inherited is not None
    assert (
        inherited.protein_c_deficiency,
        inherited.protein_s_deficiency,
        inherited.antithrombin_deficiency,
    ) == (True, True, False)
    assert any("Protein S falls in normal pregnancy" in n for n in notes(result, "assumption"))
    normal = read(
        patient(),
        observation(
            "pc", (LOINC, "27819-2"), valueQuantity=quantity(90, "%"), interpretation=["N"]
        ),
    )
    assert normal.facts.inherited_thrombophilia is not None
    assert normal.facts.inherited_thrombophilia.protein_c_deficiency is False
    unread = read(
        patient(),
        observation("pc", (LOINC, "27818-4"), valueQuantity=quantity(40, "%")),
        observation(
            "ps",
            (LOINC, "27821-8"),
            valueQuantity=quantity(40, "%"),
            interpretation=[],
            referenceRange=[{"low": quantity(60, "mg/dL")}],
        ),
    )
    assert "no interpretation or reference range" in unused(unread, "Observation/pc").reason
    assert "no interpretation or reference range" in unused(unread, "Observation/ps").reason


def test_rh_type_is_read_from_its_codes_and_text() -> None:
    negative = read(
        patient(),
        observation(
            "rh",
            (LOINC, "10331-7"),
            valueCodeableConcept=concept((SNOMED, "165746003", "RhD negative")),
        ),
    )
    assert negative.facts.rh == "negative"
    assert negative.sources["rh"] == ("Observation/rh",)
    positive = read(patient(), observation("rh", (LOINC, "10331-7"), valueString="Rh positive"))
    assert positive.facts.rh == "positive"
    loinc_answer = read(
        patient(),
        observation("rh", (LOINC, "10331-7"), valueCodeableConcept=concept((LOINC, "LA6576-8"))),
    )
    assert loinc_answer.facts.rh == "positive"
    unread = read(patient(), observation("rh", (LOINC, "10331-7"), valueString="ccddee"))
    assert "not read as Rh positive or negative" in unused(unread, "Observation/rh").reason
    conflict = read(
        patient(),
        observation("rh1", (LOINC, "10331-7"), valueString="RhD positive"),
        observation("rh2", (LOINC, "10331-7"), valueString="RhD negative"),
    )
    assert conflict.facts.rh is None
    assert notes(conflict, "conflict")


def test_observations_need_a_recognised_code() -> None:
    result = read(
        patient(),
        observation("hb", (LOINC, "718-7", "Hemoglobin"), valueQuantity=quantity(12, "g/dL")),
    )
    item = unused(result, "Observation/hb")
    assert item.status == "unrecognised"
    assert "http://loinc.org|718-7" in item.reason
    only_unconfirmed = read(patient(), observation("la", (LOINC, "3284-7"), valueString="positive"))
    item = unused(only_unconfirmed, "Observation/la")
    assert (item.status, item.concept) == ("not-used", "lupus-anticoagulant")


# -- requests --------------------------------------------------------------------------------


def test_ivig_by_atc_and_lymphocyte_immunotherapy_by_text_become_treatments() -> None:
    result = read(
        patient(),
        ivig_order("ivig-1", status="draft"),
        service_request("lit", text="Paternal lymphocyte immunization", intent="proposal"),
    )
    treatments = [(t.intervention, t.status) for t in result.facts.treatments or ()]
    assert treatments == [("ivig", "proposed"), ("lymphocyte-immunotherapy", "proposed")]
    assert result.sources["treatments.0"] == ("MedicationRequest/ivig-1",)
    assert result.sources["treatments.1"] == ("ServiceRequest/lit",)
    assert any(
        "ServiceRequest/lit was read as lymphocyte immunotherapy" in n
        for n in notes(result, "text-match")
    )


def test_request_statuses_and_intents_map_to_treatment_statuses() -> None:
    result = read(
        patient(),
        medication_request("active", (ATC, "B01AB01"), status="active"),
        medication_request("plan", (ATC, "B01AC06"), status="active", intent="plan"),
        medication_request("held", (ATC, "B01AB05"), status="on-hold"),
        medication_request("done", (ATC, "J06BA02"), status="completed"),
        medication_request("stopped", (ATC, "J06BA02"), status="stopped"),
        service_request("sr", text="Lymphocyte immunotherapy", status="active"),
        service_request("revoked", text="lymphocyte immunotherapy", status="revoked"),
    )
    treatments = [(t.intervention, t.status) for t in result.facts.treatments or ()]
    assert treatments == [
        ("heparin", "active"),
        ("low-dose-aspirin", "proposed"),
        ("heparin", "ordered"),
        ("ivig", "completed"),
        ("lymphocyte-immunotherapy", "ordered"),
    ]
    assert "status is stopped" in unused(result, "MedicationRequest/stopped").reason
    assert "status is revoked" in unused(result, "ServiceRequest/revoked").reason


def test_the_same_treatment_twice_is_one_fact_citing_both() -> None:
    result = read(patient(), ivig_order("a", status="draft"), ivig_order("b", status="draft"))
    assert [(t.intervention, t.status) for t in result.facts.treatments or ()] == [
        ("ivig", "proposed")
    ]
    assert result.sources["treatments.0"] == ("MedicationRequest/a", "MedicationRequest/b")


def test_unconfirmed_rxnorm_codes_need_their_display() -> None:
    result = read(
        patient(),
        medication_request("coded-only", (RXNORM, "5224")),
        medication_request("with-display", (RXNORM, "5224", "heparin sodium")),
        medication_request("flush", (RXNORM, "5224", "Heparin lock flush")),
    )
    item = unused(result, "MedicationRequest/coded-only")
    assert item.concept == "heparin"
    assert "unconfirmed" in item.reason
    assert result.sources["treatments.0"] == ("MedicationRequest/with-display",)
    assert unused(result, "MedicationRequest/flush").concept == "heparin"


def test_medications_by_reference_are_resolved() -> None:
    medication = {"resourceType": "Medication", "id": "med-ivig", "code": concept((ATC, "J06BA02"))}
    lonely = {"resourceType": "Medication", "id": "lonely", "code": concept(text="aspirin")}
    contained = medication_request(
        "contained",
        medicationReference={"reference": "#m"},
        contained=[
            {"resourceType": "Medication", "id": "m", "code": concept(text="Enoxaparin 40 mg")}
        ],
    )
    data = bundle(
        patient(),
        medication_request("by-ref", medicationReference={"reference": "Medication/med-ivig"}),
        medication_request("by-url", medicationReference={"reference": "urn:uuid:med-2"}),
        contained,
        medication_request("missing", medicationReference={"reference": "Medication/gone"}),
        medication_request("missing-contained", medicationReference={"reference": "#none"}),
        medication,
        lonely,
    )
    data["entry"].append(
        {
            "fullUrl": "urn:uuid:med-2",
            "resource": {"resourceType": "Medication", "code": concept((ATC, "B01AC06"))},
        }
    )
    result = facts_from_bundle(data, today=TODAY)
    treatments = [(t.intervention, t.status) for t in result.facts.treatments or ()]
    assert treatments == [("ivig", "active"), ("low-dose-aspirin", "active"), ("heparin", "active")]
    assert (
        "Medication/gone is not in the data given"
        in unused(result, "MedicationRequest/missing").reason
    )
    assert "#none" in unused(result, "MedicationRequest/missing-contained").reason
    assert (
        unused(result, "Medication/lonely").reason == "a Medication no MedicationRequest refers to"
    )


# -- patients -------------------------------------------------------------------------------------


def test_ages_outside_the_facts_range_or_partial_births_are_left_unknown() -> None:
    assert read(patient(birth="1940-01-01")).facts.age == 86  # every real age is read
    old = read(patient(birth="1900-01-01"))
    assert old.facts.age is None
    assert any("age 126" in n and "left unknown" in n for n in notes(old, "assumption"))
    partial = read(patient(birth="1990"))
    assert partial.facts.age is None
    assert any("birth date 1990 is not a full date" in n for n in notes(partial, "assumption"))
    nobirth = read(patient(birth=None))
    assert nobirth.facts.age is None
    assert nobirth.facts.id == "p1"
    birthday = facts_from_bundle(patient(birth="1990-05-01"), today=TODAY)
    assert birthday.facts.age == 36


def test_nothing_known_is_all_unknown() -> None:
    result = facts_from_bundle([], today=TODAY)
    assert result.facts.model_dump(exclude_none=True) == {}
    assert result.patient is None
    assert result.unused == ()
    assert result.notes == ()
    assert result.sources == {}


def test_unused_resources_and_notes_are_json_ready() -> None:
    result = read(patient(), observation("x", (INTERPRETATION, "H")))
    assert [u.to_dict() for u in result.unused] == [
        {
            "reference": "Observation/x",
            "resource_type": "Observation",
            "status": "unrecognised",
            "reason": f"no code in fhir-codes.yaml ({INTERPRETATION}|H)",
        }
    ]
    text_read = facts_from_bundle(aps_bundle(), today=TODAY)
    assert text_read.notes[0].to_dict()["kind"] == "text-match"
    assert "paths" in text_read.notes[0].to_dict()


def test_a_code_book_of_its_own_can_skip_unverified_conditions(tmp_path: Any) -> None:
    import yaml

    from rsa_rules.adapters.codes import CODES_FILE, load_code_book

    from ..conftest import RULES

    document = yaml.safe_load((RULES / CODES_FILE).read_text(encoding="utf-8"))
    document["statuses"]["condition_verification_missing"] = "skip"
    (tmp_path / CODES_FILE).write_text(yaml.safe_dump(document), encoding="utf-8")
    strict = load_code_book(tmp_path)
    result = read(
        patient(),
        miscarriage("plain", "2020-01-01"),
        miscarriage("confirmed", "2021-01-01", verification="confirmed"),
        codes=strict,
    )
    assert unused(result, "Condition/plain").reason == "no verificationStatus"
    assert result.sources["pregnancy_history.losses.0"] == ("Condition/confirmed",)


def test_interpretations_are_read_only_in_their_code_system() -> None:
    foreign = {"coding": [{"system": "http://example.org/flags", "code": "POS"}]}
    result = read(
        patient(),
        observation("la-neg", text="Lupus anticoagulant", interpretation=["NEG"]),
        observation("la-foreign", text="Lupus anticoagulant") | {"interpretation": [foreign]},
        observation("pc", (LOINC, "27818-4"), valueQuantity=quantity(40, "%"))
        | {"interpretation": [foreign]},
        condition("aps", (SNOMED, "26843008"), verification=None)
        | {
            "verificationStatus": {
                "coding": [{"system": "http://example.org/v", "code": "refuted"}]
            }
        },
    )
    results = result.facts.antiphospholipid.results if result.facts.antiphospholipid else ()
    assert [r.result for r in results or ()] == ["negative"]
    assert "no positive or negative reading" in unused(result, "Observation/la-foreign").reason
    assert "no interpretation or reference range" in unused(result, "Observation/pc").reason
    assert result.facts.antiphospholipid is not None
    assert result.facts.antiphospholipid.diagnosis == "confirmed"  # not a recognised refutation


def test_disagreeing_deficiency_results_leave_the_fact_unknown() -> None:
    result = read(
        patient(),
        observation(
            "pc-1", (LOINC, "27818-4"), valueQuantity=quantity(40, "%"), interpretation=["L"]
        ),
        observation(
            "pc-2", (LOINC, "27818-4"), valueQuantity=quantity(90, "%"), interpretation=["N"]
        ),
    )
    assert result.facts.inherited_thrombophilia is None
    (conflict,) = notes(result, "conflict")
    assert "Observation/pc-1: yes; Observation/pc-2: no" in conflict
