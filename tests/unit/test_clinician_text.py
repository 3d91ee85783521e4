"""Text and HTML are written for a clinician: one heading per recommendation, no parameter
names, and "not recorded" said only of what was not recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rsa_rules

from ..conftest import EXAMPLES

DOCUMENTS = sorted(EXAMPLES.glob("*.json"))
APS = json.loads((EXAMPLES / "aps-three-losses.json").read_text(encoding="utf-8"))
UNEXPLAINED = json.loads((EXAMPLES / "unexplained-recurrent-loss.json").read_text(encoding="utf-8"))


def _renderings(evaluation: rsa_rules.Evaluation) -> list[str]:
    answers = [evaluation.why_not(i).to_text() for i in rsa_rules.default_engine().interventions]
    return [evaluation.to_text(), evaluation._repr_html_(), *answers]


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
def test_no_parameter_name_reaches_a_reader(path: Path) -> None:
    evaluation = rsa_rules.evaluate(json.loads(path.read_text(encoding="utf-8")))
    names = list(rsa_rules.default_engine().knowledge.parameters)
    for text in _renderings(evaluation):
        assert "(parameter " not in text
        assert not [name for name in names if name in text]


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
def test_each_recommendation_has_one_heading(path: Path) -> None:
    evaluation = rsa_rules.evaluate(json.loads(path.read_text(encoding="utf-8")))
    lines = evaluation.to_text().splitlines()
    for index, rec in enumerate(evaluation.recommendations, 1):
        flag = f"ALERT ({rec.alert_certainty}): " if rec.alert else ""
        heading = f"{index}. {flag}{rec.summary}"
        at = lines.index(heading)
        assert lines[at + 1].startswith(f"   {rec.action}: {rec.intervention_label}; rule ")
        assert rec.summary not in lines[at + 1]


def test_a_recorded_value_is_never_said_to_be_unrecorded() -> None:
    assert APS["thrombosis_history"] is False
    text = rsa_rules.evaluate(APS).to_text()
    assert "- no history of thrombosis\n" in text
    assert "thrombosis history: no  [thrombosis_history]" in text
    assert "not recorded counts as absent" not in text
    unrecorded = {**APS}
    del unrecorded["thrombosis_history"]
    text = rsa_rules.evaluate(unrecorded).to_text()
    assert "thrombosis history: not recorded (counted as absent)" in text


def test_a_yes_no_condition_that_failed_reads_as_words() -> None:
    answer = rsa_rules.evaluate(UNEXPLAINED).why_not("heparin").to_text()
    assert "(needed: heparin proposed, ordered or active)" in answer
    assert " yes)" not in answer
