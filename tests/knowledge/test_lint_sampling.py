"""The opposite-action proof samples every interval between thresholds, however close."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rsa_rules.knowledge import conditions
from rsa_rules.knowledge.lint import lint_knowledge, opposite_action_witness
from rsa_rules.knowledge.loader import load_knowledge

from ..conftest import RULES

# Two rules whose thresholds are 0.5 apart: both hold only for a value strictly between them.
# The older sampling (each threshold and 1 either side: 11, 11.5, 12, 12.5, 13, 13.5) has no
# value in (12, 12.5), and proved the pair consistent.
CLOSE_PAIR = """
  - id: RSA-TEST-AFTER
    kind: recommendation
    version: 1
    title: A test rule above one threshold
    condition_text: A miscarriage now after {low} weeks.
    when: {{fact: {fact}, gt: {low}}}
    then:
      - action: recommend
        intervention: rh-immunoglobulin
        summary: "Recommend Rh immunoglobulin: a rule added by a test"
    citations:
      - {{source: seed-medlineplus, note: A rule added by a test.}}
    evidence:
      grade: test only

  - id: RSA-TEST-BEFORE
    kind: recommendation
    version: 1
    title: A test rule below a threshold 0.5 higher
    condition_text: A miscarriage now before {high} weeks.
    when: {{fact: {fact}, lt: {high}}}
    then:
      - action: avoid
        intervention: rh-immunoglobulin
        summary: "Avoid Rh immunoglobulin: a rule added by a test"
    citations:
      - {{source: seed-medlineplus, note: A rule added by a test.}}
    evidence:
      grade: test only
"""


def _with_pair(tmp_path: Path, fact: str, low: float, high: float) -> Path:
    root = tmp_path / "rules"
    shutil.copytree(RULES, root)
    path = root / "acute.yaml"
    rules = CLOSE_PAIR.format(fact=fact, low=low, high=high)
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + "\n" + rules, "utf-8")
    return root


def test_thresholds_half_a_unit_apart_are_found_to_overlap(tmp_path: Path) -> None:
    root = _with_pair(tmp_path, "miscarriage_now_weeks", 12, 12.5)
    kb = load_knowledge(root)
    after, before = kb.rules_by_id["RSA-TEST-AFTER"], kb.rules_by_id["RSA-TEST-BEFORE"]

    witness = opposite_action_witness(kb, after, before)
    assert witness is not None
    weeks = witness["miscarriage_now_weeks"]
    assert 12 < weeks < 12.5
    for rule in (after, before):  # the witness really is a patient for whom both fire
        outcome = conditions.evaluate(rule.condition, {"miscarriage_now_weeks": weeks}, kb.resolve)
        assert outcome.value is conditions.Tri.TRUE, rule.id

    report = lint_knowledge(root)
    found = [p.message for p in report.errors if "opposite actions" in p.message]
    assert any("RSA-TEST-AFTER" in m and "RSA-TEST-BEFORE" in m for m in found), found


@pytest.mark.parametrize(("low", "high"), [(12, 12), (12.5, 12.5), (12.25, 12.25)])
def test_touching_thresholds_are_proved_apart(tmp_path: Path, low: float, high: float) -> None:
    """``> t`` and ``< t`` never hold together: the sample must not invent an overlap."""
    kb = load_knowledge(_with_pair(tmp_path, "miscarriage_now_weeks", low, high))
    pair = kb.rules_by_id["RSA-TEST-AFTER"], kb.rules_by_id["RSA-TEST-BEFORE"]
    assert opposite_action_witness(kb, *pair) is None


def test_an_integer_fact_has_no_patient_between_two_and_a_half(tmp_path: Path) -> None:
    """``> 2`` and ``< 2.5`` on a count: no whole number lies between, so no contradiction."""
    kb = load_knowledge(_with_pair(tmp_path, "counted_losses", 2, 2.5))
    pair = kb.rules_by_id["RSA-TEST-AFTER"], kb.rules_by_id["RSA-TEST-BEFORE"]
    assert opposite_action_witness(kb, *pair) is None
    # One step wider, and 3 is a patient for whom both hold.
    wider = load_knowledge(_with_pair(tmp_path / "wider", "counted_losses", 2, 3.5))
    pair = wider.rules_by_id["RSA-TEST-AFTER"], wider.rules_by_id["RSA-TEST-BEFORE"]
    witness = opposite_action_witness(wider, *pair)
    assert witness is not None
    assert witness["counted_losses"] == 3
