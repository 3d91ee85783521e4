"""Properties that hold for every valid patient (Hypothesis)."""

from __future__ import annotations

import pickle
import random
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rsa_rules
from rsa_rules.engine import validate_facts
from rsa_rules.knowledge.compiler import alert_condition, alert_interventions
from rsa_rules.knowledge.conditions import TRACE_LETTERS, Tri, evaluate

from ..strategies import patient

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_LISTS = {
    "pregnancy_history.losses": ("pregnancy_history", "losses"),
    "antiphospholipid.results": ("antiphospholipid", "results"),
    "treatments": (None, "treatments"),
}


@SETTINGS
@given(patient())
def test_any_valid_document_evaluates(doc: dict[str, Any]) -> None:
    evaluation = rsa_rules.evaluate(doc)
    dumped = evaluation.to_dict()  # builds every explanation, checking it against what fired
    assert dumped["knowledge"]["name"] == "rsa-default"
    for rec in evaluation.recommendations:
        assert rec.citations
        assert len(rec.summary) < 140
    assert evaluation.to_text()


def _shuffle(
    doc: dict[str, Any], rng: random.Random
) -> tuple[dict[str, Any], dict[str, list[int]]]:
    """A copy with every list shuffled, and for each list where each item came from."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in doc.items()}
    moved: dict[str, list[int]] = {}
    for prefix, (parent, key) in _LISTS.items():
        holder = out.get(parent) if parent else out
        if not isinstance(holder, dict) or not isinstance(holder.get(key), list):
            continue
        order = list(range(len(holder[key])))
        rng.shuffle(order)
        holder[key] = [holder[key][i] for i in order]
        moved[prefix] = order
    pregnancy = out.get("current_pregnancy")
    if isinstance(pregnancy, dict) and isinstance(pregnancy.get("symptoms"), list):
        symptoms = list(pregnancy["symptoms"])
        rng.shuffle(symptoms)
        out["current_pregnancy"] = {**pregnancy, "symptoms": symptoms}
    return out, moved


def _canonical(value: Any, moved: dict[str, list[int]]) -> Any:
    """Input paths mapped back to the original list positions, path lists and data notes sorted."""
    if isinstance(value, dict):
        out = {k: _canonical(v, moved) for k, v in value.items()}
        if isinstance(out.get("data_notes"), list):  # one note per input item, in input order
            out["data_notes"] = sorted(out["data_notes"], key=lambda n: (n["path"], n["note"]))
        return out
    if isinstance(value, list):
        items = [_canonical(v, moved) for v in value]
        if items and all(isinstance(i, str) for i in items):
            return sorted(items)
        return items
    if isinstance(value, str):
        for prefix, order in moved.items():
            pattern = re.compile(re.escape(prefix) + r"\.(\d+)")
            value = pattern.sub(lambda m, o=order, p=prefix: f"{p}.{o[int(m.group(1))]}", value)
        return value
    return value


@SETTINGS
@given(patient(), st.randoms(use_true_random=False))
def test_list_order_never_changes_the_result(doc: dict[str, Any], rng: random.Random) -> None:
    shuffled, moved = _shuffle(doc, rng)
    expected = _canonical(rsa_rules.evaluate(doc).to_dict(), {})
    actual = _canonical(rsa_rules.evaluate(shuffled).to_dict(), moved)
    assert actual == expected


@SETTINGS
@given(patient())
def test_why_not_and_the_python_reading_agree_with_durable_rules(doc: dict[str, Any]) -> None:
    engine = rsa_rules.default_engine()
    kb = engine.knowledge
    derived = engine.derive(validate_facts(doc))
    values = {name: fact.value for name, fact in derived.items()}
    fired = engine.run_rules(derived)
    memo: dict[Any, Any] = {}
    for rule in kb.rules:
        if rule.kind == "caution":
            continue
        holds = evaluate(rule.condition, values, kb.resolve, memo).value is Tri.TRUE
        assert holds == (rule.id in fired), rule.id
        for intervention in alert_interventions(kb, rule):
            alert_when = alert_condition(rule, intervention)
            alert = evaluate(alert_when, values, kb.resolve, memo).value is Tri.TRUE
            assert alert == (f"{rule.id}#alert:{intervention}" in fired), rule.id
    evaluation = engine.evaluate(doc)
    # The recorded trace is the interpreter's reading of every node, if_unknown included.
    trace = evaluation.condition_trace
    assert trace is not None
    for index, node in enumerate(engine.trace_plan.plan.nodes):
        outcome = evaluate(node, values, kb.resolve, memo)
        assert TRACE_LETTERS[trace[index]] == (outcome.value, outcome.raw), index
    for intervention in kb.interventions:
        answer = evaluation.why_not(intervention)
        for check in answer.rules:
            # A rule that fired but stays out of another stated indication is "blocked" for
            # that treatment, with a note saying so.
            out_of_scope = check.status == "blocked" and check.note is not None
            assert (check.status == "fired" or out_of_scope) == (check.rule_id in fired)
            if check.status in ("not met", "unknown"):
                assert check.reasons, check.rule_id
            if check.status == "unknown":
                assert check.unknown, check.rule_id
        given_ = {r.rule_id for r in answer.produced}
        assert given_ == {c.rule_id for c in answer.rules if c.status == "fired"}


@settings(max_examples=150, deadline=None)
@given(patient())
def test_both_durable_dispatch_paths_fire_the_same_rules(doc: dict[str, Any]) -> None:
    engine = rsa_rules.default_engine()
    derived = engine.derive(validate_facts(doc))
    assert engine.run_rules(derived, dispatch="host") == engine.run_rules(derived)


def _match(expression: dict[str, Any], fact: dict[str, Any]) -> bool:
    """An independent reading of a compiled durable_rules expression over one fact."""
    (op, arg), *more = expression.items()
    if more:  # pragma: no cover - the compiler writes one operator per mapping
        raise AssertionError(expression)
    if op == "$and":
        return all(_match(part, fact) for part in arg)
    if op == "$or":
        return any(_match(part, fact) for part in arg)
    if op in ("$ex", "$nex"):
        (name,) = arg
        return (name in fact) == (op == "$ex")
    if not op.startswith("$"):
        return op in fact and fact[op] == arg
    ((name, value),) = arg.items()
    if name not in fact:
        return False  # durable_rules: a comparison on a missing key never matches
    left = fact[name]
    return {
        "$neq": lambda: left != value,
        "$lt": lambda: left < value,
        "$lte": lambda: left <= value,
        "$gt": lambda: left > value,
        "$gte": lambda: left >= value,
    }[op]()


@SETTINGS
@given(patient())
def test_the_compiled_ruleset_read_independently_fires_what_durable_rules_fires(
    doc: dict[str, Any],
) -> None:
    from rsa_rules.knowledge.compiler import FACT_MARKER, encode_record

    engine = rsa_rules.default_engine()
    derived = engine.derive(validate_facts(doc))
    record = encode_record(engine.knowledge, {k: f.value for k, f in derived.items()})
    fired = engine.run_rules(derived)
    expected: list[str] = []
    outputs: dict[str, str] = {}
    for stratum in engine.compiled.strata:
        fact = {**record, **outputs, FACT_MARKER: stratum.marker}
        here = [
            name
            for name in stratum.rules
            if _match(engine.compiled.ruleset[name]["all"][0]["m"], fact)
        ]
        expected.extend(here)
        for name, derived_fact in stratum.outputs.items():
            outputs[derived_fact] = "yes" if name in here else "no"
    assert sorted(fired) == sorted(expected)


# Treatments given for other indications too (clinical specification 5.1).
_OTHER_INDICATIONS = ("heparin", "low-dose-aspirin", "heparin-plus-low-dose-aspirin", "ivig")


def _about(evaluation: rsa_rules.Evaluation, intervention: str) -> set[tuple[str, str, bool]]:
    return {
        (rec.rule_id, rec.action, rec.alert)
        for rec in evaluation.recommendations
        if rec.intervention == intervention
    }


@SETTINGS
@given(
    patient(),
    st.sampled_from(_OTHER_INDICATIONS),
    st.sampled_from(["proposed", "ordered", "active", "completed"]),
)
def test_a_stated_other_reason_never_adds_advice_on_that_treatment(
    doc: dict[str, Any], intervention: str, status: str
) -> None:
    treatments = [t for t in doc.get("treatments") or [] if t["intervention"] != intervention]
    before = {**doc, "treatments": [*treatments, {"intervention": intervention, "status": status}]}
    after = {
        **doc,
        "treatments": [
            *treatments,
            {"intervention": intervention, "status": status, "reason": "other"},
        ],
    }
    added = _about(rsa_rules.evaluate(after), intervention) - _about(
        rsa_rules.evaluate(before), intervention
    )
    assert not added, f"reason other added {added} on {intervention} for {after}"
    if status != "completed":  # a completed treatment is not under way: its reason is moot
        assert not any(
            rec.action == "avoid" and rec.intervention == intervention
            for rec in rsa_rules.evaluate(after).recommendations
        ), "an avoid of a treatment under way for another indication"


@SETTINGS
@given(patient())
def test_alert_certainty_follows_the_stated_reason(doc: dict[str, Any]) -> None:
    evaluation = rsa_rules.evaluate(doc)
    for rec in evaluation.recommendations:
        if not rec.alert:
            assert rec.alert_certainty is None, rec.rule_id
            continue
        reasons = {
            t.get("reason")
            for t in doc.get("treatments") or []
            if t["intervention"] == rec.intervention and t["status"] != "completed"
        }
        stated = "recurrent-pregnancy-loss" in reasons
        assert rec.alert_certainty == ("stated" if stated else "inferred"), (rec.rule_id, doc)


def _dumped_answers(evaluation: rsa_rules.Evaluation, interventions: Any) -> list[Any]:
    return [evaluation.why_not(i).model_dump(mode="json") for i in interventions]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patient())
def test_an_evaluation_is_a_value_its_trace_agrees_with_what_fired(doc: dict[str, Any]) -> None:
    """The trace's true rules are exactly the rules durable_rules fired, and the JSON and
    pickle round trips give the same evaluation: its dump, its trace and every why-not."""
    engine = rsa_rules.default_engine()
    evaluation = engine.evaluate(doc)
    trace = evaluation.trace()
    ran = [r.id for r in engine.knowledge.rules if r.kind != "caution"]
    assert [t.rule_id for t in trace] == ran
    fired = {name for name in evaluation.fired_rules if "#" not in name and name in ran}
    assert {t.rule_id for t in trace if t.outcome == "true"} == fired
    assert all(t.fired == (t.outcome == "true") for t in trace)

    dumped = evaluation.to_dict()
    interventions = list(engine.knowledge.interventions)
    answers = _dumped_answers(evaluation, interventions)
    rebuilt = rsa_rules.Evaluation.model_validate_json(evaluation.to_json())
    unpickled = pickle.loads(pickle.dumps(evaluation))  # noqa: S301 - our own bytes
    for copy in (rebuilt, unpickled):
        assert copy.to_dict() == dumped
        assert copy.trace() == trace
        assert _dumped_answers(copy, interventions) == answers
