"""Every citation can be followed: a DOI, a URL, or the stored seed document."""

from __future__ import annotations

import json

import rsa_rules
from rsa_rules.knowledge.loader import KnowledgeBase

from ..conftest import EXAMPLES, ROOT


def test_every_source_has_a_doi_url_or_stored_document(kb: KnowledgeBase) -> None:
    for source in kb.sources.values():
        assert source.doi or source.url or source.document, source.id
        if source.document:
            assert (
                ROOT.parent / "shared" / source.document
            ).exists() or source.document.startswith("seeds/"), source.id


def test_citations_in_results_carry_title_year_and_an_address() -> None:
    for path in sorted(EXAMPLES.glob("*.json")):
        evaluation = rsa_rules.evaluate(json.loads(path.read_text(encoding="utf-8")))
        for rec in evaluation.recommendations:
            assert rec.citations, rec.rule_id
            for citation in rec.citations:
                assert citation.title
                assert citation.year > 1900
                assert citation.link or citation.document, (rec.rule_id, citation.id)


def test_a_doi_resolves_through_doi_org() -> None:
    evaluation = rsa_rules.evaluate({"pregnancy_history": {"loss_count": 2}})
    ivig = next(r for r in evaluation.recommendations if r.intervention == "ivig")
    wong = next(c for c in ivig.citations if c.id == "wong-2014")
    assert wong.link == "https://doi.org/10.1002/14651858.CD000112.pub3"
