"""The engine speaks only to the patients and orders it is about (clinical specification
5.1 to 5.3): treatment reasons, alert certainty, reproductive age, the evaluation date."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import rsa_rules
import rsa_rules.knowledge.lint
from rsa_rules.cli import main
from rsa_rules.errors import FactsError, KnowledgeError
from rsa_rules.models.results import Citation

RULES = Path(__file__).resolve().parents[2] / "rules"
THREE = {"age": 31, "pregnancy_history": {"loss_count": 3}}
UNEXPLAINED = {
    **THREE,
    "antiphospholipid": {"diagnosis": "excluded"},
}


def _with(doc: dict[str, Any], *treatments: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "treatments": list(treatments)}


def _engine_facts(doc: dict[str, Any]) -> dict[str, Any]:
    engine = rsa_rules.default_engine()
    return {
        k: f.value for k, f in engine.derive(rsa_rules.PatientFacts.model_validate(doc)).items()
    }


# -- reasons ------------------------------------------------------------------------------
def test_the_entry_most_in_context_gives_the_reason() -> None:
    values = _engine_facts(
        _with(
            THREE,
            {"intervention": "heparin", "status": "active", "reason": "other"},
            {"intervention": "heparin", "status": "ordered"},
            {"intervention": "low-dose-aspirin", "status": "completed", "reason": "other"},
            {"intervention": "ivig", "status": "proposed", "reason": "recurrent-pregnancy-loss"},
            {"intervention": "ivig", "status": "ordered", "reason": "other"},
        )
    )
    assert values["reason_heparin"] == "not-stated"
    assert values["reason_ivig"] == "recurrent-pregnancy-loss"
    assert "reason_low_dose_aspirin" not in values  # completed: not under way, reason unknown
    assert values["current_low_dose_aspirin"] is False
    assert values["reason_heparin_or_aspirin"] == "not-stated"
    assert values["current_heparin_or_aspirin"] is True


def test_no_treatments_list_means_no_reason_and_no_current_fact() -> None:
    values = _engine_facts(THREE)
    assert not any(name.startswith(("reason_", "current_")) for name in values)


def test_a_stated_other_reason_removes_the_avoid_and_why_not_says_so() -> None:
    doc = _with(
        UNEXPLAINED, {"intervention": "low-dose-aspirin", "status": "ordered", "reason": "other"}
    )
    evaluation = rsa_rules.evaluate(doc)
    assert not [r for r in evaluation.recommendations if r.intervention == "low-dose-aspirin"]
    answer = evaluation.why_not("low-dose-aspirin")
    check = next(c for c in answer.rules if c.rule_id == "RSA-ANTICOAG-UNEXPLAINED")
    assert check.status == "blocked"
    assert check.note is not None
    assert "stays out of other indications" in check.note
    assert "stays out of other indications" in answer.to_text()
    assert [leaf.id for r in check.reasons for leaf in r.leaves()] == ["reason_low_dose_aspirin"]
    # the advice against the combination, which is not ordered, stands
    assert any(
        r.intervention == "heparin-plus-low-dose-aspirin" and r.action == "avoid"
        for r in evaluation.recommendations
    )


@pytest.mark.parametrize(
    ("reason", "certainty", "indicator"),
    [("recurrent-pregnancy-loss", "stated", "warning"), (None, "inferred", "info")],
)
def test_alert_certainty_reaches_text_json_frames_and_cards(
    reason: str | None, certainty: str, indicator: str
) -> None:
    entry: dict[str, Any] = {"intervention": "heparin", "status": "ordered"}
    if reason:
        entry["reason"] = reason
    evaluation = rsa_rules.evaluate(_with(THREE, entry))
    alert = evaluation.alerts[0]
    assert (alert.rule_id, alert.alert_certainty) == ("RSA-ANTICOAG-ALERT-HEPARIN", certainty)
    assert alert.summary.startswith("If this is to prevent miscarriage: ") == (not reason)
    assert f"ALERT ({certainty}): " in evaluation.to_text()
    assert "avoid: heparin;" in evaluation.to_text()
    assert evaluation.to_dict()["recommendations"][0]["alert_certainty"] == certainty
    cards = evaluation.to_cds_cards()
    assert cards[0]["indicator"] == indicator
    assert cards[0]["overrideReasons"]
    frame = evaluation.to_frame()
    assert frame.loc[0, "alert_certainty"] == certainty
    assert frame["alert_certainty"].isna().sum() == len(frame) - 1
    assert f"ALERT ({certainty})" in evaluation._repr_html_()


def test_lymphocyte_immunotherapy_is_alerted_whatever_the_reason() -> None:
    for reason in ("other", "recurrent-pregnancy-loss", None):
        entry: dict[str, Any] = {"intervention": "lymphocyte-immunotherapy", "status": "proposed"}
        if reason:
            entry["reason"] = reason
        evaluation = rsa_rules.evaluate({"age": 70, "treatments": [entry]})
        [alert] = evaluation.alerts
        assert alert.alert_certainty == (
            "stated" if reason == "recurrent-pregnancy-loss" else "inferred"
        )
        assert not alert.summary.startswith("If this is")  # no other indication to allow for


# -- reproductive age ---------------------------------------------------------------------
@pytest.mark.parametrize(("age", "gated"), [(0, False), (55, False), (56, True), (120, True)])
def test_next_pregnancy_advice_needs_reproductive_age(age: int, gated: bool) -> None:
    evaluation = rsa_rules.evaluate({**THREE, "age": age})
    ids = {r.rule_id for r in evaluation.recommendations}
    assert ("RSA-WORKUP-THYROID" not in ids) == gated
    assert ("RSA-SUPPORT-PRENATAL" not in ids) == gated
    assert "RSA-IMMUNO-IVIG" in ids  # advice against a treatment is never gated
    assert (evaluation.finding("reproductive-age") is None) == gated


def test_an_unknown_age_is_reproductive_age_and_explained() -> None:
    finding = rsa_rules.evaluate(THREE).finding("reproductive-age")
    assert finding is not None
    assert "endocrine-menopause" in {c.id for c in finding.citations}


# -- the evaluation date ------------------------------------------------------------------
FUTURE = {
    "antiphospholipid": {
        "results": [{"test": "lupus-anticoagulant", "date": "2026-03-02", "result": "positive"}]
    },
    "pregnancy_history": {"losses": [{"kind": "miscarriage", "date": "2026-03-01"}]},
}


def test_a_date_after_the_evaluation_date_is_an_error_naming_its_field() -> None:
    with pytest.raises(FactsError) as caught:
        rsa_rules.evaluate(FUTURE, as_of=dt.date(2026, 2, 28))
    paths = [path for path, _ in caught.value.problems]
    assert paths == ["pregnancy_history.losses.0.date", "antiphospholipid.results.0.date"]
    assert "after the evaluation date 2026-02-28" in str(caught.value)
    assert rsa_rules.evaluate(FUTURE, as_of=dt.date(2026, 3, 2)).patient_id is None
    facts = rsa_rules.PatientFacts.model_validate(FUTURE)
    with pytest.raises(FactsError):
        rsa_rules.Engine().evaluate(facts, as_of=dt.date(2026, 3, 1))


def test_the_default_evaluation_date_is_today() -> None:
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    doc = {"pregnancy_history": {"losses": [{"date": tomorrow}]}}
    with pytest.raises(FactsError, match=r"pregnancy_history\.losses\.0\.date"):
        rsa_rules.evaluate(doc)


@pytest.mark.parametrize("bad", ["2026-03-01", dt.datetime(2026, 3, 1)])
def test_as_of_must_be_a_date(bad: Any) -> None:
    with pytest.raises(TypeError, match="as_of"):
        rsa_rules.evaluate({}, as_of=bad)


def test_evaluate_many_names_the_future_date_in_an_error_row() -> None:
    results = list(rsa_rules.evaluate_many([FUTURE, {}], as_of=dt.date(2026, 1, 1)))
    assert results[0].error_field == "pregnancy_history.losses.0.date"
    assert results[1].ok


def test_the_command_line_takes_as_of(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(FUTURE), encoding="utf-8")
    assert main(["evaluate", str(path), "--as-of", "2026-03-05"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(path), "--as-of", "2026-02-01"]) == 2
    err = capsys.readouterr().err
    assert "pregnancy_history.losses.0.date" in err
    assert "Traceback" not in err


def test_a_malformed_as_of_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "facts.json"
    path.write_text("{}", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", str(path), "--as-of", "1 March"])
    assert exit_.value.code == 2
    assert "is not a date in the form YYYY-MM-DD" in capsys.readouterr().err


# -- data notes ---------------------------------------------------------------------------
def test_a_kind_contradicted_by_the_weeks_is_a_data_note() -> None:
    doc = {"pregnancy_history": {"losses": [{"gestational_weeks": 9, "kind": "fetal-death"}]}}
    evaluation = rsa_rules.evaluate(doc)
    [note] = evaluation.data_notes
    assert note.path == "pregnancy_history.losses.0"
    assert "not a fetal death" in note.note
    assert "Data notes:" in evaluation.to_text()
    assert "Data notes" in evaluation._repr_html_()


def test_an_undated_source_is_shown_as_undated() -> None:
    citation = Citation(id="x", title="A page", note="n")
    assert citation.dated_title == "A page (undated)"


# -- the knowledge base's own checks ------------------------------------------------------
def _copy(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules, ignore=shutil.ignore_patterns("__pycache__"))
    return rules


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_generated_fact_written_in_facts_yaml_is_refused(tmp_path: Path) -> None:
    rules = _copy(tmp_path)
    _edit(
        rules / "facts.yaml",
        "facts:\n",
        "facts:\n  - {name: reason_ivig, type: text, label: x, description: x}\n",
    )
    with pytest.raises(KnowledgeError, match="generated from the vocabulary"):
        rsa_rules.load_knowledge(rules)


def test_an_intervention_group_names_only_interventions(tmp_path: Path) -> None:
    rules = _copy(tmp_path)
    _edit(
        rules / "vocabulary.yaml",
        "interventions: [heparin-plus-low-dose-aspirin,",
        "interventions: [heparn,",
    )
    with pytest.raises(KnowledgeError, match="'heparn' is not an intervention"):
        rsa_rules.load_knowledge(rules)


def test_an_avoid_summary_leaves_room_for_the_conditional_wording(tmp_path: Path) -> None:
    rules = _copy(tmp_path)
    _edit(
        rules / "immunotherapy.yaml",
        'summary: "Avoid IVIg:',
        'summary: "Avoid IVIg now, whatever the dose:',
    )
    with pytest.raises(KnowledgeError, match="too long to be worded conditionally"):
        rsa_rules.load_knowledge(rules)


# -- the lint's proof covers the new dimensions ---------------------------------------------
_CONSIDER = """
  - id: RSA-IMMUNO-TEST-{n}
    kind: recommendation
    version: 1
    title: A contradicting rule (test only)
    condition_text: test only
    when: {when}
    then:
      - action: consider
        intervention: {intervention}
        summary: "Consider it (test only)"
    citations:
      - {{source: wong-2014, note: test only}}
    evidence: {{grade: test only}}
"""


@pytest.mark.parametrize(
    ("intervention", "when", "fact", "value"),
    [
        ("ivig", "{fact: age, gte: 56}", "age", 56),
        ("heparin", "{fact: reason_heparin, eq: not-stated}", "reason_heparin", "not-stated"),
        (
            "low-dose-aspirin",
            "{fact: reason_heparin_or_aspirin, eq: recurrent-pregnancy-loss}",
            "reason_low_dose_aspirin",
            "recurrent-pregnancy-loss",
        ),
    ],
)
def test_the_lint_finds_opposite_actions_along_reason_and_age(
    tmp_path: Path, intervention: str, when: str, fact: str, value: Any
) -> None:
    rules = _copy(tmp_path)
    path = rules / "immunotherapy.yaml"
    path.write_text(
        path.read_text(encoding="utf-8")
        + _CONSIDER.format(n=1, when=when, intervention=intervention),
        encoding="utf-8",
    )
    report = rsa_rules.knowledge.lint.lint_knowledge(rules)
    assert not report.ok
    kb = rsa_rules.load_knowledge(rules)
    added = kb.rules_by_id["RSA-IMMUNO-TEST-1"]
    witnesses = [
        witness
        for rule in kb.rules
        if any(o.action == "avoid" and o.intervention == intervention for o in rule.spec.then)
        for witness in [rsa_rules.knowledge.lint.opposite_action_witness(kb, added, rule)]
        if witness is not None
    ]
    assert witnesses
    assert any(w.get(fact) == value for w in witnesses), witnesses
