"""A user's own project: one .feature file, the shipped steps, no step code of its own.

The inner pytest runs load the installed plugin through its ``pytest11`` entry point, as in
a fresh project that only installed ``rsa-rules[bdd]``.
"""

from __future__ import annotations

import re
import shutil

import pytest

from ..conftest import ROOT, RULES

pytest_plugins = ["pytester"]

BINDING = """
from pytest_bdd import scenarios

scenarios("features")
"""

README = (ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README.split("## Clinician-readable scenarios (BDD)", 1)[1]


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", SECTION, flags=re.DOTALL)


# The README's example a clinician copies: its feature file and its ini file.
CLINIC_FEATURE = _blocks("gherkin")[0]
CLINIC_INI = _blocks("ini")[0]
CLINIC_SCENARIOS = CLINIC_FEATURE.count("Scenario:")

FAILING_FEATURE = """
Feature: A check that does not hold

  Scenario: Heparin expected without any test
    Given a patient with 2 miscarriages at 6 and 7 weeks
    When the guidance is evaluated
    Then heparin plus low-dose aspirin is recommended
    And it is not flagged as an alert
"""


# Hypothesis's plugin imports hypothesis when a session ends: a second per run, not needed here.
QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")


def _project(pytester: pytest.Pytester, feature: str, *, binding: bool = True) -> None:
    pytester.makefile(".feature", **{"features/clinic": feature})
    if binding:
        pytester.makepyfile(test_clinic=BINDING)


def test_a_fresh_project_runs_its_own_feature_file(pytester: pytest.Pytester) -> None:
    _project(pytester, CLINIC_FEATURE)
    result = pytester.runpytest("--strict-markers", *QUIET)
    result.assert_outcomes(passed=CLINIC_SCENARIOS)


def test_the_readme_example_needs_no_python_file(pytester: pytest.Pytester) -> None:
    _project(pytester, CLINIC_FEATURE, binding=False)
    pytester.makeini(CLINIC_INI)
    result = pytester.runpytest("--strict-markers", *QUIET, "-v")
    result.assert_outcomes(passed=CLINIC_SCENARIOS)
    result.stdout.fnmatch_lines(["*features/clinic.feature::test_nothing_tested_yet PASSED*"])


def test_a_fresh_project_runs_in_a_new_process(pytester: pytest.Pytester) -> None:
    _project(pytester, CLINIC_FEATURE)
    result = pytester.runpytest_subprocess("--strict-markers", *QUIET)
    result.assert_outcomes(passed=CLINIC_SCENARIOS)


def test_rule_tags_select_scenarios(pytester: pytest.Pytester) -> None:
    _project(pytester, CLINIC_FEATURE)
    result = pytester.runpytest("--strict-markers", *QUIET, "-m", "rsa_immuno_lit")
    result.assert_outcomes(passed=1, deselected=CLINIC_SCENARIOS - 1)


def test_a_misspelt_step_is_reported_as_step_not_found(pytester: pytest.Pytester) -> None:
    _project(pytester, CLINIC_FEATURE.replace("is recommended", "is recomended"))
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(passed=CLINIC_SCENARIOS - 1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*StepDefinitionNotFoundError: Step definition is not found: "
            'Then "heparin plus low-dose aspirin is recomended"*',
        ]
    )
    assert "INTERNALERROR" not in result.stdout.str()


def test_a_misspelt_intervention_lists_the_known_ones(pytester: pytest.Pytester) -> None:
    _project(
        pytester,
        CLINIC_FEATURE.replace("lymphocyte immunotherapy is proposed", "LIT-X is proposed"),
    )
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(passed=CLINIC_SCENARIOS - 1, failed=1)
    result.stdout.fnmatch_lines(
        [
            ">>> And LIT-X is proposed   <- this step failed",
            "unknown intervention 'LIT-X'*",
            "Known interventions: *heparin plus low-dose aspirin (heparin-plus-low-dose-aspirin)*",
        ]
    )


def test_a_misspelt_rule_tag_is_refused_with_a_hint(pytester: pytest.Pytester) -> None:
    _project(pytester, CLINIC_FEATURE.replace("@rsa_anticoag_aps", "@rsa_anticoag_apx"))
    result = pytester.runpytest(*QUIET)
    assert result.ret != 0
    result.stdout.fnmatch_lines(
        [
            "*the tag @rsa_anticoag_apx names no rule of the knowledge base; did you mean "
            "@rsa_anticoag_aps?*"
        ]
    )


def test_a_rule_tag_must_be_identifier_safe(pytester: pytest.Pytester) -> None:
    _project(pytester, CLINIC_FEATURE.replace("@rsa_anticoag_aps", "@RSA-ANTICOAG-APS"))
    result = pytester.runpytest(*QUIET)
    assert result.ret != 0
    result.stdout.fnmatch_lines(
        ["*write rule tags in identifier-safe form: @rsa_anticoag_aps (for RSA-ANTICOAG-APS)*"]
    )


def test_a_failed_check_reads_as_the_clinician_wrote_it(pytester: pytest.Pytester) -> None:
    _project(pytester, FAILING_FEATURE)
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "Scenario: Heparin expected without any test",
            "  in features/clinic.feature, line 3 (Feature: A check that does not hold)",
            "    Given a patient with 2 miscarriages at 6 and 7 weeks",
            "    When the guidance is evaluated",
            ">>> Then heparin plus low-dose aspirin is recommended   <- this step failed",
            "    And it is not flagged as an alert   (not run)",
            "Failed step (line 6): Then heparin plus low-dose aspirin is recommended",
            "Expected: heparin plus low-dose aspirin (heparin-plus-low-dose-aspirin) is "
            'recommended (action "recommend")',
            "The engine answered:",
            "*Test for antiphospholipid* ?RSA-TEST-APL; test: antiphospholipid antibody testing?",
            "*Avoid IVIg* ?RSA-IMMUNO-IVIG; avoid: intravenous immunoglobulin (IVIg)?",
            "  findings: pregnancy-losses (2), recurrent-pregnancy-loss (2), reproductive-age",
            "Explanation:",
            "  Why not heparin-plus-low-dose-aspirin?",
            "  - RSA-ANTICOAG-APS (recommend): not met.*",
            "*lupus anticoagulant: not recorded*",
        ]
    )
    output = result.stdout.str()
    assert "Traceback" not in output
    assert "def _is_given" not in output  # no Python source of the step library


def test_a_failed_negative_check_shows_why_the_engine_gave_it(pytester: pytest.Pytester) -> None:
    feature = CLINIC_FEATURE.replace(
        "Then lymphocyte immunotherapy is advised against",
        "Then lymphocyte immunotherapy is not advised against",
    )
    _project(pytester, feature)
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(passed=CLINIC_SCENARIOS - 1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "Expected: lymphocyte immunotherapy (lymphocyte-immunotherapy) is not advised "
            'against (no action "avoid")',
            "The engine answered:",
            "*1. ALERT: Avoid lymphocyte immunotherapy* ?RSA-IMMUNO-LIT; avoid: lymphocyte*",
            "Explanation:",
            "  ALERT: Avoid lymphocyte immunotherapy*",
            "  avoid: lymphocyte immunotherapy; rule RSA-IMMUNO-LIT v2; evidence:*",
            "  because:",
            "      - recurrent pregnancy loss: established",
            '  contradicted claim ?seed-lit-clinic?: "Active immunotherapy*',
        ]
    )


def test_a_python_traceback_on_request(pytester: pytest.Pytester) -> None:
    _project(pytester, FAILING_FEATURE)
    result = pytester.runpytest(*QUIET, "--tb=long")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*GuidanceMismatch: Expected: heparin plus low-dose aspirin*"])


def test_a_then_step_before_the_evaluation_says_what_is_missing(
    pytester: pytest.Pytester,
) -> None:
    feature = FAILING_FEATURE.replace("    When the guidance is evaluated\n", "")
    _project(pytester, feature)
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(errors=0, failed=1)
    result.stdout.fnmatch_lines(
        ["*there is no evaluation yet: add the step 'When the guidance is evaluated'*"]
    )


def test_invalid_facts_are_named(pytester: pytest.Pytester) -> None:
    feature = """
Feature: Bad facts

  Scenario: A result with a unit for the wrong isotype
    Given a patient with 2 miscarriages at 6 and 7 weeks
    And anticardiolipin IgM was 50 GPL on 2026-01-05
    When the guidance is evaluated
    Then antiphospholipid antibody testing is requested
"""
    _project(pytester, feature)
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            ">>> When the guidance is evaluated   <- this step failed",
            "the scenario's facts are not valid:",
            "  antiphospholipid.results.0.unit: unit GPL is for IGG antibodies, not *",
            "The facts were:",
            '*"test": "anticardiolipin-igm",*',
        ]
    )


def test_another_knowledge_base_is_chosen_in_the_ini_file(pytester: pytest.Pytester) -> None:
    shutil.copytree(RULES, pytester.path / "our-rules")
    params = pytester.path / "our-rules" / "parameters.yaml"
    text = params.read_text(encoding="utf-8")
    params.write_text(
        text.replace(
            "id: recurrent_loss_threshold\n    value: 2",
            "id: recurrent_loss_threshold\n    value: 3",
        )
    )
    feature = """
Feature: RCOG's threshold of three losses

  @rsa_finding_rpl
  Scenario: Two losses are not recurrent under RCOG's definition
    Given a patient with 2 miscarriages at 6 and 7 weeks
    When the guidance is evaluated
    Then the finding recurrent pregnancy loss is not established
"""
    _project(pytester, feature)
    pytester.makeini("[pytest]\nrsa_rules_knowledge = our-rules\n")
    result = pytester.runpytest("--strict-markers", *QUIET)
    result.assert_outcomes(passed=1)


def test_the_failure_shown_in_the_readme_is_real(pytester: pytest.Pytester) -> None:
    _project(pytester, FAILING_FEATURE)
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    shown = _blocks("text")[0]
    for line in shown.splitlines():
        text = line.rstrip()
        if text and not text.endswith("..."):  # abridged in the README
            assert text in output, text


def test_a_broken_knowledge_base_does_not_break_pytest(pytester: pytest.Pytester) -> None:
    (pytester.path / "broken").mkdir()
    (pytester.path / "broken" / "pack.yaml").write_text("name: [unclosed\n")
    pytester.makeini("[pytest]\nrsa_rules_knowledge = broken\n")
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(passed=1)

    _project(pytester, CLINIC_FEATURE)
    result = pytester.runpytest(*QUIET)
    assert result.ret != 0
    result.stdout.fnmatch_lines(
        ["*the tag @rsa_anticoag_aps cannot be checked: invalid knowledge base*"]
    )
    assert "INTERNALERROR" not in result.stdout.str()
