"""The bibliography's verification record agrees with the clinical specification.

The clinical specification (section 1) lists the DOIs that were checked against a stored copy
of PubMed or the publisher. The knowledge base records that check itself: each such source in
``rules/bibliography.yaml`` carries ``checked`` (where and when) and is not marked
``verified: false``. These tests read the record from the knowledge base (users have no copy
of the specification) and fail when a DOI the specification verified is unverified, differs,
or says nowhere where it was checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from rsa_rules import KnowledgeError
from rsa_rules.knowledge.loader import KnowledgeBase, load_knowledge
from rsa_rules.knowledge.schema import SourceSpec

from ..unit.test_knowledge_errors import copy_rules, edit

# CLINICAL.md section 1: "DOIs checked against stored copies of PubMed or the publisher".
SPEC_VERIFIED_DOIS: Mapping[str, str] = {
    "kaandorp-2010": "10.1056/NEJMoa1000641",
    "alife2-2023": "10.1016/S0140-6736(23)00693-1",
    "rcog-2023": "10.1111/1471-0528.17515",
    "sydney-2006": "10.1111/j.1538-7836.2006.01753.x",
    "ober-1999": "10.1016/S0140-6736(98)12055-X",
    "promise-2015": "10.1056/NEJMoa1504927",
    "prism-2019": "10.1056/NEJMoa1813730",
    "empson-2005": "10.1002/14651858.CD002859.pub2",
    "wong-2014": "10.1002/14651858.CD000112.pub3",
    "yamada-2022": "10.1016/j.eclinm.2022.101527",
    "uspstf-2021-aspirin": "10.1001/jama.2021.14781",
    "eshre-2022": "10.1093/hropen/hoad002",
}
# "Not found in a stored copy": the citations are confirmed, their DOIs are not.
SPEC_UNFOUND_DOIS = ("asrm-2012", "acog-pb197-2018")


def spec_verification_problems(sources: Mapping[str, SourceSpec]) -> list[str]:
    """What in ``sources`` disagrees with the DOIs the specification lists as verified.

    A source the bibliography does not hold is left to the test that the bibliography holds
    every source of the specification.
    """
    problems: list[str] = []
    for source_id, doi in SPEC_VERIFIED_DOIS.items():
        source = sources.get(source_id)
        if source is None:
            continue
        if (source.doi or "").lower() != doi.lower():
            problems.append(f"{source_id}: DOI {source.doi!r}, the specification checked {doi!r}")
        if not source.verified:
            problems.append(f"{source_id}: marked unverified, the specification verified {doi}")
        if not source.checked:
            problems.append(f"{source_id}: verified, but 'checked' does not say where")
    for source_id in SPEC_UNFOUND_DOIS:
        source = sources.get(source_id)
        if source is not None and source.doi and source.verified:
            problems.append(f"{source_id}: DOI marked verified, the specification did not find it")
    return problems


def test_the_dois_the_specification_verified_are_marked_verified(kb: KnowledgeBase) -> None:
    assert spec_verification_problems(kb.sources) == []


def test_every_verified_doi_says_where_it_was_checked(kb: KnowledgeBase) -> None:
    unrecorded = [s.id for s in kb.sources.values() if s.doi and s.verified and not s.checked]
    assert unrecorded == []


def test_a_doi_the_specification_verified_left_unverified_is_reported(kb: KnowledgeBase) -> None:
    rcog = kb.sources["rcog-2023"]
    unverified = rcog.model_copy(update={"verified": False, "checked": None})
    problems = spec_verification_problems({**kb.sources, "rcog-2023": unverified})
    assert problems == [
        "rcog-2023: marked unverified, the specification verified 10.1111/1471-0528.17515",
        "rcog-2023: verified, but 'checked' does not say where",
    ]


def test_a_changed_doi_is_reported(kb: KnowledgeBase) -> None:
    ober = kb.sources["ober-1999"].model_copy(update={"doi": "10.1016/S0140-6736(98)12055-Y"})
    problems = spec_verification_problems({**kb.sources, "ober-1999": ober})
    assert problems == [
        "ober-1999: DOI '10.1016/S0140-6736(98)12055-Y', the specification checked "
        "'10.1016/S0140-6736(98)12055-X'"
    ]


def test_an_unfound_doi_marked_verified_is_reported(kb: KnowledgeBase) -> None:
    asrm = kb.sources["asrm-2012"].model_copy(update={"verified": True})
    assert spec_verification_problems({**kb.sources, "asrm-2012": asrm}) == [
        "asrm-2012: DOI marked verified, the specification did not find it"
    ]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        pytest.param(
            "    doi: 10.1111/1471-0528.17515\n",
            "    doi: 10.1111/1471-0528.17515\n    verified: false\n",
            "a source with 'checked' (its identifier was checked) is verified",
            id="checked-but-unverified",
        ),
        pytest.param(
            "    doi: 10.1111/1471-0528.17515\n",
            "",
            "'checked' says where a DOI or URL was checked: give one",
            id="checked-without-identifier",
        ),
    ],
)
def test_the_loader_refuses_a_record_that_contradicts_itself(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    root = copy_rules(tmp_path)
    edit(root, "bibliography.yaml", old, new)
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(root)
    problems = info.value.problems
    assert [p.file for p in problems] == ["bibliography.yaml"]
    assert message in problems[0].message
