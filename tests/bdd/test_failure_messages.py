"""Every check of the step library fails with a message a clinician can act on.

One feature of deliberately wrong expectations runs in a fresh project; each scenario must
fail, and its report must say what was expected and what the engine answered.
"""

from __future__ import annotations

import re

import pytest

pytest_plugins = ["pytester"]

QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")

APS = """
    Given a patient with 3 consecutive miscarriages at 7, 8 and 9 weeks
    And lupus anticoagulant was positive on 2026-01-05 and 2026-04-10
    When the guidance is evaluated"""
TWO = """
    Given a patient with 2 miscarriages at 6 and 7 weeks
    When the guidance is evaluated"""
LIT = """
    Given a patient with 2 miscarriages at 6 and 7 weeks
    And lymphocyte immunotherapy is proposed
    When the guidance is evaluated
    Then lymphocyte immunotherapy is advised against"""

# scenario name -> (steps, text its failure report must contain)
WRONG: dict[str, tuple[str, str]] = {
    "recommended but considered": (
        APS + "\n    Then heparin plus low-dose aspirin is to be considered",
        "Recommend heparin plus low-dose aspirin: recurrent pregnancy loss with antiphospholipid "
        "syndrome [RSA-ANTICOAG-APS; recommend: heparin plus low-dose aspirin]",
    ),
    "no referral": (
        TWO + "\n    Then the patient is referred for specialist review",
        "Expected: the patient is referred for specialist review (specialist-review) "
        '(action "refer")',
    ),
    "no guidance expected": (
        TWO + "\n    Then there is no guidance on IVIg",
        "Expected: no recommendation at all on intravenous immunoglobulin (IVIg) (ivig)",
    ),
    "nothing expected": (
        TWO + "\n    Then the engine gives no recommendations",
        "Expected: no recommendations",
    ),
    "no rule recommends heparin alone": (
        TWO
        + "\n    Then heparin is not recommended because the antiphospholipid tests are unknown",
        'no rule of the knowledge base can give heparin (heparin) the action "recommend", so '
        "'not recommended because ...' cannot be checked. Rules that produce it: "
        "RSA-ANTICOAG-ALERT-HEPARIN (avoid). Did you mean heparin plus low-dose aspirin "
        "(heparin-plus-low-dose-aspirin)?",
    ),
    "known, not unknown": (
        """
    Given a patient
    And she is having a miscarriage at 13 weeks
    And she is Rh positive
    When the guidance is evaluated
    Then Rh immunoglobulin is not recommended because the Rh status is unknown""",
        "Expected: Rh immunoglobulin (anti-D) (rh-immunoglobulin) is not recommended because "
        "the Rh status unknown (not recorded)",
    ),
    "established, not unestablished": (
        APS + "\n    Then heparin plus low-dose aspirin is not considered because recurrent "
        "pregnancy loss is not established",
        "because recurrent pregnancy loss (recurrent-pregnancy-loss) is not established",
    ),
    "not blocked": (
        TWO
        + "\n    Then heparin plus low-dose aspirin is not recommended because it is blocked by "
        "a heparin allergy",
        "because a rule is blocked by heparin allergy",
    ),
    "no such failed condition": (
        TWO + "\n    Then heparin plus low-dose aspirin is not recommended because of the "
        "thrombosis history",
        "because of thrombosis history (a condition not met)",
    ),
    "an unreadable reason": (
        TWO
        + "\n    Then heparin plus low-dose aspirin is not recommended because the moon is full",
        "cannot read the reason 'the moon is full'; write it as one of:",
    ),
    "not an alert": (
        APS
        + "\n    Then heparin plus low-dose aspirin is recommended"
        + "\n    And it is flagged as an alert",
        "is flagged as an alert",
    ),
    "an alert": (LIT + "\n    And it is not flagged as an alert", "is not flagged as an alert"),
    "another rule": (
        LIT + "\n    And it comes from rule RSA-IMMUNO-IVIG",
        "it comes from RSA-IMMUNO-LIT",
    ),
    "another source": (LIT + "\n    And the explanation cites kaandorp-2010", "it cites ober-1999"),
    "no conflicting evidence": (
        LIT + "\n    And the explanation shows conflicting evidence from alife2-2023",
        "conflicting evidence shown: none",
    ),
    "no contradicted claim": (
        APS
        + "\n    Then heparin plus low-dose aspirin is recommended"
        + "\n    And the explanation marks the claim of seed-lit-clinic as contradicted",
        "contradicted claims shown: none",
    ),
    "another grade": (
        LIT + '\n    And its evidence grade is "strong"',
        'the grade is "unsupported (no benefit in a randomised trial, worse among women',
    ),
    "another due date": (
        """
    Given a patient with 2 miscarriages at 6 and 7 weeks
    And lupus anticoagulant was positive on 2026-01-05
    When the guidance is evaluated
    Then repeat antiphospholipid testing is requested
    And it is due on 2026-04-01""",
        "it is due on 2026-03-30",
    ),
    "no due date": (LIT + "\n    And it is due on 2026-04-01", "(no date given)"),
    "no such caution": (LIT + "\n    And it cautions about bone loss", "cautions: none"),
    "not mentioned": (LIT + '\n    And the explanation mentions "miracle"', "it does not"),
    "another input": (
        LIT + "\n    And the explanation shows the input rh",
        "inputs shown: pregnancy_history.losses.0",
    ),
    "all done": (
        """
    Given a patient with 2 miscarriages at 6 and 7 weeks
    And lupus anticoagulant was negative on 2026-01-05
    When the guidance is evaluated
    Then antiphospholipid antibody testing is requested
    And it names lupus anticoagulant as not yet done""",
        "not yet done: anticardiolipin IgG, anticardiolipin IgM",
    ),
    "something not yet done": (
        TWO + "\n    Then antiphospholipid antibody testing is requested"
        "\n    And it names nothing as not yet done",
        "not yet done: lupus anticoagulant, anticardiolipin IgG, anticardiolipin IgM",
    ),
    "nothing blocked": (LIT + "\n    And it names RSA-ANTICOAG-APS as blocked", "blocked: nothing"),
    "a finding expected": (
        TWO + "\n    Then the finding antiphospholipid syndrome confirmed is established",
        "Expected: antiphospholipid syndrome confirmed (aps-confirmed) is established",
    ),
    "a finding not expected": (
        APS + "\n    Then the finding APS confirmed is not established",
        "Antiphospholipid syndrome confirmed",
    ),
    "another count": (TWO + "\n    Then 3 pregnancy losses are counted", "counted: 2"),
    "no count": (
        "\n    Given a patient\n    When the guidance is evaluated"
        "\n    Then 1 pregnancy loss is counted",
        "counted: not known",
    ),
    "a rule that fires": (
        TWO + "\n    Then the rule RSA-TEST-APL does not fire",
        "Expected: the rule RSA-TEST-APL does not fire",
    ),
    "another rule status": (
        TWO + "\n    Then for IVIg, the rule RSA-IMMUNO-IVIG is blocked",
        "it is fired",
    ),
    "a rule for another intervention": (
        TWO + "\n    Then for IVIg, the rule RSA-ACUTE-RH is unknown",
        "the rule RSA-ACUTE-RH does not produce intravenous immunoglobulin (IVIg) (ivig)",
    ),
    "more alerts": (LIT + "\n    And no alert is raised", "Expected: 0 alerts"),
    "no alert on it": (
        TWO + "\n    Then an alert is raised on IVIg",
        "Expected: an alert on intravenous immunoglobulin (IVIg) (ivig)",
    ),
    "a row missing": (
        TWO
        + """
    Then the guidance includes:
      | action    | intervention                  |
      | recommend | heparin plus low-dose aspirin |""",
        "missing: recommend heparin-plus-low-dose-aspirin",
    ),
    "a row present": (
        TWO
        + """
    Then the guidance does not include:
      | action | intervention | alert |
      | avoid  | IVIg         | no    |""",
        "Expected: none of: avoid ivig (no alert)",
    ),
    "more rows": (
        TWO
        + """
    Then the guidance is exactly:
      | action | intervention    | rule               |
      | test   | thyroid testing | RSA-WORKUP-THYROID |""",
        "not expected: recommend early-prenatal-care [RSA-SUPPORT-PRENATAL]",
    ),
    "a wrong column": (
        TWO + "\n    Then the guidance includes:\n      | action | drug |\n      | avoid  | IVIg |",
        "unknown column of the guidance table 'drug'",
    ),
    "a wrong action": (
        TWO
        + "\n    Then the guidance includes:\n      | action | intervention |"
        + "\n      | prescribe | IVIg |",
        "unknown action 'prescribe'",
    ),
    "a column missing": (
        TWO + "\n    Then the guidance includes:\n      | action |\n      | avoid  |",
        "a guidance table needs the columns action and intervention",
    ),
    "ages that do not match the losses": (
        "\n    Given a patient with 3 miscarriages at 6 and 7 weeks",
        "3 losses but 2 gestational ages (6 and 7 weeks): give one age per loss",
    ),
    "a wrong losses column": (
        "\n    Given a patient with these pregnancy losses:\n      | week |\n      | 6    |",
        "unknown column of the losses table 'week'",
    ),
    "a wrong results column": (
        "\n    Given a patient\n    And the antiphospholipid results are:"
        "\n      | test | outcome  |\n      | LA   | positive |",
        "unknown column of the antiphospholipid table 'outcome'",
    ),
    "neither yes nor no": (
        "\n    Given a patient\n    And the antiphospholipid results are:"
        "\n      | test           | date       | above 99th percentile |"
        "\n      | anti-b2gpi IgG | 2026-01-05 | maybe                 |",
        "'maybe' is neither yes nor no",
    ),
    "facts that are not JSON": (
        '\n    Given a patient with these facts:\n      """\n      {age: 30}\n      """',
        "the facts are not valid JSON",
    ),
    "facts that are not an object": (
        '\n    Given a patient with these facts:\n      """\n      [1, 2]\n      """',
        "the facts must be a JSON object",
    ),
    "it before anything": (
        TWO + "\n    Then it is flagged as an alert",
        "'it' refers to a recommendation found by an earlier step",
    ),
    "an unknown treatment": (
        "\n    Given a patient\n    And aspirn is proposed",
        "unknown intervention 'aspirn'; did you mean 'aspirin'?",
    ),
    "a bad date": (
        "\n    Given a patient\n    And the antiphospholipid results are:"
        "\n      | test | date      | result   |\n      | LA   | 2026-1-05 | positive |",
        "'2026-1-05' is not a date in the form YYYY-MM-DD",
    ),
}


def _feature() -> str:
    parts = ["Feature: Wrong expectations\n"]
    for name, (steps, _) in WRONG.items():
        parts.append(f"  Scenario: {name}{steps}\n")
    return "\n".join(parts)


def _reports(output: str) -> dict[str, str]:
    """Each scenario's failure report, by scenario name."""
    chunks = re.split(r"^Scenario: ", output, flags=re.MULTILINE)[1:]
    return {chunk.split("\n", 1)[0].strip(): chunk for chunk in chunks}


def test_every_check_fails_with_a_readable_message(pytester: pytest.Pytester) -> None:
    pytester.makefile(".feature", **{"features/wrong": _feature()})
    pytester.makepyfile(test_wrong="from pytest_bdd import scenarios\nscenarios('features')\n")
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(failed=len(WRONG))
    output = result.stdout.str()
    assert "Traceback" not in output
    reports = _reports(output)
    missing = []
    for name, (_, expected) in WRONG.items():
        report = reports.get(name, "")
        if expected not in report:
            missing.append(f"{name}: {expected!r} not in\n{report}")
    assert missing == []
    assert all("<- this step failed" in report for report in reports.values())
