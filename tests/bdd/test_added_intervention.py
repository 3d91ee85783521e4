"""A knowledge base that adds an intervention works end to end with no change to the code:
facts, rules, why-not, text, CDS Hooks cards and the step library all take it from the
vocabulary."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import rsa_rules
from rsa_rules import FactsError
from rsa_rules.engine import facts_json_schema

from ..unit.test_knowledge_errors import append_rule, copy_rules, edit

pytest_plugins = ["pytester"]

THERAPY = "local-trial-therapy"
VOCABULARY = (
    "  - {id: local-trial-therapy, label: local trial therapy, "
    "description: An intervention a local knowledge base adds (test fixture)., "
    "synonyms: [LTT]}\n"
)
RULE = """
  - id: RSA-IMMUNO-LOCAL-TRIAL
    kind: recommendation
    version: 1
    title: A locally added intervention is advised against
    condition_text: Recurrent pregnancy loss, or the local trial therapy under way.
    when:
      any:
        - {finding: recurrent-pregnancy-loss}
        - {fact: current_local_trial_therapy, eq: true}
    then:
      - action: avoid
        intervention: local-trial-therapy
        summary: "Avoid the local trial therapy outside a trial (test fixture)"
    citations:
      - {source: eshre-2022, note: "Test fixture: the mechanism of a locally added intervention."}
    evidence:
      grade: test fixture
"""
LOSSES = {
    "pregnancy_history": {
        "losses": [{"kind": "miscarriage", "gestational_weeks": w} for w in (6, 7, 8)]
    }
}
ORDERED = {**LOSSES, "treatments": [{"intervention": THERAPY, "status": "ordered"}]}


def _knowledge(root: Path) -> Path:
    edit(
        root,
        "vocabulary.yaml",
        "  - id: lymphocyte-immunotherapy\n",
        VOCABULARY + "  - id: lymphocyte-immunotherapy\n",
    )
    append_rule(root, "immunotherapy.yaml", RULE)
    return root


@pytest.fixture(scope="module")
def added(tmp_path_factory: pytest.TempPathFactory) -> rsa_rules.Engine:
    return rsa_rules.Engine(_knowledge(copy_rules(tmp_path_factory.mktemp("added"))))


def test_the_facts_and_the_schema_take_the_new_intervention(added: rsa_rules.Engine) -> None:
    assert THERAPY in added.knowledge.interventions
    schema = facts_json_schema(added.knowledge)
    assert THERAPY in schema["$defs"]["Treatment"]["properties"]["intervention"]["enum"]
    with pytest.raises(FactsError, match=r"treatments\.0\.intervention: unknown intervention"):
        rsa_rules.evaluate(ORDERED)  # the bundled knowledge base does not know it


def test_the_rule_fires_with_an_alert_and_explains_itself(added: rsa_rules.Engine) -> None:
    evaluation = added.evaluate(ORDERED)
    (rec,) = [r for r in evaluation.recommendations if r.intervention == THERAPY]
    assert (rec.rule_id, rec.action, rec.alert, rec.alert_certainty) == (
        "RSA-IMMUNO-LOCAL-TRIAL",
        "avoid",
        True,
        "inferred",
    )
    assert rec.intervention_label == "local trial therapy"
    assert "RSA-IMMUNO-LOCAL-TRIAL#alert:local-trial-therapy" in evaluation.fired_rules
    assert evaluation.why_not("LTT").produced == [rec]
    text = evaluation.to_text()
    assert "Avoid the local trial therapy outside a trial" in text
    assert "avoid: local trial therapy; rule RSA-IMMUNO-LOCAL-TRIAL v1" in text
    cards = evaluation.to_cds_cards()
    assert any("local trial therapy" in card["detail"] for card in cards)
    rebuilt = rsa_rules.Evaluation.model_validate_json(evaluation.to_json())
    assert rebuilt.why_not(THERAPY) == evaluation.why_not(THERAPY)


def test_scenarios_speak_of_the_new_intervention(pytester: pytest.Pytester) -> None:
    shutil.copytree(copy_rules(pytester.path / "tmp"), pytester.path / "our-rules")
    _knowledge(pytester.path / "our-rules")
    pytester.makeini("[pytest]\nrsa_rules_knowledge = our-rules\n")
    pytester.makefile(
        ".feature",
        **{
            "features/local": """
Feature: A locally added intervention

  Scenario: The local trial therapy ordered after three losses
    Given a patient with 3 miscarriages at 6, 7 and 8 weeks
    And local trial therapy is ordered
    When the guidance is evaluated
    Then local trial therapy is advised against
    And it is flagged as an alert
"""
        },
    )
    pytester.makepyfile(test_local='from pytest_bdd import scenarios\n\nscenarios("features")\n')
    result = pytester.runpytest("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
