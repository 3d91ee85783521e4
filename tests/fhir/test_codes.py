"""The code lists (rules/fhir-codes.yaml): their schema, their agreement with the knowledge
base, and how codes and texts are matched to concepts."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from rsa_rules import KnowledgeError
from rsa_rules.adapters.codes import (
    CODES_FILE,
    CodeBook,
    CodeBookFile,
    Match,
    NoMatch,
    ReadsLoss,
    ReadsTreatment,
    load_code_book,
    normalise_text,
)
from rsa_rules.knowledge.loader import KnowledgeBase

from ..conftest import RULES
from .fhirdata import ATC, ICD10, ICD10CM, LOINC, RXNORM, SNOMED

DOCUMENT: dict[str, Any] = yaml.safe_load((RULES / CODES_FILE).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def book() -> CodeBook:
    return load_code_book()


def _load(tmp_path: Path, document: Any) -> CodeBook:
    path = tmp_path / CODES_FILE
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return load_code_book(tmp_path)


def _problems(tmp_path: Path, document: Any) -> list[str]:
    with pytest.raises(KnowledgeError) as caught:
        _load(tmp_path, document)
    return [str(problem) for problem in caught.value.problems]


# -- the bundled lists -------------------------------------------------------------------------


def test_the_bundled_code_lists_load_and_keep_the_unconfirmed_codes_flagged(
    book: CodeBook,
) -> None:
    lupus = book.concepts["lupus-anticoagulant"]
    assert {c.code for c in lupus.codes} == {"3284-7", "6303-2", "34571-0"}
    assert not any(c.confirmed for c in lupus.codes)
    assert lupus.flagged
    assert lupus.order_code is None
    for concept_id, rxnorm in (("heparin", {"5224", "67108"}), ("aspirin", {"1191"})):
        codes = book.concepts[concept_id].codes
        assert {c.code for c in codes if c.system == "rxnorm"} == rxnorm
        assert not any(c.confirmed for c in codes if c.system == "rxnorm")
    ivig = book.concepts["ivig"]
    assert [(c.system, c.code, c.confirmed) for c in ivig.codes] == [("atc", "J06BA02", True)]
    assert ivig.gaps
    assert ivig.flagged
    assert book.concepts["anticardiolipin-igg"].order_code is not None
    assert not book.concepts["anticardiolipin-igg"].flagged


def test_every_code_has_a_source_of_the_file(book: CodeBook) -> None:
    for concept in book.spec.concepts:
        for code in concept.codes:
            assert code.source in book.sources
    for source in book.spec.sources:
        assert source.title


def test_the_code_lists_agree_with_the_knowledge_base(kb: KnowledgeBase, book: CodeBook) -> None:
    for kind, mapping in book.spec.statuses.requests.items():
        assert set(mapping.values()) <= set(kb.statuses), kind
    counted = kb.parameter("counted_loss_kinds")
    for concept in book.spec.concepts:
        if isinstance(concept.reads, ReadsTreatment):
            assert concept.reads.intervention in kb.interventions
        if isinstance(concept.reads, ReadsLoss):
            assert concept.reads.loss_kind in kb.loss_kinds, concept.id
            assert concept.reads.counted == (concept.reads.loss_kind in counted), concept.id
    cds = book.cds
    for intervention, related in cds.order_checks.items():
        assert intervention in kb.interventions
        assert set(related) <= set(kb.interventions)
    for fact in cds.test_orders:
        assert fact in kb.facts, fact
    for intervention in cds.intervention_tests:
        assert intervention in kb.interventions


# -- matching -----------------------------------------------------------------------------------


def test_a_confirmed_code_is_enough(book: CodeBook) -> None:
    found = book.match("Observation", [(LOINC, "3181-5", None)], [])
    assert isinstance(found, Match)
    assert (found.concept.id, found.via, found.coding) == (
        "anticardiolipin-igg",
        "code",
        "LOINC 3181-5",
    )


def test_an_unconfirmed_code_alone_is_not_enough_and_says_why(book: CodeBook) -> None:
    found = book.match("Observation", [(LOINC, "3284-7", None)], [])
    assert isinstance(found, NoMatch)
    assert found.candidates == ("lupus-anticoagulant",)
    assert "LOINC 3284-7" in found.reason
    assert "unconfirmed" in found.reason


def test_the_text_of_a_flagged_concept_is_a_fallback_reported_as_such(book: CodeBook) -> None:
    found = book.match("Observation", [(LOINC, "3284-7", "Lupus Anticoagulant")], [])
    assert isinstance(found, Match)
    assert (found.concept.id, found.via, found.unconfirmed) == (
        "lupus-anticoagulant",
        "text",
        ("LOINC 3284-7",),
    )
    by_text = book.match("Observation", [], ["LUPUS ANTICOAGULANT screen"])
    assert isinstance(by_text, Match)
    assert by_text.via == "text"
    assert by_text.unconfirmed == ()


def test_text_never_names_a_concept_that_is_not_flagged(book: CodeBook) -> None:
    found = book.match("Observation", [], ["Cardiolipin IgG antibody"])
    assert isinstance(found, NoMatch)
    assert found.candidates == ()


def test_exclusions_veto_a_text_match(book: CodeBook) -> None:
    assert isinstance(book.match("Request", [], ["Rho(D) immune globulin intravenous"]), NoMatch)
    assert isinstance(book.match("Request", [], ["Heparin lock flush 100 units/mL"]), NoMatch)
    ivig = book.match("Request", [], ["Immune globulin intravenous (human) 10%"])
    assert isinstance(ivig, Match)
    assert ivig.concept.id == "ivig"


def test_icd10_codes_match_with_or_without_the_dot_and_by_category(book: CodeBook) -> None:
    for system, code in ((ICD10CM, "O26.21"), (ICD10, "O262"), (ICD10CM, "o26.2")):
        found = book.match("Condition", [(system, code, None)], [])
        assert isinstance(found, Match), code
        assert found.concept.id == "recurrent-miscarriage", code
    assert isinstance(book.match("Condition", [(ICD10CM, "O27", None)], []), NoMatch)
    exact = book.match("Condition", [(ICD10CM, "D68.61", None)], [])
    assert isinstance(exact, Match)
    assert exact.concept.id == "antiphospholipid-syndrome"
    assert isinstance(book.match("Condition", [(ICD10CM, "D68.611", None)], []), NoMatch)


def test_codes_are_read_per_resource_kind(book: CodeBook) -> None:
    assert isinstance(book.match("Condition", [(LOINC, "3181-5", None)], []), NoMatch)
    assert isinstance(book.match("Request", [(ATC, "J06BA02", None)], []), Match)
    assert isinstance(book.match("Request", [(ATC + "/", "J06BA02", None)], []), Match)


def test_two_concepts_named_at_once_are_ambiguous(book: CodeBook) -> None:
    coded = book.match("Request", [(ATC, "B01AB01", None), (ATC, "B01AC06", None)], [])
    assert isinstance(coded, NoMatch)
    assert set(coded.candidates) == {"heparin", "aspirin"}
    texts = book.match("Request", [], ["heparin and aspirin"])
    assert isinstance(texts, NoMatch)
    assert "more than one" in texts.reason


def test_unknown_codes_and_empty_concepts_are_named_in_the_reason(book: CodeBook) -> None:
    unknown = book.match("Condition", [(SNOMED, "38341003", None), (None, "x", None)], [])
    assert isinstance(unknown, NoMatch)
    assert "http://snomed.info/sct|38341003" in unknown.reason
    assert "(no system)|x" in unknown.reason
    nothing = book.match("Condition", [(SNOMED, None, "a display only")], [None])
    assert isinstance(nothing, NoMatch)
    assert "no code" in nothing.reason
    assert book.system_of(None) is None
    assert book.system_of(RXNORM) == "rxnorm"


def test_normalised_text_ignores_case_and_punctuation() -> None:
    assert normalise_text("  Rho(D) Immune-Globulin ") == "rho d immune globulin"


def test_answer_codes_need_a_known_system(book: CodeBook) -> None:
    assert book.answer_code(book.positive, SNOMED, "10828004")
    assert not book.answer_code(book.positive, "http://example.org", "10828004")
    assert not book.answer_code(book.positive, SNOMED, None)


# -- the schema ---------------------------------------------------------------------------------


def test_another_directory_or_file_can_be_loaded(tmp_path: Path) -> None:
    book = _load(tmp_path, DOCUMENT)
    assert book.location == CODES_FILE
    assert set(load_code_book(str(tmp_path / CODES_FILE)).concepts) == set(book.concepts)


def test_text_fallback_is_refused_on_a_concept_that_is_not_flagged(tmp_path: Path) -> None:
    document = copy.deepcopy(DOCUMENT)
    acl = next(c for c in document["concepts"] if c["id"] == "anticardiolipin-igg")
    acl["text_fallback"] = {"reason": "convenience", "phrases": ["cardiolipin"]}
    (problem,) = _problems(tmp_path, document)
    assert "text_fallback is allowed only on a flagged concept" in problem
    assert "concepts" in problem


def test_a_concept_with_no_confirmed_code_needs_a_text_fallback(tmp_path: Path) -> None:
    document = copy.deepcopy(DOCUMENT)
    lupus = next(c for c in document["concepts"] if c["id"] == "lupus-anticoagulant")
    del lupus["text_fallback"]
    (problem,) = _problems(tmp_path, document)
    assert "needs a text_fallback" in problem


def test_a_concept_is_read_only_in_its_resource_kind(tmp_path: Path) -> None:
    document = copy.deepcopy(DOCUMENT)
    document["concepts"][0]["resource"] = "Observation"
    (problem,) = _problems(tmp_path, document)
    assert "cannot be read as 'pregnancy-loss'" in problem


def test_references_inside_the_file_are_checked(tmp_path: Path) -> None:
    document = copy.deepcopy(DOCUMENT)
    document["concepts"][0]["codes"][0]["system"] = "snomed-ct"
    document["concepts"][1]["codes"][0]["source"] = "nowhere"
    document["concepts"][2]["reads"]["source"] = "elsewhere"
    document["concepts"].append(copy.deepcopy(document["concepts"][3]))
    document["concepts"][4]["codes"].append(dict(document["concepts"][3]["codes"][0]))
    document["titre_units"][0]["source"] = "unknown"
    document["cds_hooks"]["test_orders"]["apl_lupus_anticoagulant"] = "no-such-concept"
    document["cds_hooks"]["intervention_tests"]["rh-status-testing"] = ["not_a_test"]
    (problem,) = _problems(tmp_path, document)
    for expected in (
        "unknown code system 'snomed-ct'",
        "unknown source 'nowhere'",
        "unknown source 'elsewhere'",
        "is listed twice",
        "is in antiphospholipid-syndrome and",
        "titre unit [GPL'U]: unknown source",
        "unknown concept 'no-such-concept'",
        "'not_a_test' is not in test_orders",
    ):
        assert expected in problem, expected


def _prefix_entry(document: dict[str, Any], code: str) -> dict[str, Any]:
    return next(
        entry
        for concept in document["concepts"]
        for entry in concept["codes"]
        if entry["code"] == code
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"search": ["O03.9", "O04.5"]}, "search codes not under O03: O04.5"),
        ({"search_source": None}, "a search list needs its search_source"),
        ({"search": [], "search_source": "vsac-icd10-codes"}, "search_source is given without"),
        ({"match": "exact"}, "a search list belongs to a prefix entry only"),
        ({"search_source": "nowhere"}, "unknown source 'nowhere'"),
    ],
)
def test_a_search_list_is_checked_against_its_prefix_and_source(
    tmp_path: Path, change: dict[str, Any], expected: str
) -> None:
    document = copy.deepcopy(DOCUMENT)
    entry = _prefix_entry(document, "O03")
    entry.update(change)
    if change.get("search_source", "") is None:
        del entry["search_source"]
    (problem,) = _problems(tmp_path, document)
    assert expected in problem


def test_every_search_list_has_codes_under_its_prefix(book: CodeBook) -> None:
    lists = {
        entry.code: entry
        for concept in book.spec.concepts
        for entry in concept.codes
        if entry.search
    }
    assert {"O03", "O00", "O26.2", "I82", "D68.0", "D69.4", "D69.5", "M81"} <= set(lists)
    for code, entry in lists.items():
        assert entry.match == "prefix"
        assert entry.search_source in book.sources
        assert len(set(entry.search)) == len(entry.search), code
    assert "O03.9" in lists["O03"].search


def test_bad_files_raise_knowledge_errors_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="cannot read"):
        load_code_book(tmp_path / "missing.yaml")
    (tmp_path / CODES_FILE).write_text("concepts: [unclosed", encoding="utf-8")
    with pytest.raises(KnowledgeError, match="not valid YAML"):
        load_code_book(tmp_path)
    problems = _problems(tmp_path, {"version": 1})
    assert len(problems) == 7  # every missing section is named
    assert all(problem.startswith(f"{CODES_FILE}, field ") for problem in problems)


def test_the_schema_model_is_the_file_format() -> None:
    spec = CodeBookFile.model_validate(DOCUMENT)
    assert spec.version == 1
    assert spec.statuses.requests["MedicationRequest"]["draft"] == "proposed"


def test_a_value_read_from_a_code_must_be_a_value_of_the_facts_format(tmp_path: Path) -> None:
    document = copy.deepcopy(DOCUMENT)
    diabetes = next(c for c in document["concepts"] if c["id"] == "diabetes-with-hyperglycemia")
    diabetes["reads"]["value"] = "poorly-controlled"
    (problem,) = _problems(tmp_path, document)
    assert "'poorly-controlled' is not a value of risk_factors.diabetes" in problem
