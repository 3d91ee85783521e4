"""Golden cases: clinical situations with the answer CLINICAL.md gives, checked exactly.

Each case in ``golden/`` states the complete list of recommendations (in the engine's order:
alerts first, then recommend, refer, test, consider, avoid) and of findings, plus optional
checks (see ``golden_cases.EXPECT_KEYS``). A case whose ``xfail_reason`` records a disagreement
between the engine and the specification keeps the specification's answer and must fail
(strict xfail): when the engine is fixed, the xfail turns into an error and the mark goes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

import rsa_rules
from rsa_rules.knowledge.loader import KnowledgeBase
from rsa_rules.models.results import Evaluation, Finding, Reason, Recommendation

from .golden_cases import (
    CASE_KEYS,
    EXPECT_KEYS,
    REQUIRED_CASE_KEYS,
    GoldenCase,
    load_cases,
)

CASES = load_cases()
ACTION_ORDER = ("recommend", "refer", "test", "consider", "avoid")
POSITIVE_ACTIONS = frozenset({"recommend", "consider"})
CURRENT_STATUSES = frozenset({"proposed", "ordered", "active"})
SUMMARY_LIMIT = 140
RECOMMENDATION_KEYS = ("rule_id", "action", "intervention", "alert")

_evaluations: dict[str, Evaluation] = {}


def _params(*, strict_xfail: bool) -> list[Any]:
    """One parameter per case; with ``strict_xfail`` the disagreement cases are xfail(strict)."""
    params = []
    for case in CASES:
        marks = []
        if strict_xfail and case.xfail_reason:
            marks.append(pytest.mark.xfail(reason=case.xfail_reason, strict=True))
        params.append(pytest.param(case, id=case.name, marks=marks))
    return params


def evaluation_of(engine: rsa_rules.Engine, case: GoldenCase) -> Evaluation:
    """Evaluate a case once per session (several tests read the same evaluation)."""
    if case.name not in _evaluations:
        _evaluations[case.name] = engine.evaluate(case.facts)
    return _evaluations[case.name]


def as_expected(rec: Recommendation) -> dict[str, Any]:
    return {key: getattr(rec, key) for key in RECOMMENDATION_KEYS}


def reason_texts(reasons: list[Reason]) -> Iterator[str]:
    for reason in reasons:
        yield reason.text
        yield from reason_texts(reason.because)


def recommendation_text(rec: Recommendation) -> str:
    """Everything a clinician reads about one recommendation, as one string."""
    parts = [rec.summary, rec.detail or "", *rec.notes, *rec.evidence.notes, *rec.cautions]
    parts += [citation.note for citation in rec.citations]
    parts += [blocked.rule_id for blocked in rec.blocked]
    parts += reason_texts(rec.because)
    return "\n".join(parts)


def finding_text(finding: Finding) -> str:
    return "\n".join([finding.summary, *reason_texts(finding.because)])


def only_recommendation(evaluation: Evaluation, rule_id: str) -> Recommendation:
    """The first recommendation of ``rule_id`` (the checks that use it name a one-output rule)."""
    found = [rec for rec in evaluation.recommendations if rec.rule_id == rule_id]
    assert found, f"no recommendation from {rule_id}"
    return found[0]


def current_interventions(facts: dict[str, Any]) -> set[str]:
    return {
        str(item["intervention"])
        for item in facts.get("treatments") or []
        if item["status"] in CURRENT_STATUSES
    }


# -- the golden comparison ----------------------------------------------------------------
@pytest.mark.parametrize("case", _params(strict_xfail=True))
def test_golden_case(case: GoldenCase, engine: rsa_rules.Engine) -> None:
    evaluation = evaluation_of(engine, case)
    expect = case.expect

    got = [as_expected(rec) for rec in evaluation.recommendations]
    assert got == expect["recommendations"], "recommendations differ from the golden case"
    assert [finding.id for finding in evaluation.findings] == expect["findings"]

    for intervention in expect.get("absent_interventions", []):
        offered = [
            rec.rule_id
            for rec in evaluation.recommendations
            if rec.intervention == intervention and rec.action != "avoid"
        ]
        assert not offered, f"{intervention} must not be offered, but {offered} offer it"

    for caution_id in expect.get("cautions_from", []):
        check_cautions(evaluation, engine.knowledge, caution_id, required=True)

    if "why_not" in expect:
        answer = evaluation.why_not(expect["why_not"]["intervention"])
        statuses = {check.rule_id: check.status for check in answer.rules}
        for rule_id, status in expect["why_not"]["rules"].items():
            assert statuses.get(rule_id) == status, f"why_not: {rule_id} is {statuses.get(rule_id)}"

    for rule_id, due in expect.get("due", {}).items():
        rec = only_recommendation(evaluation, rule_id)
        assert rec.due == (None if due is None else dt.date.fromisoformat(due)), rule_id

    for rule_id, sources in expect.get("conflicts", {}).items():
        cited = {c.citation.id for c in only_recommendation(evaluation, rule_id).evidence.conflicts}
        assert set(sources) <= cited, f"{rule_id}: conflicting evidence cites {sorted(cited)}"

    for rule_id, sources in expect.get("contradicted_claims", {}).items():
        rec = only_recommendation(evaluation, rule_id)
        flagged = {claim.citation.id for claim in rec.evidence.contradicted_claims}
        assert set(sources) <= flagged, f"{rule_id}: contradicted claims are {sorted(flagged)}"

    for rule_id, blocked in expect.get("blocked", {}).items():
        rec = only_recommendation(evaluation, rule_id)
        assert sorted({b.rule_id for b in rec.blocked}) == sorted(blocked), rule_id

    for key in ("not_yet_done", "optional_not_yet_done"):
        for rule_id, labels in expect.get(key, {}).items():
            assert getattr(only_recommendation(evaluation, rule_id), key) == labels, rule_id

    for rule_id, certainty in expect.get("alert_certainty", {}).items():
        rec = only_recommendation(evaluation, rule_id)
        assert rec.alert, rule_id
        assert rec.alert_certainty == certainty, (rule_id, rec.alert_certainty)

    if "data_notes" in expect:
        assert [note.path for note in evaluation.data_notes] == expect["data_notes"]

    for finding_id, value in expect.get("finding_values", {}).items():
        finding = evaluation.finding(finding_id)
        assert finding is not None, finding_id
        assert finding.value == value, finding_id

    for item in expect.get("text_contains", []):
        if "rule_id" in item:
            recs = [r for r in evaluation.recommendations if r.rule_id == item["rule_id"]]
            assert recs, f"no recommendation from {item['rule_id']}"
            text = "\n".join(recommendation_text(rec) for rec in recs)
        elif "finding" in item:
            finding = evaluation.finding(item["finding"])
            assert finding is not None, f"finding {item['finding']} not established"
            text = finding_text(finding)
        else:
            text = evaluation.to_text()
        assert item["text"] in text, f"{item['text']!r} not in the explanation"


def check_cautions(
    evaluation: Evaluation, kb: KnowledgeBase, caution_id: str, *, required: bool
) -> None:
    """The caution rule's cautions are on every recommendation it applies to."""
    spec = kb.rules_by_id[caution_id].spec
    assert spec.applies_to is not None, caution_id
    matching = [
        rec
        for rec in evaluation.recommendations
        if rec.intervention in spec.applies_to.interventions
        and rec.action in spec.applies_to.actions
    ]
    if required:
        assert matching, f"no recommendation {caution_id} applies to"
    for rec in matching:
        assert caution_id in rec.caution_rules, rec.rule_id
        missing = [text for text in spec.cautions if text not in rec.cautions]
        assert not missing, f"{rec.rule_id} lacks cautions {missing}"


# -- what every recommendation must carry, in every case ----------------------------------
@pytest.mark.parametrize("case", _params(strict_xfail=False))
def test_every_recommendation_is_cited_and_explained(
    case: GoldenCase, engine: rsa_rules.Engine
) -> None:
    kb = engine.knowledge
    evaluation = evaluation_of(engine, case)
    for rec in evaluation.recommendations:
        assert rec.citations, f"{rec.rule_id} has no citation"
        assert any(c.doi or c.url or c.note.strip() for c in rec.citations), rec.rule_id
        assert all(c.note.strip() for c in rec.citations), f"{rec.rule_id}: a citation has no note"
        assert 0 < len(rec.summary) < SUMMARY_LIMIT, f"{rec.rule_id}: summary length"
        if kb.rules_by_id[rec.rule_id].spec.when is not None:
            assert rec.because, f"{rec.rule_id} reads facts but explains nothing"
    for finding in evaluation.findings:
        assert finding.citations, finding.id
        assert finding.because, f"{finding.id} is not explained"


@pytest.mark.parametrize("case", _params(strict_xfail=False))
def test_recommendations_are_consistent(case: GoldenCase, engine: rsa_rules.Engine) -> None:
    """Spec invariants that hold for every patient (CLINICAL.md sections 2 and 5)."""
    evaluation = evaluation_of(engine, case)
    current = current_interventions(case.facts)
    for rec in evaluation.recommendations:
        assert (rec.alert_certainty is not None) == rec.alert, f"{rec.rule_id}: certainty"
    for rec in evaluation.alerts:
        assert rec.action == "avoid", f"{rec.rule_id}: an alert says avoid"
        assert rec.intervention in current, f"{rec.rule_id}: alert on {rec.intervention}"
    offered = {r.intervention for r in evaluation.recommendations if r.action in POSITIVE_ACTIONS}
    avoided = {r.intervention for r in evaluation.recommendations if r.action == "avoid"}
    assert not offered & avoided, f"opposite actions for {sorted(offered & avoided)}"
    keys = [(r.alert, ACTION_ORDER.index(r.action)) for r in evaluation.recommendations]
    assert keys == sorted(keys, key=lambda k: (not k[0], k[1])), "alerts first, then by action"
    for rule in engine.knowledge.rules:
        if rule.kind == "caution":
            check_cautions(evaluation, engine.knowledge, rule.id, required=False)


# -- the case files themselves ------------------------------------------------------------
def test_there_are_enough_golden_cases() -> None:
    assert len(CASES) >= 45
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", _params(strict_xfail=False))
def test_case_file_is_well_formed(case: GoldenCase, kb: KnowledgeBase) -> None:
    data = case.data
    assert REQUIRED_CASE_KEYS <= set(data) <= CASE_KEYS, sorted(data)
    assert case.name == case.path.stem
    description = data["description"]
    assert isinstance(description, str)
    assert description.endswith(".")
    assert "\n" not in description
    if case.xfail_reason is not None:
        assert case.xfail_reason.strip(), "an xfail case says why"
    rsa_rules.PatientFacts.model_validate(case.facts)

    expect = case.expect
    assert {"recommendations", "findings"} <= set(expect) <= set(EXPECT_KEYS), sorted(expect)
    for item in expect["recommendations"]:
        assert tuple(item) == RECOMMENDATION_KEYS, item
        rule = kb.rules_by_id[item["rule_id"]]
        outputs = {(out.action, out.intervention) for out in rule.spec.then}
        assert (item["action"], item["intervention"]) in outputs, item
        assert isinstance(item["alert"], bool)
    order = {rule.id: rule.order for rule in kb.rules}
    findings = expect["findings"]
    assert all(f in kb.finding_rules for f in findings), findings
    assert findings == sorted(findings, key=lambda f: order[kb.finding_rules[f].id])
    named = [
        *expect.get("cautions_from", []),
        *expect.get("why_not", {}).get("rules", {}),
        *(
            rid
            for key in ("due", "conflicts", "contradicted_claims", "blocked", "alert_certainty")
            for rid in expect.get(key, {})
        ),
    ]
    assert all(rule_id in kb.rules_by_id for rule_id in named), named
    if "why_not" in expect:
        assert expect["why_not"]["intervention"] in kb.interventions
    for intervention in expect.get("absent_interventions", []):
        assert intervention in kb.interventions, intervention
