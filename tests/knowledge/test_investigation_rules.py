"""The section 5.4 rules and the linter's non-contradiction proof over their facts.

No bundled rule offers the tests RCOG says not to offer routinely, so the bundled proof has
nothing to refute for them; a copy of the rules with a contradicting rule added shows that the
proof reaches the new facts (the reason a test is under way, tissue karyotype results).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import rsa_rules
from rsa_rules.knowledge import conditions
from rsa_rules.knowledge.lint import lint_knowledge, opposite_action_witness
from rsa_rules.knowledge.loader import load_knowledge

from ..unit.test_knowledge_errors import append_rule, copy_rules

CONSIDER_NK_CELLS = """
  - id: RSA-INVEST-NK-AFTER-UNBALANCED
    kind: recommendation
    version: 1
    title: A rule added by a test to contradict RSA-INVEST-IMMUNOLOGICAL
    condition_text: A loss with an unbalanced structural abnormality in the tissue.
    when: {fact: unbalanced_structural_losses, gte: 1}
    then:
      - action: consider
        intervention: immunological-testing
        summary: "Consider immunological testing"
    citations:
      - {source: seed-lit-clinic, note: A rule added by a test to contradict another.}
    evidence:
      grade: test only
"""


def test_a_rule_offering_what_rcog_advises_against_is_refuted_with_a_patient(
    tmp_path: Path,
) -> None:
    root = copy_rules(tmp_path)
    append_rule(root, "investigations.yaml", CONSIDER_NK_CELLS)
    kb = load_knowledge(root)

    report = lint_knowledge(root)
    contradictions = [p for p in report.errors if "opposite actions" in p.message]
    assert len(contradictions) == 1, [str(p) for p in report.errors]
    assert "immunological-testing" in contradictions[0].message

    added = kb.rules_by_id["RSA-INVEST-NK-AFTER-UNBALANCED"]
    existing = kb.rules_by_id["RSA-INVEST-IMMUNOLOGICAL"]
    witness = opposite_action_witness(kb, added, existing)
    assert witness is not None
    facts: dict[str, Any] = {
        name: value
        for name, value in witness.items()
        if isinstance(value, str | int | float) and name in kb.facts
    }
    assert facts["unbalanced_structural_losses"] >= 1
    # In the engine's context: the order names recurrent loss, or none while it is established.
    assert facts["reason_immunological_testing"] in ("recurrent-pregnancy-loss", "not-stated")
    for rule in (added, existing):
        outcome = conditions.evaluate(rule.condition, facts, kb.resolve)
        assert outcome.value is conditions.Tri.TRUE, rule.id


def test_the_bundled_rules_never_offer_these_tests() -> None:
    kb = load_knowledge()
    offered = {
        out.intervention
        for rule in kb.rules
        for out in rule.spec.then
        if out.action in ("recommend", "consider", "test")
    }
    assert offered.isdisjoint({"immunological-testing", "infection-screening", "sperm-dna-testing"})
    assert lint_knowledge().ok


def test_three_miscarriages_and_an_nk_cell_order_give_an_alert_naming_the_claim() -> None:
    evaluation = rsa_rules.evaluate(
        {
            "pregnancy_history": {"loss_count": 3},
            "treatments": [{"intervention": "immunological-testing", "status": "ordered"}],
        }
    )
    first = evaluation.recommendations[0]
    assert (first.rule_id, first.action, first.alert) == (
        "RSA-INVEST-IMMUNOLOGICAL",
        "avoid",
        True,
    )
    assert [c.id for c in first.citations] == ["rcog-2023"]
    claims = first.evidence.contradicted_claims
    assert [c.citation.id for c in claims] == ["seed-lit-clinic"]
    assert [c.id for c in claims[0].contradicted_by] == ["rcog-2023"]
    assert "50%" in claims[0].claim
    assert first.alert_certainty == "inferred"


def test_an_nk_cell_order_for_another_stated_reason_gets_nothing_about_it() -> None:
    evaluation = rsa_rules.evaluate(
        {
            "pregnancy_history": {"loss_count": 3},
            "treatments": [
                {"intervention": "immunological-testing", "status": "ordered", "reason": "other"}
            ],
        }
    )
    assert evaluation.recommendations
    assert all(r.intervention != "immunological-testing" for r in evaluation.recommendations)


def test_an_hla_typing_order_without_a_pregnancy_history_gets_nothing() -> None:
    evaluation = rsa_rules.evaluate(
        {"age": 40, "treatments": [{"intervention": "immunological-testing", "status": "ordered"}]}
    )
    assert evaluation.recommendations == []
