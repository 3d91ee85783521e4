"""One cohort record: evaluated into a compact result, its audit rows, the adherence summary."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest

import rsa_rules
from rsa_rules.cohort.frames import cohort_frame
from rsa_rules.cohort.records import (
    ROW_COLUMNS,
    AdherenceSummary,
    CohortResult,
    Record,
    evaluate_record,
    parse_facts_text,
    rows_to_columns,
)

from ..conftest import load_example
from .conftest import BAD_RECORDS, expected_signature, result_signature

APS = load_example("aps-three-losses.json")


@pytest.mark.parametrize("form", ["dict", "facts", "str", "bytes", "record"])
def test_every_form_of_a_record_gives_the_answer_of_evaluate(
    engine: rsa_rules.Engine, form: str
) -> None:
    item: Any = {
        "dict": APS,
        "facts": rsa_rules.PatientFacts.model_validate(APS),
        "str": json.dumps(APS),
        "bytes": json.dumps(APS).encode(),
        "record": Record(json.dumps(APS), 41, "cohort.jsonl"),
    }[form]
    result = evaluate_record(engine, item, 3)
    assert result.ok
    assert result_signature(result) == expected_signature(APS)
    assert result.index == 3
    assert (result.line, result.source) == ((41, "cohort.jsonl") if form == "record" else (4, None))
    assert result.evaluation is None
    assert [r.rule_id for r in result.alerts] == []


@pytest.mark.parametrize(("bad", "field"), BAD_RECORDS)
def test_a_bad_record_gives_an_error_result_naming_the_field(
    engine: rsa_rules.Engine, bad: Any, field: str
) -> None:
    result = evaluate_record(engine, Record(bad, 12, "c.jsonl"), 0)
    assert not result.ok
    assert result.error_kind == "invalid facts"
    assert result.error_field == field
    assert result.problems[0][0] == field
    assert result.error is not None
    assert result.error.startswith(f"{field or '(document)'}: ")
    assert (result.recommendations, result.findings) == ((), ())
    [row] = result.rows()
    row_dict = dict(zip(ROW_COLUMNS, row, strict=True))
    assert row_dict["status"] == "error"
    assert row_dict["error_field"] == field
    assert (row_dict["source"], row_dict["line"]) == ("c.jsonl", 12)
    assert all(row_dict[c] is None for c in ("rank", "rule_id", "action", "alert", "summary"))


def test_an_error_row_keeps_the_patient_id_when_it_can_be_read(engine: rsa_rules.Engine) -> None:
    bad = {"id": "p-7", "age": "old"}
    assert evaluate_record(engine, bad, 0).patient_id == "p-7"
    assert evaluate_record(engine, json.dumps(bad), 0).patient_id == "p-7"
    assert evaluate_record(engine, {"id": 7, "age": "old"}, 0).patient_id is None
    assert evaluate_record(engine, "not json", 0).patient_id is None


def test_several_problems_are_all_listed(engine: rsa_rules.Engine) -> None:
    result = evaluate_record(engine, {"age": "x", "rh": "maybe"}, 0)
    assert [p for p, _ in result.problems] == ["age", "rh"]
    assert result.error is not None
    assert result.error.count("; ") == 1
    assert result.error_field == "age"


def test_an_engine_failure_is_an_error_row_not_a_crash(
    engine: rsa_rules.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(facts: Any, as_of: Any = None) -> Any:
        raise rsa_rules.EngineError("the rules disagree with their explanation")

    monkeypatch.setattr(engine, "evaluate", broken)
    result = evaluate_record(engine, {"id": "p-1"}, 5)
    assert result.error_kind == "engine error"
    assert result.error_field is None
    assert result.patient_id == "p-1"
    assert result.error == "engine error: EngineError: the rules disagree with their explanation"
    summary = AdherenceSummary()
    summary.add(result)
    assert (summary.records, summary.engine_errors, summary.evaluated) == (1, 1, 0)
    assert "engine errors (error rows)" in summary.to_text()
    # Read back from a DataFrame, the missing error field (pd.NA) still marks an engine error.
    assert AdherenceSummary.from_rows(cohort_frame([result])) == summary
    facts = rsa_rules.PatientFacts.model_validate({"id": "p-2"})
    assert evaluate_record(engine, facts, 0).patient_id == "p-2"


def test_explain_keeps_the_whole_evaluation_with_its_explanations(
    engine: rsa_rules.Engine,
) -> None:
    result = evaluate_record(engine, APS, 0, explain=True)
    assert result.evaluation == rsa_rules.evaluate(APS).to_dict()
    assert result.evaluation is not None
    assert result.evaluation["recommendations"][0]["because"]


def test_results_are_small_and_picklable(engine: rsa_rules.Engine) -> None:
    result = evaluate_record(engine, APS, 0)
    assert pickle.loads(pickle.dumps(result)) == result  # noqa: S301 - our own bytes
    assert len(pickle.dumps(result)) < 4_000


def test_rows_one_per_recommendation_ranked_or_one_for_a_patient_with_none(
    engine: rsa_rules.Engine,
) -> None:
    evaluation = rsa_rules.evaluate(APS)
    rows = [dict(zip(ROW_COLUMNS, r, strict=True)) for r in evaluate_record(engine, APS, 0).rows()]
    assert [r["rank"] for r in rows] == list(range(1, len(evaluation.recommendations) + 1))
    for row, rec in zip(rows, evaluation.recommendations, strict=True):
        assert row == {
            "source": None,
            "line": 1,
            "patient_id": "example-aps",
            "status": "recommendation",
            "rank": row["rank"],
            "rule_id": rec.rule_id,
            "rule_version": rec.rule_version,
            "action": rec.action,
            "intervention": rec.intervention,
            "alert": rec.alert,
            "alert_certainty": rec.alert_certainty,
            "summary": rec.summary,
            "error_field": None,
            "error": None,
        }
    [empty] = evaluate_record(engine, {"id": "nobody"}, 9).rows()
    assert empty == (None, 10, "nobody", "no recommendation", *(None,) * 10)


def test_rows_to_columns() -> None:
    assert rows_to_columns([]) == {name: [] for name in ROW_COLUMNS}
    result = CohortResult(0, 1, None, "a")
    assert rows_to_columns([result, result])["patient_id"] == ["a", "a"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1, "a": 2}', "the key 'a' appears twice in one JSON object"),
        ('{"age": Infinity}', "Infinity is not allowed in a facts document"),
        ('{"age": -Infinity}', "-Infinity is not allowed"),
        (
            "{",
            "not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2)",
        ),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"age": ' + "9" * 5_000 + "}", "cannot be read: Exceeds the limit"),
        (b"\xff\xfe{", "not UTF-8 text"),
    ],
)
def test_json_text_is_read_as_strictly_as_the_evaluate_command(text: Any, message: str) -> None:
    with pytest.raises(rsa_rules.FactsError) as caught:
        parse_facts_text(text)
    [(path, problem)] = caught.value.problems
    assert path == ""
    assert message in problem


def _summary_of(engine: rsa_rules.Engine, cohort: list[Any]) -> tuple[AdherenceSummary, list[Any]]:
    summary = AdherenceSummary()
    results = [evaluate_record(engine, item, i) for i, item in enumerate(cohort)]
    for result in results:
        summary.add(result)
    return summary, results


def test_the_summary_counts_patients_per_rule_and_per_alert(
    engine: rsa_rules.Engine, mixed_cohort: list[Any]
) -> None:
    summary, results = _summary_of(engine, mixed_cohort)
    ok = [r for r in results if r.ok]
    assert summary.records == len(mixed_cohort)
    assert summary.invalid == len(BAD_RECORDS)
    assert summary.evaluated == len(ok) == len(mixed_cohort) - len(BAD_RECORDS)
    assert summary.engine_errors == 0
    assert summary.without_recommendation == sum(1 for r in ok if not r.recommendations)
    assert summary.with_alert == sum(1 for r in ok if r.alerts)
    ivig = sum(1 for r in ok if any(x.rule_id == "RSA-IMMUNO-IVIG" for x in r.recommendations))
    assert summary.rules[("RSA-IMMUNO-IVIG", "avoid", "ivig")] == ivig
    ivig_alerts = sum(1 for r in ok if any(x.intervention == "ivig" for x in r.alerts))
    assert summary.alerts[("RSA-IMMUNO-IVIG", "ivig")] == ivig_alerts > 0
    table = summary.rule_table()
    assert [row[3] for row in table] == sorted((row[3] for row in table), reverse=True)
    assert table[0][4] == pytest.approx(100 * table[0][3] / summary.evaluated)


def test_the_summary_from_rows_equals_the_summary_from_results(
    engine: rsa_rules.Engine, mixed_cohort: list[Any]
) -> None:
    summary, results = _summary_of(engine, mixed_cohort)
    assert AdherenceSummary.from_rows(rows_to_columns(results)) == summary
    half = len(results) // 2
    merged = AdherenceSummary.from_rows(rows_to_columns(results[:half])).merge(
        AdherenceSummary.from_rows(rows_to_columns(results[half:]))
    )
    assert merged == summary


def test_the_summary_from_rows_counts_engine_errors() -> None:
    failed = CohortResult(0, 1, None, None, error_kind="engine error", error="engine error: x")
    summary = AdherenceSummary.from_rows(rows_to_columns([failed]))
    assert (summary.records, summary.engine_errors, summary.invalid) == (1, 1, 0)


def test_the_summary_as_text(engine: rsa_rules.Engine, mixed_cohort: list[Any]) -> None:
    summary, _ = _summary_of(engine, mixed_cohort)
    text = summary.to_text()
    lines = text.splitlines()
    assert lines[0] == f"Adherence summary: {summary.records:,} records"
    assert "invalid facts (error rows)" in text
    assert "engine errors" not in text
    assert f"Recommendations per rule (patients; % of {summary.evaluated:,} evaluated)" in lines
    rule, action, intervention, count, share = summary.rule_table()[0]
    assert any(
        line.split() == [rule, action, intervention, f"{count:,}", f"{share:.1f}"] for line in lines
    )
    alert_rule, alert_intervention, alert_count, alert_share = summary.alert_table()[0]
    assert any(
        line.split() == [alert_rule, alert_intervention, f"{alert_count:,}", f"{alert_share:.1f}"]
        for line in lines
    )


def test_an_empty_summary_says_so() -> None:
    summary = AdherenceSummary()
    assert summary.percent(0) == 0.0
    text = summary.to_text()
    assert text.count("  (none)") == 2
    rules, alerts = summary.to_frames()
    assert (len(rules), len(alerts)) == (0, 0)


def test_the_summary_as_frames(engine: rsa_rules.Engine, mixed_cohort: list[Any]) -> None:
    summary, _ = _summary_of(engine, mixed_cohort)
    rules, alerts = summary.to_frames()
    assert list(rules.columns) == ["rule_id", "action", "intervention", "patients", "percent"]
    assert list(alerts.columns) == ["rule_id", "intervention", "patients", "percent"]
    assert rules["patients"].sum() == sum(summary.rules.values())
    assert alerts["patients"].sum() == sum(summary.alerts.values())


def test_cohort_rows_are_the_evaluation_values() -> None:
    """A cohort record's rows are the values of the same evaluation the API returns."""
    from rsa_rules.cohort.records import CohortResult, evaluate_record

    from ..conftest import EXAMPLES

    engine = rsa_rules.default_engine()
    for path in sorted(EXAMPLES.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        evaluation = engine.evaluate(doc)
        result = evaluate_record(engine, doc, 0)
        assert result == CohortResult.of(evaluation, 0, 1, None)
        assert [tuple(row) for row in result.recommendations] == [
            (
                r.rule_id,
                r.rule_version,
                r.action,
                r.intervention,
                r.alert,
                r.alert_certainty,
                r.summary,
            )
            for r in evaluation.recommendations
        ]
        assert [tuple(row) for row in result.findings] == [
            (f.id, f.rule_id, f.value) for f in evaluation.findings
        ]
