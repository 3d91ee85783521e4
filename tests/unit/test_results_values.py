"""Evaluations are values: JSON and pickle give the same evaluation back, explanations,
engine facts, trace and why-not included; what cannot be answered says why."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest

import rsa_rules
from rsa_rules import EngineError, Evaluation
from rsa_rules.models.results import Recommendation

from ..conftest import EXAMPLES
from .test_knowledge_errors import copy_rules, edit

DOCUMENTS = sorted(EXAMPLES.glob("*.json"))


def _answers(evaluation: Evaluation) -> list[dict[str, Any]]:
    return [
        evaluation.why_not(i).model_dump(mode="json")
        for i in rsa_rules.default_engine().interventions
    ]


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
def test_json_and_pickle_give_the_same_evaluation_back(path: Path) -> None:
    evaluation = rsa_rules.evaluate(json.loads(path.read_text(encoding="utf-8")))
    dumped = evaluation.to_dict()
    assert dumped["engine_facts"], "the engine facts are part of the evaluation's data"
    names = [fact["name"] for fact in dumped["engine_facts"]]
    assert names == sorted(names)
    answers = _answers(evaluation)
    for copy in (
        Evaluation.model_validate(dumped),
        Evaluation.model_validate_json(evaluation.to_json()),
        pickle.loads(pickle.dumps(evaluation)),  # noqa: S301 - our own bytes,
    ):
        assert copy.to_dict() == dumped
        assert copy.to_text() == evaluation.to_text()
        assert copy.trace() == evaluation.trace()
        assert _answers(copy) == answers
        for before, after in zip(evaluation.recommendations, copy.recommendations, strict=True):
            assert after.because == before.because
            assert after.because  # never silently empty


def test_a_single_result_pickles_as_its_value() -> None:
    evaluation = rsa_rules.evaluate(json.loads((EXAMPLES / "aps-three-losses.json").read_text()))
    first = evaluation.recommendations[0]
    copy = pickle.loads(pickle.dumps(first))  # noqa: S301 - our own bytes
    assert isinstance(copy, Recommendation)
    assert copy.model_dump(mode="json") == first.model_dump(mode="json")


def test_a_rebuilt_evaluation_needs_the_knowledge_base_that_produced_it(tmp_path: Path) -> None:
    root = copy_rules(tmp_path)
    edit(root, "pack.yaml", "version: ", "version: 9")  # another knowledge base, another digest
    engine = rsa_rules.Engine(root)
    doc = json.loads((EXAMPLES / "aps-three-losses.json").read_text())
    evaluation = engine.evaluate(doc)
    dumped = evaluation.to_dict()
    rebuilt = Evaluation.model_validate(dumped)
    assert _answers(rebuilt) == _answers(evaluation)  # its engine is loaded in this process

    unknown = {**dumped, "knowledge": {**dumped["knowledge"], "digest": "0" * 64}}
    stranger = Evaluation.model_validate(unknown)
    assert stranger.to_dict() == unknown  # its data is all there
    with pytest.raises(EngineError, match=r"knowledge base rsa-default 9.* not loaded"):
        stranger.why_not("ivig")


def test_an_evaluation_without_engine_facts_says_why_it_cannot_answer() -> None:
    dumped = rsa_rules.evaluate({"age": 30}).to_dict()
    del dumped["engine_facts"]
    bare = Evaluation.model_validate(dumped)
    assert (
        bare.undetermined_findings
        == Evaluation.model_validate(
            rsa_rules.evaluate({"age": 30}).to_dict()
        ).undetermined_findings
    )
    with pytest.raises(EngineError, match="carries no engine facts"):
        bare.why_not("ivig")
    with pytest.raises(EngineError, match="carries no engine facts"):
        bare.trace()


def _without_uuids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_uuids(v) for k, v in value.items() if k != "uuid"}
    if isinstance(value, list):
        return [_without_uuids(v) for v in value]
    return value


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
def test_a_rebuilt_evaluation_renders_as_the_live_one(path: Path) -> None:
    evaluation = rsa_rules.evaluate(json.loads(path.read_text(encoding="utf-8")))
    rebuilt = Evaluation.model_validate_json(evaluation.to_json())
    assert _without_uuids(rebuilt.to_cds_cards()) == _without_uuids(evaluation.to_cds_cards())
    assert rebuilt._repr_html_() == evaluation._repr_html_()
    assert rebuilt.to_text() == evaluation.to_text()
