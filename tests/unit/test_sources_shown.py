"""Every source is shown as something a reader can follow: its web address, or for a stored
document with none, who published it; never a file path of this repository."""

from __future__ import annotations

import json

import rsa_rules

from ..conftest import EXAMPLES

LIT = json.loads((EXAMPLES / "lymphocyte-immunotherapy-proposed.json").read_text(encoding="utf-8"))


def test_text_cards_and_html_name_the_publisher_of_a_source_without_an_address() -> None:
    evaluation = rsa_rules.evaluate(LIT)
    unlinked = [
        citation
        for rec in evaluation.recommendations
        for citation in rec.citations
        if not citation.link and citation.document
    ]
    assert unlinked
    details = " ".join(card["detail"] for card in evaluation.to_cds_cards())
    for shown in (evaluation.to_text(), details, evaluation._repr_html_()):
        assert "seeds/" not in shown
        for citation in unlinked:
            assert citation.publisher
            assert citation.publisher in shown
