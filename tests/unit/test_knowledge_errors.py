"""A broken knowledge base is refused, and every problem says where it is.

Each test copies ``rules/`` to a temporary directory, breaks one thing by editing the YAML
text, and checks that

* ``load_knowledge`` raises ``KnowledgeError`` whose problem names the file, the rule id, the
  field and the line,
* ``lint_knowledge`` reports the same problem, and
* ``Engine`` refuses to start.

The linter's own checks (opposite actions for one intervention, durable_rules' 31 expression
slots) are tested on copies with a rule added.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rsa_rules import Engine, KnowledgeError
from rsa_rules.errors import KnowledgeProblem
from rsa_rules.knowledge import conditions
from rsa_rules.knowledge.compiler import compile_knowledge, expression_slots
from rsa_rules.knowledge.lint import (
    DURABLE_SLOT_LIMIT,
    lint_knowledge,
    opposite_action_witness,
)
from rsa_rules.knowledge.loader import KnowledgeBase, load_knowledge

RULES = Path(__file__).resolve().parents[2] / "rules"


def copy_rules(tmp_path: Path) -> Path:
    root = tmp_path / "rules"
    shutil.copytree(RULES, root)
    return root


def line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def edit(root: Path, file: str, old: str, new: str, *, after: str | None = None) -> int:
    """Replace the first ``old`` (after the unique text ``after``); the line of the edit."""
    path = root / file
    text = path.read_text(encoding="utf-8")
    start = 0
    if after is not None:
        assert text.count(after) == 1, f"{after!r} is not unique in {file}"
        start = text.index(after)
    index = text.find(old, start)
    assert index >= 0, f"{old!r} not found in {file}: the test needs updating"
    path.write_text(text[:index] + new + text[index + len(old) :], encoding="utf-8")
    return line_of(text, index)


def append_rule(root: Path, file: str, rule: str) -> None:
    path = root / file
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + "\n" + rule, encoding="utf-8")


def refused(root: Path) -> list[KnowledgeProblem]:
    """The problems of a broken copy; lint reports the same ones and Engine will not start."""
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(root)
    error = info.value
    assert isinstance(error, ValueError)
    problems = error.problems
    assert problems

    report = lint_knowledge(root)
    assert not report.ok
    assert report.knowledge is None
    assert report.errors == problems

    with pytest.raises(KnowledgeError) as engine_info:
        Engine(root)
    assert engine_info.value.problems == problems
    return problems


@dataclass(frozen=True)
class Breakage:
    """One edit of one file, and the single problem it must cause."""

    file: str
    old: str
    new: str
    rule_id: str | None
    field: str | None
    message: tuple[str, ...]
    after: str | None = None
    line_at: str | None = None  # the problem's line is this text's line (default: the edit's)


IVIG = "id: RSA-IMMUNO-IVIG"

BREAKAGES = [
    pytest.param(
        Breakage(
            "immunotherapy.yaml",
            "{fact: reason_ivig, eq: recurrent-pregnancy-loss}",
            "{fact: reason_ivigg, eq: recurrent-pregnancy-loss}",
            "RSA-IMMUNO-IVIG",
            "when.any.1.all.1.fact",
            ("unknown fact 'reason_ivigg'", "did you mean 'reason_ivig'?"),
        ),
        id="unknown-fact-with-hint",
    ),
    pytest.param(
        Breakage(
            "definitions.yaml",
            "{fact: heparin_allergy, eq: true}",
            "{fact: heparin_allergie, eq: true}",
            None,
            "when.any.3.fact",
            ("unknown fact 'heparin_allergie'", "did you mean 'heparin_allergy'?"),
        ),
        id="unknown-fact-in-definition",
    ),
    pytest.param(
        Breakage(
            "immunotherapy.yaml",
            "{finding: recurrent-pregnancy-loss}",
            "{finding: recurrent-pregnancy-los}",
            "RSA-IMMUNO-IVIG",
            "when.any.0.finding",
            ("unknown finding 'recurrent-pregnancy-los'", "did you mean"),
            after=IVIG,
        ),
        id="unknown-finding",
    ),
    pytest.param(
        Breakage(
            "anticoagulation.yaml",
            "{ref: no-thrombosis-history}",
            "{ref: no-thrombosis-histry}",
            "RSA-ANTICOAG-APS",
            "when.all.2.ref",
            ("unknown definition 'no-thrombosis-histry'", "did you mean 'no-thrombosis-history'?"),
            after="id: RSA-ANTICOAG-APS\n",
        ),
        id="unknown-definition",
    ),
    pytest.param(
        Breakage(
            "findings.yaml",
            "{param: recurrent_loss_threshold}",
            "{param: recurrent_loss_treshold}",
            "RSA-FINDING-RPL",
            "when.gte",
            ("unknown parameter 'recurrent_loss_treshold'", "did you mean"),
            after="id: RSA-FINDING-RPL",
        ),
        id="unknown-parameter",
    ),
    pytest.param(
        Breakage(
            "immunotherapy.yaml",
            "{source: wong-2014,",
            "{source: wong-2015,",
            "RSA-IMMUNO-IVIG",
            "citations.1.source",
            ("unknown source 'wong-2015'",),
            after=IVIG,
        ),
        id="citation-not-in-bibliography",
    ),
    pytest.param(
        Breakage(
            "immunotherapy.yaml",
            "intervention: ivig\n",
            "intervention: iv-immunoglobulin\n",
            "RSA-IMMUNO-IVIG",
            "then.0.intervention",
            ("intervention 'iv-immunoglobulin' is not in the vocabulary",),
            after=IVIG,
        ),
        id="intervention-not-in-vocabulary",
    ),
    pytest.param(
        Breakage(
            "immunotherapy.yaml",
            "action: avoid",
            "action: forbid",
            "RSA-IMMUNO-IVIG",
            "then.0.action",
            ("recommend, consider, avoid, test, refer",),
            after=IVIG,
        ),
        id="bad-action",
    ),
    pytest.param(
        Breakage(
            "immunotherapy.yaml",
            'summary: "Avoid IVIg',
            'summary: "' + "Very long. " * 12 + "Avoid IVIg",
            "RSA-IMMUNO-IVIG",
            "then.0.summary",
            ("at most 139 characters",),
            after=IVIG,
        ),
        id="recommendation-summary-over-140",
    ),
    pytest.param(
        Breakage(
            "findings.yaml",
            'summary: "Risk factor: polycystic ovary syndrome"',
            'summary: "Risk factor: polycystic ovary syndrome' + " (PCOS)" * 20 + '"',
            "RSA-FINDING-PCOS",
            "summary",
            ("at most 139 characters",),
        ),
        id="finding-summary-over-140",
    ),
    pytest.param(
        Breakage(
            "support.yaml",
            "id: RSA-SUPPORT-PRENATAL",
            "id: RSA-IMMUNO-IVIG",
            "RSA-IMMUNO-IVIG",
            "id",
            ("duplicate rule id", "immunotherapy.yaml"),
        ),
        id="duplicate-rule-id-across-files",
    ),
    pytest.param(
        Breakage(
            "immunotherapy.yaml",
            IVIG,
            "id: RSA_IMMUNO_IVIG",
            "RSA_IMMUNO_IVIG",
            "id",
            ("should match pattern", "^RSA-"),
        ),
        id="rule-id-with-underscores",
    ),
    pytest.param(
        Breakage(
            "immunotherapy.yaml",
            IVIG,
            "id: rsa-immuno-ivig",
            "rsa-immuno-ivig",
            "id",
            ("should match pattern",),
        ),
        id="rule-id-lower-case",
    ),
    pytest.param(
        Breakage(
            "immunotherapy.yaml",
            "    title: Intravenous immunoglobulin is not supported\n",
            "",
            "RSA-IMMUNO-IVIG",
            "title",
            ("Field required",),
            line_at=IVIG,
        ),
        id="missing-title",
    ),
    pytest.param(
        Breakage(
            "immunotherapy.yaml",
            "    version: 2\n",
            "",
            "RSA-IMMUNO-IVIG",
            "version",
            ("Field required",),
            after=IVIG,
            line_at=IVIG,
        ),
        id="missing-version",
    ),
    pytest.param(
        Breakage(
            "immunotherapy.yaml",
            "    version: 2\n",
            "\tversion: 2\n",
            None,
            None,
            ("not valid YAML", "tab"),
            after=IVIG,
        ),
        id="yaml-tab",
    ),
    pytest.param(
        Breakage(
            "findings.yaml",
            "{fact: apl_diagnosis, eq: excluded}",
            "{fact: apl_diagnosis, eq: 1}",
            "RSA-FINDING-DATA-CONFLICT",
            "when.all.1.any.0.all.0.eq",
            ("1 does not fit fact apl_diagnosis of type text",),
            after="id: RSA-FINDING-DATA-CONFLICT",
        ),
        id="text-fact-equals-number",
    ),
    pytest.param(
        Breakage(
            "findings.yaml",
            "{fact: apl_diagnosis, eq: excluded}",
            "{fact: apl_diagnosis, gte: 1}",
            "RSA-FINDING-DATA-CONFLICT",
            "when.all.1.any.0.all.0.gte",
            ("does not fit fact apl_diagnosis of type text",),
            after="id: RSA-FINDING-DATA-CONFLICT",
        ),
        id="text-fact-at-least-number",
    ),
    pytest.param(
        Breakage(
            "findings.yaml",
            "{fact: apl_diagnosis, eq: excluded}",
            "{fact: apl_diagnosis, gt: excluded}",
            "RSA-FINDING-DATA-CONFLICT",
            "when.all.1.any.0.all.0.gt",
            ("gt needs a numeric fact; apl_diagnosis is text",),
            after="id: RSA-FINDING-DATA-CONFLICT",
        ),
        id="text-fact-ordered-comparison",
    ),
    pytest.param(
        Breakage(
            "anticoagulation.yaml",
            "- when: {fact: counted_losses, eq: 2}",
            "- when: {fact: counted_losses, eq: two}",
            "RSA-ANTICOAG-APS",
            "notes_when.0.when.eq",
            ("'two' does not fit fact counted_losses of type integer",),
        ),
        id="number-fact-equals-text",
    ),
]


@pytest.mark.parametrize("case", BREAKAGES)
def test_broken_knowledge_is_refused(tmp_path: Path, case: Breakage) -> None:
    root = copy_rules(tmp_path)
    line = edit(root, case.file, case.old, case.new, after=case.after)
    if case.line_at is not None:
        text = (root / case.file).read_text(encoding="utf-8")
        line = line_of(text, text.index(case.line_at))

    problems = refused(root)
    assert len(problems) == 1, "\n".join(map(str, problems))
    problem = problems[0]
    assert problem.file == case.file
    assert problem.rule_id == case.rule_id
    assert problem.field == case.field
    assert problem.line == line
    for fragment in case.message:
        assert fragment in problem.message

    shown = str(problem)
    assert shown.startswith(f"{case.file}:{line}")
    if case.rule_id is not None:
        assert f"rule {case.rule_id}" in shown
    if case.field is not None:
        assert f"field {case.field}" in shown


def test_unmodified_copy_loads_and_lints(tmp_path: Path) -> None:
    root = copy_rules(tmp_path)
    kb = load_knowledge(root)
    assert kb.rules
    assert kb.digest == load_knowledge().digest
    report = lint_knowledge(root)
    assert report.ok, [str(p) for p in report.errors]
    assert report.checked_pairs > 0


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    root = copy_rules(tmp_path)
    edit(root, "immunotherapy.yaml", "{fact: reason_ivig,", "{fact: reason_ivigg,")
    edit(root, "support.yaml", "source: seed-medlineplus", "source: seed-medline")
    edit(
        root,
        "findings.yaml",
        "{param: recurrent_loss_threshold}",
        "{param: recurrent_loss}",
        after="id: RSA-FINDING-RPL",
    )
    problems = refused(root)
    where = {(p.file, p.rule_id) for p in problems}
    assert ("immunotherapy.yaml", "RSA-IMMUNO-IVIG") in where
    assert ("findings.yaml", "RSA-FINDING-RPL") in where
    assert any(p.file == "support.yaml" and "seed-medline'" in p.message for p in problems)


def test_duplicate_rule_id_in_one_file_points_at_the_duplicate(tmp_path: Path) -> None:
    root = copy_rules(tmp_path)
    line = edit(root, "immunotherapy.yaml", "id: RSA-IMMUNO-LIT", "id: RSA-IMMUNO-IVIG")
    problems = refused(root)
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.file, problem.rule_id, problem.field) == (
        "immunotherapy.yaml",
        "RSA-IMMUNO-IVIG",
        "id",
    )
    assert "duplicate rule id" in problem.message
    assert problem.line == line


def test_non_utf8_rule_file_is_refused(tmp_path: Path) -> None:
    root = copy_rules(tmp_path)
    path = root / "support.yaml"
    path.write_bytes(path.read_bytes() + "# caf\u00e9\n".encode("latin-1"))
    problems = refused(root)
    assert [p.file for p in problems] == ["support.yaml"]
    assert "UTF-8" in problems[0].message


def test_repeated_key_in_a_rule_is_refused(tmp_path: Path) -> None:
    root = copy_rules(tmp_path)
    line = edit(
        root,
        "immunotherapy.yaml",
        "    then:\n",
        "    when: {fact: reason_ivig, eq: recurrent-pregnancy-loss}\n    then:\n",
        after=IVIG,
    )
    problems = refused(root)
    assert len(problems) == 1, problems
    problem = problems[0]
    assert problem.file == "immunotherapy.yaml"
    assert problem.line == line
    assert "when" in problem.message


# -- a finding cycle -------------------------------------------------------------------------


def _make_cycle(root: Path) -> tuple[int, int]:
    first = edit(
        root,
        "findings.yaml",
        "when: {fact: pcos, eq: true}",
        "when: {any: [{fact: pcos, eq: true}, {finding: uterine-or-cervical-problem}]}",
    )
    second = edit(
        root,
        "findings.yaml",
        "when: {fact: uterine_or_cervical_problem, eq: true}",
        "when: {any: [{fact: uterine_or_cervical_problem, eq: true}, {finding: pcos}]}",
    )
    return first, second


def test_finding_cycle_is_refused(tmp_path: Path) -> None:
    root = copy_rules(tmp_path)
    _make_cycle(root)
    problems = refused(root)
    by_rule = {p.rule_id: p for p in problems}
    assert set(by_rule) == {"RSA-FINDING-PCOS", "RSA-FINDING-UTERINE"}
    for problem in problems:
        assert problem.file == "findings.yaml"
        assert problem.field == "when"
        assert problem.message.startswith("circular reference: ")
    assert "pcos -> uterine-or-cervical-problem -> pcos" in by_rule["RSA-FINDING-PCOS"].message


def test_finding_cycle_problem_has_a_line(tmp_path: Path) -> None:
    root = copy_rules(tmp_path)
    first, second = _make_cycle(root)
    lines = {p.rule_id: p.line for p in refused(root)}
    # The line of the rule's `when` (or at least of the rule) must be given.
    assert lines["RSA-FINDING-PCOS"] is not None
    assert lines["RSA-FINDING-UTERINE"] is not None
    assert lines["RSA-FINDING-PCOS"] <= first
    assert lines["RSA-FINDING-UTERINE"] <= second


# -- a retired id used again -----------------------------------------------------------------

RETIRED = "retired:\n  - {id: RSA-IMMUNO-IVIG, retired_in: 0.9.0, reason: replaced}\n"


def test_retired_id_reused_is_refused(tmp_path: Path) -> None:
    root = copy_rules(tmp_path)
    edit(root, "retired.yaml", "retired: []\n", RETIRED)
    problems = refused(root)
    assert len(problems) == 1, problems
    problem = problems[0]
    assert problem.rule_id == "RSA-IMMUNO-IVIG"
    assert problem.file == "retired.yaml"
    assert "retired id RSA-IMMUNO-IVIG is used again in immunotherapy.yaml" in problem.message


def test_retired_id_problem_has_field_and_line(tmp_path: Path) -> None:
    root = copy_rules(tmp_path)
    edit(root, "retired.yaml", "retired: []\n", RETIRED)
    (problem,) = refused(root)
    assert problem.field is not None
    assert problem.line is not None


# -- the linter's proofs ---------------------------------------------------------------------

CONTRADICTING_RULE = """
  - id: RSA-ANTICOAG-UNEXPLAINED-HEPARIN
    kind: recommendation
    version: 1
    title: Heparin plus low-dose aspirin for unexplained recurrent loss (contradicts the trials)
    condition_text: Unexplained recurrent pregnancy loss.
    when: {finding: unexplained-recurrent-loss}
    then:
      - action: recommend
        intervention: heparin-plus-low-dose-aspirin
        summary: "Recommend heparin plus low-dose aspirin: unexplained recurrent loss"
    citations:
      - {source: seed-heparin, note: A rule added by a test to contradict another.}
    evidence:
      grade: test only
"""


def _known_facts(witness: dict[str, Any], kb: KnowledgeBase) -> dict[str, Any]:
    """The witness's known engine facts (unknown ones are left out, as the engine does)."""
    return {
        name: value
        for name, value in witness.items()
        if isinstance(value, str | int | float) and name in kb.facts
    }


def test_opposite_actions_are_reported_with_a_patient(tmp_path: Path) -> None:
    root = copy_rules(tmp_path)
    append_rule(root, "anticoagulation.yaml", CONTRADICTING_RULE)
    kb = load_knowledge(root)  # it is valid as data; only the proof finds the contradiction

    report = lint_knowledge(root)
    assert not report.ok
    contradictions = [p for p in report.errors if "opposite actions" in p.message]
    assert len(contradictions) == 1, [str(p) for p in report.errors]
    problem = contradictions[0]
    assert problem.file == "anticoagulation.yaml"
    assert problem.rule_id in ("RSA-ANTICOAG-UNEXPLAINED-HEPARIN", "RSA-ANTICOAG-UNEXPLAINED")
    assert "RSA-ANTICOAG-UNEXPLAINED-HEPARIN" in problem.message
    assert "RSA-ANTICOAG-UNEXPLAINED " in problem.message
    assert "heparin-plus-low-dose-aspirin" in problem.message
    assert "counted_losses=" in problem.message  # the patient is shown

    added = kb.rules_by_id["RSA-ANTICOAG-UNEXPLAINED-HEPARIN"]
    existing = kb.rules_by_id["RSA-ANTICOAG-UNEXPLAINED"]
    witness = opposite_action_witness(kb, added, existing)
    assert witness is not None
    assert set(witness) <= set(kb.facts)
    facts = _known_facts(witness, kb)
    assert facts.get("counted_losses", 0) >= kb.parameter("recurrent_loss_threshold")
    # The witness really is a patient for whom both rules fire.
    for rule in (added, existing):
        outcome = conditions.evaluate(rule.condition, facts, kb.resolve)
        assert outcome.value is conditions.Tri.TRUE, rule.id


def test_bundled_rules_have_no_opposite_actions() -> None:
    kb = load_knowledge()
    witness = opposite_action_witness(
        kb, kb.rules_by_id["RSA-ANTICOAG-APS"], kb.rules_by_id["RSA-ANTICOAG-UNEXPLAINED"]
    )
    assert witness is None
    report = lint_knowledge()
    assert report.ok, [str(p) for p in report.errors]
    assert report.checked_pairs > 0


def _oversized_rule(pairs: int) -> str:
    facts = [
        ("smoking", "alcohol"),
        ("drug_use", "pcos"),
        ("bleeding_disorder", "active_bleeding"),
        ("heparin_allergy", "aspirin_allergy"),
        ("osteoporosis", "thyroid_disease"),
        ("severe_malnutrition", "uterine_or_cervical_problem"),
    ][:pairs]
    items = ", ".join(
        f"{{all: [{{fact: {a}, eq: true}}, {{fact: {b}, eq: true}}]}}" for a, b in facts
    )
    return f"""
  - id: RSA-SUPPORT-OVERSIZED
    kind: recommendation
    version: 1
    title: A condition too big for one durable_rules rule
    condition_text: Any of several pairs of risk factors.
    when: {{any: [{items}]}}
    then:
      - action: refer
        intervention: specialist-review
        summary: "Refer for specialist review: several risk factors"
    citations:
      - {{source: seed-medlineplus, note: A rule added by a test.}}
    evidence:
      grade: test only
"""


def test_rule_over_durable_slot_limit_is_reported(tmp_path: Path) -> None:
    root = copy_rules(tmp_path)
    append_rule(root, "support.yaml", _oversized_rule(6))
    kb = load_knowledge(root)
    slots = expression_slots(compile_knowledge(kb).ruleset["RSA-SUPPORT-OVERSIZED"]["all"])
    assert slots > DURABLE_SLOT_LIMIT == 31

    report = lint_knowledge(root)
    assert not report.ok
    assert len(report.errors) == 1, [str(p) for p in report.errors]
    problem = report.errors[0]
    assert problem.file == "support.yaml"
    assert problem.rule_id == "RSA-SUPPORT-OVERSIZED"
    assert problem.field == "when"
    assert f"needs {slots} expression slots" in problem.message
    assert "durable_rules allows 31" in problem.message


def test_rule_within_durable_slot_limit_passes(tmp_path: Path) -> None:
    root = copy_rules(tmp_path)
    append_rule(root, "support.yaml", _oversized_rule(2))
    kb = load_knowledge(root)
    slots = expression_slots(compile_knowledge(kb).ruleset["RSA-SUPPORT-OVERSIZED"]["all"])
    assert slots <= DURABLE_SLOT_LIMIT
    report = lint_knowledge(root)
    assert report.ok, [str(p) for p in report.errors]


def test_a_summary_of_exactly_140_characters_is_refused(tmp_path: Path) -> None:
    """CDS Hooks requires a card summary of fewer than 140 characters."""
    root = copy_rules(tmp_path)
    text = "Avoid IVIg: " + "x" * (140 - len("Avoid IVIg: "))
    assert len(text) == 140
    edit(
        root,
        "immunotherapy.yaml",
        'summary: "Avoid IVIg: immunoglobulin is not supported for recurrent miscarriage, '
        'with or without APS"',
        f'summary: "{text}"',
    )
    problems = refused(root)
    assert [(p.rule_id, p.field) for p in problems] == [("RSA-IMMUNO-IVIG", "then.0.summary")]
