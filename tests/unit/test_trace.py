"""One trace: every evaluation records the outcome of every condition node, checked against
what durable_rules fired inside ``evaluate()`` itself; explanations read the trace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import rsa_rules
from rsa_rules import EngineError, Evaluation
from rsa_rules.knowledge.conditions import (
    MISSING,
    OPERATORS,
    TRACE_LETTERS,
    All,
    Any_,
    Compare,
    FindingRef,
    Known,
    Not,
    Ref,
    TracePlan,
    Tri,
    evaluate,
    leaf_value,
)
from rsa_rules.knowledge.loader import default_knowledge_path

from ..conftest import EXAMPLES

APS = json.loads((EXAMPLES / "aps-three-losses.json").read_text(encoding="utf-8"))


def _engine_with_fired(monkeypatch: pytest.MonkeyPatch, change: Any) -> rsa_rules.Engine:
    """A fresh engine whose durable_rules answer is changed by ``change(fired)``."""
    engine = rsa_rules.Engine()
    real = engine._ruleset.run

    def run(record: Any, **options: Any) -> list[str]:
        return change(list(real(record, **options)))

    monkeypatch.setattr(engine._ruleset, "run", run)
    return engine


def test_a_rule_durable_rules_fires_against_the_trace_fails_evaluate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = _engine_with_fired(monkeypatch, lambda fired: [*fired, "RSA-ACUTE-RH"])
    with pytest.raises(EngineError, match=r"RSA-ACUTE-RH fired but its condition is unknown"):
        engine.evaluate(APS)


def test_a_rule_durable_rules_misses_fails_evaluate(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _engine_with_fired(
        monkeypatch, lambda fired: [name for name in fired if name != "RSA-ANTICOAG-APS"]
    )
    with pytest.raises(EngineError, match=r"RSA-ANTICOAG-APS did not fire but its condition"):
        engine.evaluate(APS)


def test_a_rule_fired_twice_fails_evaluate(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _engine_with_fired(monkeypatch, lambda fired: [*fired, fired[-1]])
    with pytest.raises(EngineError, match=r"fired more than once"):
        engine.evaluate(APS)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_the_recorded_trace_is_the_interpreter_read_of_every_node(path: Path) -> None:
    engine = rsa_rules.default_engine()
    doc = json.loads(path.read_text(encoding="utf-8"))
    evaluation = engine.evaluate(doc)
    trace = evaluation.condition_trace
    plan = engine.trace_plan.plan
    assert trace is not None
    assert len(trace) == len(plan.nodes)
    values = {record.name: record.value for record in evaluation.engine_facts}
    memo: dict[Any, Any] = {}
    for index, node in enumerate(plan.nodes):
        outcome = evaluate(node, values, engine.knowledge.resolve, memo)
        assert TRACE_LETTERS[trace[index]] == (outcome.value, outcome.raw), index


def test_every_rule_outcome_names_its_file_and_line() -> None:
    evaluation = rsa_rules.evaluate(APS)
    root = Path(str(default_knowledge_path()))
    for outcome in evaluation.trace():
        lines = (root / outcome.file).read_text(encoding="utf-8").splitlines()
        assert outcome.rule_id in lines[outcome.line - 1], outcome


def test_a_rebuilt_evaluation_needs_its_trace() -> None:
    dumped = rsa_rules.evaluate(APS).to_dict()
    assert isinstance(dumped["condition_trace"], str)
    without = Evaluation.model_validate({**dumped, "condition_trace": None})
    with pytest.raises(EngineError, match="carries no condition trace"):
        without.why_not("heparin")
    short = Evaluation.model_validate({**dumped, "condition_trace": dumped["condition_trace"][1:]})
    with pytest.raises(EngineError, match="was not produced by that knowledge base"):
        short.trace()


def test_explanations_read_the_trace_not_the_facts() -> None:
    """Explanations come from the recorded outcomes: a rebuilt evaluation whose engine facts
    were edited still explains what was decided, not what the edited facts would give."""
    dumped = rsa_rules.evaluate(APS).to_dict()
    edited = {
        **dumped,
        "engine_facts": [f for f in dumped["engine_facts"] if f["name"] != "loss_count"],
    }
    rebuilt = Evaluation.model_validate(edited)
    assert rebuilt.why_not("heparin-plus-low-dose-aspirin").rules[0].status == "fired"
    assert [t.outcome for t in rebuilt.trace()] == [
        t.outcome for t in Evaluation.model_validate(dumped).trace()
    ]


# -- the semantics, once -----------------------------------------------------------------------


def _shown(value: Any) -> str:
    return "missing" if value is MISSING else repr(value)


def _plan_letters(node: Any, facts: dict[str, Any]) -> str:
    plan = TracePlan([node], lambda ref: Compare("x", "eq", 1))
    return plan.run(facts)[plan.index[node]]


@pytest.mark.parametrize("op", sorted(OPERATORS))
@pytest.mark.parametrize("value", [MISSING, 0, 1, 2], ids=_shown)
def test_the_generated_trace_and_the_interpreter_read_a_comparison_alike(
    op: str, value: Any
) -> None:
    target: Any = (1, 2) if op in ("in", "not_in") else 1
    node = Compare("x", op, target)
    facts = {} if value is MISSING else {"x": value}
    expected = leaf_value(node, value)
    assert evaluate(node, facts, lambda n: n).value is expected
    assert TRACE_LETTERS[_plan_letters(node, facts)][0] is expected


@pytest.mark.parametrize(
    ("a", "b"),
    [(x, y) for x in (MISSING, 0, 1) for y in (MISSING, 0, 1)],
    ids=lambda v: _shown(v),
)
@pytest.mark.parametrize("kind", ["all", "any", "not", "ref", "known"])
@pytest.mark.parametrize("if_unknown", [None, True, False])
def test_the_generated_trace_and_the_interpreter_combine_alike(
    a: Any, b: Any, kind: str, if_unknown: bool | None
) -> None:
    left, right = Compare("a", "eq", 1), Compare("b", "eq", 1)
    node: Any = {
        "all": All((left, right), if_unknown=if_unknown),
        "any": Any_((left, right), if_unknown=if_unknown),
        "not": Not(left, if_unknown=if_unknown),
        "ref": FindingRef("f", if_unknown=if_unknown),
        "known": Known("a", True, if_unknown=if_unknown),
    }[kind]
    facts = {k: v for k, v in (("a", a), ("b", b)) if v is not MISSING}
    outcome = evaluate(node, facts, lambda ref: left)
    plan = TracePlan([node], lambda ref: left)
    assert TRACE_LETTERS[plan.run(facts)[plan.index[node]]] == (outcome.value, outcome.raw)
    assert plan.value(node, plan.run(facts)) in (Tri.TRUE, Tri.FALSE, Tri.UNKNOWN)
    named = Ref("d", if_unknown=if_unknown)

    def resolve(ref: Any) -> Any:
        return node if ref is named else left

    plan = TracePlan([named], resolve)
    assert plan.value(named, plan.run(facts)) is evaluate(named, facts, resolve).value
