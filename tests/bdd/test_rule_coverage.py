"""Every rule in rules/ has a scenario tagged with its id, and every tag names a rule."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rsa_rules.bdd.coverage import TaggedScenario, check_coverage, read_scenarios, rule_tags
from rsa_rules.bdd.vocabulary import rule_tag
from rsa_rules.knowledge.loader import KnowledgeBase, load_knowledge

from ..conftest import ROOT, RULES

FEATURES = ROOT / "features"
TOPICS = {
    "anticoagulation_and_aps.feature",
    "immunotherapy.feature",
    "testing_and_workup.feature",
    "acute_miscarriage_and_rh.feature",
    "risk_factors_and_support.feature",
    "investigations.feature",
}


@pytest.fixture(scope="module")
def rules_on_disk() -> KnowledgeBase:
    """The knowledge base in this checkout's rules/ (not whatever copy is installed)."""
    return load_knowledge(RULES)


def test_every_rule_has_a_tagged_scenario_and_every_tag_names_a_rule(
    rules_on_disk: KnowledgeBase,
) -> None:
    report = check_coverage([FEATURES], rules_on_disk)
    assert report.problems() == []
    assert set(report.covered) == {rule.id for rule in rules_on_disk.rules}


def test_there_is_one_feature_file_per_clinical_topic() -> None:
    assert {path.name for path in FEATURES.glob("*.feature")} == TOPICS


def test_rule_tags_are_identifier_safe() -> None:
    assert rule_tag("RSA-ANTICOAG-APS") == "rsa_anticoag_aps"
    assert rule_tag("RSA-ANTICOAG-APS-NO-RPL") == "rsa_anticoag_aps_no_rpl"
    assert all(tag.isidentifier() for tag in rule_tags(load_knowledge(RULES)))


def _without(text: str, scenario: TaggedScenario, all_lines: list[int]) -> str:
    """The feature text without one scenario (its tags, steps and examples)."""
    lines = text.splitlines(keepends=True)
    start = scenario.line - 1
    while start > 0 and lines[start - 1].lstrip().startswith("@"):
        start -= 1
    later = [n for n in all_lines if n > scenario.line]
    end = len(lines)
    if later:
        end = later[0] - 1
        while end > 0 and lines[end - 1].lstrip().startswith("@"):
            end -= 1
    for number in range(start, end):  # a Rule: line between two scenarios stays
        if lines[number].lstrip().startswith("Rule:"):
            end = number
            break
    return "".join(lines[:start] + lines[end:])


def _rule_with_one_scenario(rules: KnowledgeBase) -> tuple[str, TaggedScenario]:
    report = check_coverage([FEATURES], rules)
    for rule in rules.rules:
        scenarios = report.covered.get(rule.id, ())
        if len(scenarios) == 1:
            return rule.id, scenarios[0]
    pytest.fail("every rule has two scenarios or more: no single scenario to remove")


def test_removing_the_only_scenario_of_a_rule_fails_the_check(
    tmp_path: Path, rules_on_disk: KnowledgeBase
) -> None:
    rule_id, scenario = _rule_with_one_scenario(rules_on_disk)
    copy = tmp_path / "features"
    shutil.copytree(FEATURES, copy)
    target = copy / Path(scenario.file).name
    in_file = [s.line for s in read_scenarios([target])[0]]
    target.write_text(_without(target.read_text(encoding="utf-8"), scenario, in_file))

    report = check_coverage([copy], rules_on_disk)

    assert report.uncovered == (rule_id,)
    assert report.problems() == [f"rule {rule_id} has no scenario tagged @{rule_tag(rule_id)}"]
    remaining = {s.name for s in read_scenarios([target])[0]}
    assert scenario.name not in remaining
    assert len(remaining) == len(in_file) - 1


def test_removing_every_scenario_of_a_rule_fails_the_check(
    tmp_path: Path, rules_on_disk: KnowledgeBase
) -> None:
    tag = "rsa_immuno_lit"
    copy = tmp_path / "features"
    shutil.copytree(FEATURES, copy)
    for path in copy.glob("*.feature"):
        text = path.read_text(encoding="utf-8")
        for scenario in reversed(read_scenarios([path])[0]):
            if tag in scenario.tags:
                lines = [s.line for s in read_scenarios([path])[0]]
                text = _without(text, scenario, lines)
                path.write_text(text)
    assert check_coverage([copy], rules_on_disk).uncovered == ("RSA-IMMUNO-LIT",)


def test_a_tag_that_names_no_rule_fails_the_check(
    tmp_path: Path, rules_on_disk: KnowledgeBase
) -> None:
    (tmp_path / "extra.feature").write_text(
        "Feature: Extra\n\n"
        "  @rsa_anticoag_apx @RSA-IMMUNO-IVIG\n"
        "  Scenario: A misspelt rule tag\n"
        "    Given a patient\n"
    )
    report = check_coverage([FEATURES, tmp_path], rules_on_disk)
    assert set(report.unknown_tags) == {"rsa_anticoag_apx", "RSA-IMMUNO-IVIG"}
    assert any("@rsa_anticoag_apx names no rule" in p for p in report.problems())
    assert check_coverage([tmp_path], rules_on_disk, other_tags=["wip"]).uncovered


def test_a_rule_tag_on_the_feature_line_covers_nothing(
    tmp_path: Path, rules_on_disk: KnowledgeBase
) -> None:
    (tmp_path / "lazy.feature").write_text(
        "@rsa_risk_smoking\n"
        "Feature: Tagged as a whole\n\n"
        "  Scenario: First\n    Given a patient\n\n"
        "  Scenario: First\n    Given a patient\n"
    )
    report = check_coverage([tmp_path], rules_on_disk)
    assert "RSA-RISK-SMOKING" in report.uncovered
    problems = "\n".join(report.problems())
    assert "rule tags on the Feature line (@rsa_risk_smoking) cover nothing" in problems
    assert "two scenarios share this name" in problems
