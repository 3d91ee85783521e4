"""A rule marked ``status: draft`` is validated like the others but never compiled or fired."""

from __future__ import annotations

from pathlib import Path

import pytest

from rsa_rules import Engine, KnowledgeError
from rsa_rules.cli import main
from rsa_rules.knowledge.compiler import compile_knowledge
from rsa_rules.knowledge.lint import lint_knowledge
from rsa_rules.knowledge.loader import load_knowledge

from .test_knowledge_errors import copy_rules, edit

IVIG = {"treatments": [{"intervention": "ivig", "status": "proposed"}]}
THREE_LOSSES = {
    "pregnancy_history": {"losses": [{"gestational_weeks": 7, "kind": "miscarriage"}] * 3}
}


def _mark_draft(root: Path, file: str, rule_id: str, version: int) -> int:
    """Give the rule ``status: draft``; the line of the edit."""
    line = f"    version: {version}\n"
    return edit(root, file, line, line + "    status: draft\n", after=f"id: {rule_id}")


def test_a_draft_rule_is_loaded_but_never_compiled_or_fired(tmp_path: Path) -> None:
    root = copy_rules(tmp_path)
    _mark_draft(root, "immunotherapy.yaml", "RSA-IMMUNO-IVIG", 2)
    kb = load_knowledge(root)
    assert [rule.id for rule in kb.drafts] == ["RSA-IMMUNO-IVIG"]
    assert "RSA-IMMUNO-IVIG" not in kb.rules_by_id
    assert "RSA-IMMUNO-IVIG" not in compile_knowledge(kb).ruleset
    assert lint_knowledge(root).ok
    evaluation = Engine(root).evaluate({**THREE_LOSSES, **IVIG})
    assert "RSA-IMMUNO-IVIG" not in {r.rule_id for r in evaluation.recommendations}
    answer = evaluation.why_not("ivig")
    assert "RSA-IMMUNO-IVIG" not in {check.rule_id for check in answer.rules}
    # The same facts with the rule active: it fires.
    active = Engine().evaluate({**THREE_LOSSES, **IVIG})
    assert "RSA-IMMUNO-IVIG" in {r.rule_id for r in active.recommendations}


def test_a_rule_in_force_may_not_read_a_draft_finding(tmp_path: Path) -> None:
    root = copy_rules(tmp_path)
    _mark_draft(root, "findings.yaml", "RSA-FINDING-RPL", 1)
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(root)
    messages = [str(problem) for problem in caught.value.problems]
    assert messages
    assert all(
        "finding recurrent-pregnancy-loss (of draft rule RSA-FINDING-RPL)" in m
        for m in messages
        if "draft" in m
    )
    assert any("a draft rule never fires" in m and "rule RSA-" in m for m in messages)
    with pytest.raises(KnowledgeError):
        Engine(root)


def test_lint_lists_draft_and_retired_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = copy_rules(tmp_path)
    line = _mark_draft(root, "immunotherapy.yaml", "RSA-IMMUNO-IVIG", 2)
    (root / "retired.yaml").write_text(
        "retired:\n  - {id: RSA-OLD-EXAMPLE, retired_in: 1.1.0, reason: merged into another}\n",
        encoding="utf-8",
    )
    assert main(["lint", str(root)]) == 0
    out = capsys.readouterr().out.splitlines()
    drafts = [text for text in out if text.startswith("ok: draft")]
    assert len(drafts) == 1
    assert drafts[0].startswith("ok: draft, checked but not compiled: RSA-IMMUNO-IVIG")
    assert "immunotherapy.yaml:" in drafts[0]
    assert int(drafts[0].rsplit(":", 1)[1].rstrip(")")) <= line
    assert "ok: retired in 1.1.0: RSA-OLD-EXAMPLE (merged into another)" in out
