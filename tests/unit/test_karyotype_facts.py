"""Fetal karyotype results: unbalanced structural (abnormal, explains the loss), failed."""

from __future__ import annotations

from typing import Any

import pytest

import rsa_rules
from rsa_rules.engine import validate_facts
from rsa_rules.engine.facts import EngineFact


def derived(losses: list[dict[str, Any]], **history: Any) -> dict[str, EngineFact]:
    doc = {"pregnancy_history": {"losses": losses, **history}}
    return rsa_rules.default_engine().derive(validate_facts(doc))


def value(facts: dict[str, EngineFact], name: str) -> Any:
    fact = facts.get(name)
    return None if fact is None else fact.value


@pytest.mark.parametrize("karyotype", ["normal", "abnormal", "unbalanced-structural", "failed"])
def test_every_tissue_result_is_accepted(karyotype: str) -> None:
    facts = validate_facts({"pregnancy_history": {"losses": [{"fetal_karyotype": karyotype}]}})
    assert facts.pregnancy_history is not None
    assert facts.pregnancy_history.losses is not None
    assert facts.pregnancy_history.losses[0].fetal_karyotype == karyotype


def test_an_unknown_tissue_result_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"pregnancy_history\.losses\.0\.fetal_karyotype"):
        validate_facts({"pregnancy_history": {"losses": [{"fetal_karyotype": "unbalanced"}]}})


def test_an_unbalanced_structural_abnormality_explains_the_loss() -> None:
    facts = derived(
        [
            {"gestational_weeks": 7, "fetal_karyotype": "unbalanced-structural"},
            {"gestational_weeks": 8},
            {
                "gestational_weeks": 12,
                "kind": "fetal-death",
                "fetal_karyotype": "unbalanced-structural",
            },
        ]
    )
    assert value(facts, "counted_losses") == 3
    assert value(facts, "early_unexplained_losses") == 1
    assert value(facts, "fetal_deaths_unexplained") == 0
    assert "2 with an abnormal fetal karyotype (explained, not counted)" in (
        facts["early_unexplained_losses"].text
    )


def test_a_failed_tissue_karyotype_explains_nothing() -> None:
    facts = derived(
        [
            {"gestational_weeks": 7, "fetal_karyotype": "failed"},
            {"gestational_weeks": 12, "kind": "fetal-death", "fetal_karyotype": "failed"},
        ]
    )
    assert value(facts, "early_unexplained_losses") == 1
    assert value(facts, "fetal_deaths_unexplained") == 1


def test_losses_by_tissue_result_are_counted_with_their_inputs() -> None:
    facts = derived(
        [
            {"gestational_weeks": 7, "fetal_karyotype": "failed"},
            {"gestational_weeks": 9, "fetal_karyotype": "unbalanced-structural"},
            {"gestational_weeks": 6},
        ]
    )
    unbalanced = facts["unbalanced_structural_losses"]
    assert unbalanced.value == 1
    assert unbalanced.paths == ("pregnancy_history.losses.1.fetal_karyotype",)
    assert unbalanced.text == (
        "1 loss with an unbalanced structural chromosomal abnormality in the pregnancy tissue"
        " (9 weeks)"
    )
    failed = facts["failed_karyotype_losses"]
    assert failed.value == 1
    assert failed.paths == ("pregnancy_history.losses.0.fetal_karyotype",)
    assert failed.text == "1 loss whose tissue karyotype failed (no result) (7 weeks)"


def test_none_is_unknown_while_a_loss_has_no_karyotype_recorded() -> None:
    facts = derived([{"gestational_weeks": 7, "fetal_karyotype": "normal"}, {}])
    assert "unbalanced_structural_losses" not in facts
    assert "failed_karyotype_losses" not in facts


def test_none_is_unknown_while_losses_are_counted_but_not_listed() -> None:
    facts = derived([{"fetal_karyotype": "normal"}], loss_count=3)
    assert "unbalanced_structural_losses" not in facts
    assert "failed_karyotype_losses" not in facts


def test_none_is_known_when_every_counted_loss_has_a_karyotype() -> None:
    facts = derived(
        [
            {"gestational_weeks": 7, "fetal_karyotype": "normal"},
            {"gestational_weeks": 8, "fetal_karyotype": "abnormal"},
            {"kind": "ectopic"},  # not counted, so its missing karyotype does not matter
        ]
    )
    assert value(facts, "unbalanced_structural_losses") == 0
    assert value(facts, "failed_karyotype_losses") == 0
    assert facts["failed_karyotype_losses"].paths == (
        "pregnancy_history.losses.0.fetal_karyotype",
        "pregnancy_history.losses.1.fetal_karyotype",
    )
    assert facts["failed_karyotype_losses"].text == (
        "0 losses whose tissue karyotype failed (no result)"
    )


def test_no_losses_means_none_of_either() -> None:
    facts = derived([])
    assert value(facts, "unbalanced_structural_losses") == 0
    assert facts["unbalanced_structural_losses"].paths == ("pregnancy_history",)


def test_a_current_miscarriage_has_no_karyotype_yet() -> None:
    doc = {
        "pregnancy_history": {"losses": [{"fetal_karyotype": "normal"}]},
        "current_miscarriage": {"gestational_weeks": 8},
    }
    facts = rsa_rules.default_engine().derive(validate_facts(doc))
    assert "unbalanced_structural_losses" not in facts
