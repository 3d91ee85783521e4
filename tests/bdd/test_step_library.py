"""The step vocabulary: every step of features/ has exactly one meaning; names resolve."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_bdd.parser import FeatureParser
from pytest_bdd.steps import StepFunctionContext, step_function_context_registry

import rsa_rules
from rsa_rules.bdd import plugin, steps
from rsa_rules.bdd.vocabulary import ScenarioError, Vocabulary, VocabularyError

from ..conftest import ROOT

FEATURES = ROOT / "features"


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return Vocabulary(rsa_rules.default_engine().knowledge)


def _library() -> list[StepFunctionContext]:
    return [
        context
        for context in list(step_function_context_registry.values())
        if context.step_func.__module__ == steps.__name__
    ]


def _feature_steps() -> list[tuple[str, str, str]]:
    """(where, type, text) of every step in features/, outlines rendered with each example."""
    found = []
    for path in sorted(FEATURES.glob("*.feature")):
        feature = FeatureParser(str(FEATURES), path.name).parse()
        for template in feature.scenarios.values():
            contexts = [c for e in template.examples for c in e.as_contexts()] or [{}]
            for context in contexts:
                for step in template.render(context).steps:
                    found.append((f"{path.name}:{step.line_number}", step.type, step.name))
    return found


def test_every_step_in_the_features_matches_exactly_one_definition() -> None:
    library = _library()
    assert len(library) > 40
    problems = []
    for where, kind, text in _feature_steps():
        matches = [c for c in library if c.type == kind and c.parser.is_matching(text)]
        if len(matches) != 1:
            names = [c.step_func.__name__ for c in matches]
            problems.append(f"{where}: {kind} {text!r} matches {names or 'nothing'}")
    assert problems == []


def test_intervention_names_accept_labels_abbreviations_and_ids(vocabulary: Vocabulary) -> None:
    assert vocabulary.intervention("IVIg") == "ivig"
    assert vocabulary.intervention("intravenous immunoglobulin") == "ivig"
    assert vocabulary.intervention("intravenous immunoglobulin (IVIg)") == "ivig"
    assert vocabulary.intervention("heparin plus low-dose aspirin") == (
        "heparin-plus-low-dose-aspirin"
    )
    assert vocabulary.intervention("heparin-plus-low-dose-aspirin") == (
        "heparin-plus-low-dose-aspirin"
    )
    assert vocabulary.intervention("heparin") == "heparin"
    assert vocabulary.intervention("Rh immunoglobulin") == "rh-immunoglobulin"
    assert vocabulary.intervention("anti-D") == "rh-immunoglobulin"
    assert vocabulary.intervention("a specialist review") == "specialist-review"


def test_intervention_names_accept_the_vocabulary_synonyms(vocabulary: Vocabulary) -> None:
    assert vocabulary.intervention("NK cell test") == "immunological-testing"
    assert vocabulary.intervention("HLA typing") == "immunological-testing"
    assert vocabulary.intervention("a cytokine panel") == "immunological-testing"
    assert vocabulary.intervention("karyotype of both partners") == "parental-karyotype"
    assert vocabulary.intervention("sperm DNA fragmentation test") == "sperm-dna-testing"
    assert vocabulary.intervention("an infection screen") == "infection-screening"


def test_an_unknown_intervention_lists_the_known_ones(vocabulary: Vocabulary) -> None:
    with pytest.raises(VocabularyError) as caught:
        vocabulary.intervention("heparn plus low-dose aspirin")
    message = str(caught.value)
    assert "unknown intervention 'heparn plus low-dose aspirin'" in message
    assert "did you mean 'heparin plus low-dose aspirin" in message
    assert "Known interventions:" in message
    assert "intravenous immunoglobulin (IVIg) (ivig)" in message
    assert "lymphocyte immunotherapy" in message
    assert isinstance(caught.value, AssertionError)  # pytest reports a failed check


def test_other_words_fail_clearly(vocabulary: Vocabulary) -> None:
    with pytest.raises(VocabularyError, match="unknown finding 'aps maybe'"):
        vocabulary.finding("aps maybe")
    with pytest.raises(VocabularyError, match="unknown rule 'RSA-NOPE'"):
        vocabulary.rule("RSA-NOPE")
    with pytest.raises(VocabularyError, match="unknown source 'nobody-2020'"):
        vocabulary.source("nobody-2020")
    with pytest.raises(VocabularyError, match="unknown antiphospholipid test"):
        vocabulary.apl_test("anticardiolipin IgA")
    with pytest.raises(VocabularyError, match="unknown kind of pregnancy loss"):
        vocabulary.loss_kind("stillbirths")
    with pytest.raises(VocabularyError, match="unknown symptom 'fever'"):
        vocabulary.symptoms("bleeding and fever")
    with pytest.raises(VocabularyError, match="unknown fact 'blood group'"):
        vocabulary.facts("lupus anticoagulant and blood group")
    assert vocabulary.rule("rsa_anticoag_aps") == "RSA-ANTICOAG-APS"
    assert vocabulary.facts("the Rh status") == ("rh",)
    assert vocabulary.finding("APS confirmed") == "aps-confirmed"


def test_numbers_weeks_and_dates_are_checked() -> None:
    from rsa_rules.bdd.vocabulary import parse_count, parse_dates, parse_weeks

    assert parse_count("three") == 3
    assert parse_weeks("6, 7 and 8") == [6, 7, 8]
    assert parse_dates("2026-01-05 and 2026-04-10") == ["2026-01-05", "2026-04-10"]
    with pytest.raises(ScenarioError, match="not a number"):
        parse_count("several")
    with pytest.raises(ScenarioError, match="not a number of weeks"):
        parse_weeks("six")
    with pytest.raises(ScenarioError, match="YYYY-MM-DD"):
        parse_dates("5 January 2026")


def test_the_plugin_registers_the_steps_and_a_marker_per_rule(
    pytestconfig: pytest.Config,
) -> None:
    assert pytestconfig.pluginmanager.is_registered(steps)
    markers = "\n".join(pytestconfig.getini("markers"))
    for rule in rsa_rules.default_engine().knowledge.rules:
        tag = rule.id.lower().replace("-", "_")
        assert f"{tag}: scenario covers rule {rule.id}" in markers


def test_the_plugin_module_imports_without_pytest_bdd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pytest_bdd", None)  # import pytest_bdd -> ImportError
    spec = importlib.util.spec_from_file_location("rsa_plugin_without_bdd", plugin.__file__)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.HAVE_PYTEST_BDD is False


def test_pytest_runs_as_usual_when_pytest_bdd_is_missing(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    assert True\n")
    code = (
        "import sys; sys.modules['pytest_bdd'] = None\n"
        "import pytest\n"
        "sys.exit(pytest.main(['-q', '-p', 'rsa_rules.bdd.plugin', '-p', 'no:cacheprovider']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
