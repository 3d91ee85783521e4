"""The front door's links lead somewhere a user of the repository has, and the contract's
example is a valid facts document."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import rsa_rules

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def relative_links(text: str) -> list[str]:
    return [
        target
        for target in LINK.findall(text)
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target) and not target.startswith("#")
    ]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_relative_link_resolves_inside_the_repository(document: Path) -> None:
    links = relative_links(document.read_text(encoding="utf-8"))
    for target in links:
        path = (document.parent / target.split("#", 1)[0]).resolve()
        assert path.is_relative_to(ROOT), f"{document.name}: {target} leaves the repository"
        assert path.exists(), f"{document.name}: {target} does not exist"


def test_the_link_check_can_fail() -> None:
    assert relative_links("see [the contract](../shared/CONTRACT.md) and [x](https://a.b)") == [
        "../shared/CONTRACT.md"
    ]
    assert not (ROOT / "../shared/CONTRACT.md").resolve().is_relative_to(ROOT)


def test_the_readme_links_the_contract_in_the_repository() -> None:
    assert "(docs/CONTRACT.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_contract_example_is_a_valid_facts_document() -> None:
    text = (ROOT / "docs" / "CONTRACT.md").read_text(encoding="utf-8")
    block = re.search(r"```json\n(.*?)```", text, re.S)
    assert block is not None
    document = json.loads(block.group(1))
    evaluation = rsa_rules.evaluate(document)
    assert evaluation.patient_id == document["id"]
