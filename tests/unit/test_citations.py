"""Every citation can be followed: a DOI, a URL, or the stored seed document."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

import pytest

import rsa_rules
from rsa_rules.knowledge.loader import KnowledgeBase
from rsa_rules.knowledge.schema import SourceSpec

from ..conftest import EXAMPLES, ROOT

# The specification beside the checkout (CI lays a copy there): CLINICAL.md names each seed
# source's stored document, by file name, in its table of sources.
SHARED = ROOT.parent / "shared"
_SEED_ROW = re.compile(r"^\| `(seed-[a-z0-9-]+)` \| `([^`/]+\.txt)`", re.MULTILINE)


def seed_problems(sources: Iterable[SourceSpec], shared: Path) -> list[str]:
    """What is wrong with the seed citations: each ``seed-`` source (and each source with a
    stored document) must name, under ``seeds/``, the very file CLINICAL.md names for it, and
    that file must exist; every seed CLINICAL.md names must be in the bibliography."""
    named = dict(_SEED_ROW.findall((shared / "CLINICAL.md").read_text(encoding="utf-8")))
    problems: list[str] = []
    seen: set[str] = set()
    for source in sources:
        if not (source.id.startswith("seed-") or source.document):
            continue
        seen.add(source.id)
        expected = f"seeds/{named[source.id]}" if source.id in named else None
        if expected is None:
            problems.append(f"{source.id}: CLINICAL.md names no seed document for it")
        elif source.document != expected:
            problems.append(f"{source.id}: document {source.document!r}, CLINICAL.md: {expected!r}")
        elif not (shared / expected).is_file():
            problems.append(f"{source.id}: {expected} does not exist in shared/")
    problems += [
        f"{seed}: named in CLINICAL.md, not in the bibliography"
        for seed in sorted(set(named) - seen)
    ]
    return problems


@pytest.fixture(scope="module")
def shared() -> Path:
    if not (SHARED / "CLINICAL.md").is_file():
        if os.environ.get("CI"):  # CI lays the specification beside its clone: never skip there
            pytest.fail(f"the specification is not beside the checkout ({SHARED})")
        pytest.skip(f"the specification is not beside the checkout ({SHARED})")
    return SHARED


def test_every_source_has_a_doi_url_or_stored_document(kb: KnowledgeBase) -> None:
    for source in kb.sources.values():
        assert source.doi or source.url or source.document, source.id


def test_every_seed_citation_is_the_stored_document_clinical_md_names(
    kb: KnowledgeBase, shared: Path
) -> None:
    assert len(_SEED_ROW.findall((shared / "CLINICAL.md").read_text(encoding="utf-8"))) >= 4
    assert seed_problems(kb.sources.values(), shared) == []


def test_a_broken_seed_citation_is_found(kb: KnowledgeBase, shared: Path) -> None:
    sources = {source.id: source for source in kb.sources.values()}
    heparin, ivig = sources["seed-heparin"], sources["seed-ivig"]

    missing = {**sources, "seed-heparin": heparin.model_copy(update={"document": "seeds/x.txt"})}
    assert seed_problems(missing.values(), shared) == [
        f"seed-heparin: document 'seeds/x.txt', CLINICAL.md: {heparin.document!r}"
    ]
    swapped = {
        **sources,
        "seed-heparin": heparin.model_copy(update={"document": ivig.document}),
        "seed-ivig": ivig.model_copy(update={"document": heparin.document}),
    }
    assert len(seed_problems(swapped.values(), shared)) == 2
    dropped = {k: v for k, v in sources.items() if k != "seed-ivig"}
    assert seed_problems(dropped.values(), shared) == [
        "seed-ivig: named in CLINICAL.md, not in the bibliography"
    ]
    unnamed = {**sources, "seed-new": heparin.model_copy(update={"id": "seed-new"})}
    assert seed_problems(unnamed.values(), shared) == [
        "seed-new: CLINICAL.md names no seed document for it"
    ]


def test_a_seed_document_missing_from_shared_is_found(
    kb: KnowledgeBase, shared: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "shared"
    (copy / "seeds").mkdir(parents=True)
    (copy / "CLINICAL.md").write_text((shared / "CLINICAL.md").read_text(encoding="utf-8"))
    for path in (shared / "seeds").iterdir():
        if path.name != "002_40d3b7fa37fdfed0.txt":
            (copy / "seeds" / path.name).write_bytes(path.read_bytes())
    assert seed_problems(kb.sources.values(), copy) == [
        "seed-medlineplus: seeds/002_40d3b7fa37fdfed0.txt does not exist in shared/"
    ]


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
