"""The code lists of the section 5.4 investigations (rules/fhir-codes-investigations.yaml).

The file follows fhir-codes.yaml's format: its concepts are checked with the adapter's own
schema, against the code systems and codes of fhir-codes.yaml and the knowledge base, and
matched the way the adapter matches requests once they are merged into its code book.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field

from rsa_rules.adapters.codes import (
    CodeBook,
    Concept,
    Match,
    NoMatch,
    ReadsTreatment,
    SourceSpec,
    StrTuple,
    load_code_book,
)
from rsa_rules.knowledge.loader import KnowledgeBase

from ..conftest import RULES
from .fhirdata import LOINC, SNOMED

INVESTIGATIONS_FILE = "fhir-codes-investigations.yaml"
INTERVENTIONS = (
    "immunological-testing",
    "infection-screening",
    "sperm-dna-testing",
    "parental-karyotype",
)


class InvestigationCodes(BaseModel):
    """The file's top level: fhir-codes.yaml's version, sources, concepts and order checks."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    version: int = Field(ge=1)
    sources: tuple[SourceSpec, ...] = Field(strict=False, min_length=1)
    concepts: tuple[Concept, ...] = Field(strict=False, min_length=1)
    order_checks: dict[str, StrTuple] = Field(strict=False)


@pytest.fixture(scope="module")
def codes() -> InvestigationCodes:
    document = yaml.safe_load((RULES / INVESTIGATIONS_FILE).read_text(encoding="utf-8"))
    return InvestigationCodes.model_validate(document)


@pytest.fixture(scope="module")
def merged() -> CodeBook:
    """The bundled code book: fhir-codes.yaml with the files beside it (these concepts)."""
    return load_code_book()


def match(
    book: CodeBook, codings: Iterable[tuple[str, str, str]] = (), text: str | None = None
) -> Match | NoMatch:
    return book.match("Request", list(codings), [text])


def test_every_concept_reads_a_new_intervention_of_the_knowledge_base(
    codes: InvestigationCodes, kb: KnowledgeBase
) -> None:
    read = [c.reads.intervention for c in codes.concepts if isinstance(c.reads, ReadsTreatment)]
    assert sorted(read) == sorted(INTERVENTIONS)
    assert set(read) <= set(kb.interventions)
    assert set(codes.order_checks) == set(INTERVENTIONS)
    for related in codes.order_checks.values():
        assert set(related) <= set(kb.interventions)


def test_codes_use_known_systems_and_sources_and_are_new(codes: InvestigationCodes) -> None:
    spec = load_code_book(RULES / "fhir-codes.yaml").spec  # the main file alone
    systems = {s.id for s in spec.systems}
    sources = {s.id for s in codes.sources}
    bundled = {(code.system, code.code) for c in spec.concepts for code in c.codes}
    for concept in codes.concepts:
        for code in concept.codes:
            assert code.system in systems, (concept.id, code.code)
            assert code.source in sources, (concept.id, code.code)
            assert (code.system, code.code) not in bundled, (concept.id, code.code)
            assert code.note, f"{concept.id} {code.code}: say where the code was found"


def test_every_concept_without_a_confirmed_code_is_read_from_text_only(
    codes: InvestigationCodes,
) -> None:
    for concept in codes.concepts:
        if not any(code.confirmed for code in concept.codes):
            assert concept.text_fallback is not None, concept.id
            assert concept.order_code is None, concept.id


def test_the_merged_code_book_is_valid(merged: CodeBook) -> None:
    assert set(INTERVENTIONS) <= set(merged.concepts)
    assert merged.cds.order_checks["immunological-testing"] == ("immunological-testing",)


@pytest.mark.parametrize(
    ("codings", "text", "concept", "via"),
    [
        pytest.param(
            [(LOINC, "18267-5", "CD16+CD56+ cells/100 cells in Blood")],
            None,
            "immunological-testing",
            "code",
            id="nk-cells-by-loinc",
        ),
        pytest.param(
            [(LOINC, "13303-3", "HLA-A+B+C (class I) [Type]")],
            None,
            "immunological-testing",
            "code",
            id="hla-class-i-by-loinc",
        ),
        pytest.param([], "Uterine NK cell test", "immunological-testing", "text", id="nk-text"),
        pytest.param([], "Th1/Th2 cytokine ratio", "immunological-testing", "text", id="th1-th2"),
        pytest.param([], "HLA typing (both partners)", "immunological-testing", "text", id="hla"),
        pytest.param(
            [], "Infection screen - recurrent miscarriage", "infection-screening", "text", id="inf"
        ),
        pytest.param(
            [], "Sperm DNA fragmentation (SCD)", "sperm-dna-testing", "text", id="sperm-dna"
        ),
        pytest.param(
            [(LOINC, "29770-5", "Karyotype [Identifier] in Blood or Tissue Nominal")],
            "Parental karyotype (both partners)",
            "parental-karyotype",
            "text",
            id="parental-karyotype-named",
        ),
    ],
)
def test_requests_for_these_investigations_are_recognised(
    merged: CodeBook,
    codings: list[tuple[str, str, str]],
    text: str | None,
    concept: str,
    via: str,
) -> None:
    found = match(merged, codings, text)
    assert isinstance(found, Match), found
    assert (found.concept.id, found.via) == (concept, via)


def test_an_unconfirmed_karyotype_code_is_reported_with_its_text_reading(merged: CodeBook) -> None:
    found = match(
        merged,
        [(SNOMED, "444309000", "Determination of karyotype from blood specimen (procedure)")],
        "Peripheral blood karyotype",
    )
    assert isinstance(found, Match)
    assert found.via == "text"
    assert found.unconfirmed == ("SNOMED CT 444309000",)


@pytest.mark.parametrize(
    ("codings", "text"),
    [
        pytest.param(
            [(LOINC, "29770-5", "Karyotype [Identifier] in Blood or Tissue Nominal")],
            "Karyotype, products of conception",
            id="tissue-karyotype-is-not-parental",
        ),
        pytest.param(
            [(SNOMED, "312948004", "Karyotype determination (procedure)")],
            None,
            id="karyotype-code-alone",
        ),
        pytest.param([], "Antenatal infection screen (HIV, hepatitis B, syphilis)", id="antenatal"),
        pytest.param([], "HLA typing for kidney transplant donor", id="hla-transplant"),
        pytest.param([], "HLA-B*57:01 before abacavir", id="hla-b5701"),
        pytest.param(
            [(LOINC, "20402-4", "CD16+CD56+ cells [#/volume] in Blood")],
            "Lymphocyte subsets",
            id="unconfirmed-nk-count-without-text",
        ),
    ],
)
def test_other_requests_are_not_read_as_these_investigations(
    merged: CodeBook, codings: list[tuple[str, str, str]], text: str | None
) -> None:
    assert isinstance(match(merged, codings, text), NoMatch)


def test_a_request_naming_one_of_them_by_text_is_reported_as_flagged(merged: CodeBook) -> None:
    found = match(merged, [], "sperm DNA fragmentation index")
    assert isinstance(found, Match)
    assert found.concept.flagged
    assert found.concept.text_fallback is not None
    assert "no code" in found.concept.text_fallback.reason


def _documents() -> Any:
    return yaml.safe_load((RULES / INVESTIGATIONS_FILE).read_text(encoding="utf-8"))


def test_a_concept_with_no_confirmed_code_and_no_text_is_refused() -> None:
    document = _documents()
    sperm = next(c for c in document["concepts"] if c["id"] == "sperm-dna-testing")
    del sperm["text_fallback"]
    with pytest.raises(ValueError, match="needs a text_fallback"):
        InvestigationCodes.model_validate(document)


# -- read with the bundled code book, at order-sign ----------------------------------------
def test_the_bundled_code_book_holds_these_concepts(codes: InvestigationCodes) -> None:
    book = load_code_book()
    ids = {concept.id for concept in book.spec.concepts}
    assert {concept.id for concept in codes.concepts} <= ids
    for intervention, related in codes.order_checks.items():
        assert book.spec.cds_hooks.order_checks[intervention] == related


def _nk_case(*reason: dict[str, Any]) -> list[dict[str, Any]]:
    from datetime import date

    from rsa_rules.adapters.cds_hooks import draft_orders
    from rsa_rules.fhir import facts_from_bundle
    from rsa_rules.rendering.cards import order_cards

    from .fhirdata import bundle, miscarriage, patient, service_request

    order = service_request("nk", (LOINC, "18267-5", "NK cells"), text="NK cell assay")
    order["status"] = "draft"
    if reason:
        order["reasonCode"] = list(reason)
    read = facts_from_bundle(
        bundle(
            patient(),
            miscarriage("m1", "2023-01-01"),
            miscarriage("m2", "2024-01-01"),
            miscarriage("m3", "2025-01-01"),
            order,
        ),
        today=date(2026, 5, 1),
    )
    assert [t.intervention for t in read.facts.treatments or ()] == ["immunological-testing"]
    return order_cards(read.evaluate(), draft_orders(read, ["ServiceRequest/nk"]), fhir=read)


def test_an_nk_cell_order_at_order_sign_is_an_info_card_when_inferred() -> None:
    (card,) = _nk_case()
    assert card["indicator"] == "info"
    assert card["source"]["topic"]["code"] == "RSA-INVEST-IMMUNOLOGICAL"
    assert card["summary"].startswith("If this is to investigate miscarriage: Avoid")
    assert len(card["summary"]) < 140


def test_an_nk_cell_order_for_recurrent_miscarriage_is_a_warning_card() -> None:
    (card,) = _nk_case({"text": "Recurrent miscarriage"})
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("Avoid immunological testing")


def test_an_nk_cell_order_for_another_stated_reason_gets_no_card() -> None:
    assert _nk_case({"text": "Kidney transplant work-up"}) == []


def test_a_further_code_list_is_checked_with_the_main_file(tmp_path: Any) -> None:
    import shutil

    from rsa_rules.errors import KnowledgeError

    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules, ignore=shutil.ignore_patterns("__pycache__"))
    extra = rules / INVESTIGATIONS_FILE
    text = extra.read_text(encoding="utf-8")
    (rules / "fhir-codes-copy.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(KnowledgeError, match="listed twice"):
        load_code_book(rules)
    (rules / "fhir-codes-copy.yaml").write_text("version: &v 1\nsources: *v\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"fhir-codes-copy\.yaml"):
        load_code_book(rules)
    (rules / "fhir-codes-copy.yaml").unlink()
    assert len(load_code_book(rules).spec.concepts) == len(load_code_book().spec.concepts)
