"""``why_not`` and the command line read an intervention by any name the knowledge base gives
it (the names the clinicians' step library reads too), and say what they know otherwise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rsa_rules
from rsa_rules import KnowledgeError, UnknownInterventionError
from rsa_rules.cli import main
from rsa_rules.knowledge.loader import load_knowledge

from ..conftest import EXAMPLES
from .test_knowledge_errors import copy_rules, edit

APS = json.loads((EXAMPLES / "aps-three-losses.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("name", "intervention"),
    [
        ("ivig", "ivig"),
        ("IVIg", "ivig"),
        ("intravenous immunoglobulin", "ivig"),
        ("LIT", "lymphocyte-immunotherapy"),
        ("active immunotherapy", "lymphocyte-immunotherapy"),
        ("aspirin", "low-dose-aspirin"),
        ("anti-D", "rh-immunoglobulin"),
        ("Heparin with low-dose aspirin", "heparin-plus-low-dose-aspirin"),
        ("NK cell test", "immunological-testing"),
    ],
)
def test_why_not_reads_an_intervention_by_any_of_its_names(name: str, intervention: str) -> None:
    evaluation = rsa_rules.evaluate(APS)
    answer = evaluation.why_not(name)
    assert answer.intervention == intervention
    assert answer == evaluation.why_not(intervention)


def test_an_unknown_name_suggests_the_nearest_and_lists_the_valid_ones() -> None:
    evaluation = rsa_rules.evaluate(APS)
    with pytest.raises(UnknownInterventionError) as caught:
        evaluation.why_not("heparn")
    message = str(caught.value)
    assert "did you mean 'heparin'?" in message
    assert "known: heparin-plus-low-dose-aspirin, heparin, low-dose-aspirin, ivig" in message
    assert caught.value.known == list(rsa_rules.default_engine().interventions)


def test_immunoglobulin_alone_names_nothing() -> None:
    """IVIg and anti-D are both immunoglobulins: the bare word does not choose for the user."""
    kb = load_knowledge()
    with pytest.raises(UnknownInterventionError):
        kb.intervention_named("immunoglobulin")


def test_why_not_heparin_shows_what_was_said_about_heparin_with_aspirin(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    evaluation = rsa_rules.evaluate(APS)
    answer = evaluation.why_not("heparin")
    assert answer.produced == []
    related = [(r.action, r.intervention) for r in answer.related]
    assert ("recommend", "heparin-plus-low-dose-aspirin") in related
    assert all(r.intervention != "heparin" for r in answer.related)
    facts = tmp_path / "aps.json"
    facts.write_text(json.dumps(APS), encoding="utf-8")
    assert main(["why-not", str(facts), "Heparin"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Why not heparin?")
    assert "- related: recommend heparin-plus-low-dose-aspirin (RSA-ANTICOAG-APS)" in out


def test_a_name_that_names_two_interventions_is_refused(tmp_path: Path) -> None:
    root = copy_rules(tmp_path)
    edit(root, "vocabulary.yaml", "synonyms: [aspirin]", "synonyms: [aspirin, heparin]")
    with pytest.raises(KnowledgeError, match="the name 'heparin' names 2 interventions"):
        load_knowledge(root)
