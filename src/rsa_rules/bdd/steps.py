"""The step library: Gherkin steps in clinical language, run against the rsa-rules engine.

The pytest plugin (:mod:`rsa_rules.bdd.plugin`) registers this module, so any project with
``rsa-rules[bdd]`` installed can run its own ``.feature`` files with no step code of its own.
The README's section "Clinician-readable scenarios (BDD)" lists every step.

State passes between steps through fixtures (``target_fixture``):

- ``rsa_patient_facts``: the facts document (CONTRACT.md format) that Given steps build;
- ``rsa_evaluation``: the :class:`~rsa_rules.Evaluation` of "When the guidance is evaluated";
- ``rsa_subject``: the recommendation a Then step found, which later steps call "it";
- ``rsa_engine`` (session): the engine; the ini option ``rsa_rules_knowledge`` names another
  knowledge base directory.

A check that fails raises :class:`~rsa_rules.bdd.report.GuidanceMismatch` (an
``AssertionError``) whose message says what was expected, what the engine answered and why,
in words a clinician can read (:mod:`rsa_rules.bdd.report`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from ..engine import Engine, default_engine
from ..errors import FactsError
from ..models.results import Evaluation, Reason, Recommendation, RuleCheck, WhyNot
from .report import (
    GuidanceMismatch,
    describe_evaluation,
    describe_recommendation,
    indent,
    reason_lines,
)
from .vocabulary import (
    ACTION_WORDS,
    CONDITIONS,
    HABITS,
    LOSS_KINDS,
    NO_CONDITION_VALUES,
    ScenarioError,
    Vocabulary,
    VocabularyError,
    normalise,
    parse_count,
    parse_dates,
    parse_weeks,
    split_names,
    whole_number,
)

__all__ = [
    "GuidanceMismatch",
    "ScenarioError",
    "Subject",
    "VocabularyError",
    "describe_evaluation",
    "describe_recommendation",
]


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


COUNT = r"(?P<count>\d+|no|zero|a|an|one|two|three|four|five|six|seven|eight|nine|ten)"
WEEKS = r"(?P<weeks>\d+(?:\.\d+)?(?:(?:,\s*|\s+and\s+)\d+(?:\.\d+)?)*)"
DATES = r"(?P<dates>\d{4}-\d{2}-\d{2}(?:(?:,\s*|\s+and\s+)\d{4}-\d{2}-\d{2})*)"
LOSS_WORDS = _alternation(LOSS_KINDS)
KARYOTYPE = (
    r"(?: with an? (?P<karyotype>normal|abnormal|unbalanced[ -]structural|failed) fetal karyotype)?"
)
POSITIVE_VERBS = (
    "recommended|to be considered|considered|advised against|to be avoided|avoided|"
    "requested|offered"
)
NEGATIVE_VERBS = "recommended|considered|advised against|avoided|requested|offered"


# -- state --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """What "it" refers to: the recommendations a Then step matched (the first is shown)."""

    wanted: str
    recommendations: tuple[Recommendation, ...]
    evaluation: Evaluation = field(repr=False)

    @property
    def recommendation(self) -> Recommendation:
        return self.recommendations[0]


@lru_cache(maxsize=8)
def _engine_for(path: str) -> Engine:
    return default_engine() if not path else Engine(path)


@pytest.fixture(scope="session")
def rsa_engine(request: pytest.FixtureRequest) -> Engine:
    """The engine scenarios run against (ini option ``rsa_rules_knowledge`` picks another)."""
    try:
        configured = str(request.config.getini("rsa_rules_knowledge") or "")
    except ValueError:  # pragma: no cover - the plugin declares the option
        configured = ""
    if configured and not Path(configured).is_absolute():
        configured = str(request.config.rootpath / configured)
    return _engine_for(configured)


@pytest.fixture(scope="session")
def rsa_vocabulary(rsa_engine: Engine) -> Vocabulary:
    """The words steps accept, from the engine's knowledge base."""
    return Vocabulary(rsa_engine.knowledge)


@pytest.fixture
def rsa_patient_facts() -> dict[str, Any]:
    """The facts document the Given steps build (empty: everything unknown)."""
    return {}


@pytest.fixture
def rsa_evaluation() -> Evaluation:
    """Replaced by "When the guidance is evaluated"; asking for it before then is an error."""
    raise ScenarioError(
        "there is no evaluation yet: add the step 'When the guidance is evaluated' "
        "before the Then steps"
    )


@pytest.fixture
def rsa_subject() -> Subject:
    """Replaced by a Then step that finds a recommendation; "it" before then is an error."""
    raise ScenarioError(
        "'it' refers to a recommendation found by an earlier step, such as "
        "'Then heparin plus low-dose aspirin is recommended'; there is none yet"
    )


# -- Given: the patient -------------------------------------------------------------------


def _losses(
    count: int, kind: str | None, weeks: str | None, karyotype: str | None
) -> list[dict[str, Any]]:
    listed = parse_weeks(weeks) if weeks else []
    if weeks and len(listed) != count:
        raise ScenarioError(
            f"{count} losses but {len(listed)} gestational ages ({weeks} weeks): "
            "give one age per loss"
        )
    losses: list[dict[str, Any]] = []
    for index in range(count):
        loss: dict[str, Any] = {}
        if listed:
            loss["gestational_weeks"] = whole_number(listed[index])
        if kind is not None:
            loss["kind"] = kind
        if karyotype:
            loss["fetal_karyotype"] = karyotype.replace(" ", "-")
        losses.append(loss)
    return losses


@given(parsers.re(r"a patient"), target_fixture="rsa_patient_facts")
@given(
    parsers.re(r"a patient with no pregnancy history recorded"), target_fixture="rsa_patient_facts"
)
def _a_patient() -> dict[str, Any]:
    return {}


@given(
    parsers.re(
        rf"a patient with {COUNT} (?:previous )?(?:(?P<order>consecutive|non-consecutive) )?"
        rf"(?:previous )?(?P<kind>{LOSS_WORDS})(?: at {WEEKS} weeks?)?{KARYOTYPE}"
    ),
    target_fixture="rsa_patient_facts",
)
def _a_patient_with_losses(
    count: str,
    order: str | None,
    kind: str,
    weeks: str | None,
    karyotype: str | None,
    rsa_vocabulary: Vocabulary,
) -> dict[str, Any]:
    number = parse_count(count)
    loss_kind = rsa_vocabulary.loss_kind(kind)
    history: dict[str, Any] = {}
    if number == 0:
        history["losses"] = []
    elif weeks or loss_kind is not None or karyotype:
        history["losses"] = _losses(number, loss_kind, weeks, karyotype)
    else:
        history["loss_count"] = number
    if order:
        history["consecutive"] = order == "consecutive"
    return {"pregnancy_history": history}


@given(
    parsers.re(
        rf"she also had {COUNT} (?:previous )?(?P<kind>{LOSS_WORDS})(?: at {WEEKS} weeks?)?"
        rf"{KARYOTYPE}"
    )
)
def _she_also_had(
    count: str,
    kind: str,
    weeks: str | None,
    karyotype: str | None,
    rsa_patient_facts: dict[str, Any],
    rsa_vocabulary: Vocabulary,
) -> None:
    loss_kind = rsa_vocabulary.loss_kind(kind)
    history = rsa_patient_facts.setdefault("pregnancy_history", {})
    history.setdefault("losses", []).extend(
        _losses(parse_count(count), loss_kind, weeks, karyotype)
    )


_LOSS_COLUMNS = {
    "weeks": "gestational_weeks",
    "gestationalweeks": "gestational_weeks",
    "gestationalage": "gestational_weeks",
    "kind": "kind",
    "karyotype": "fetal_karyotype",
    "fetalkaryotype": "fetal_karyotype",
    "date": "date",
}


@given(parsers.re(r"a patient with these pregnancy losses:"), target_fixture="rsa_patient_facts")
def _a_patient_with_these_losses(
    datatable: list[list[str]], rsa_vocabulary: Vocabulary
) -> dict[str, Any]:
    header, *rows = datatable
    columns = []
    for name in header:
        key = _LOSS_COLUMNS.get(normalise(name))
        if key is None:
            names = ["weeks", "kind", "fetal karyotype", "date"]
            raise VocabularyError("column of the losses table", name, names)
        columns.append(key)
    losses = []
    for row in rows:
        loss: dict[str, Any] = {}
        for key, cell in zip(columns, row, strict=True):
            text = cell.strip()
            if not text:
                continue
            if key == "gestational_weeks":
                loss[key] = whole_number(parse_weeks(text)[0])
            elif key == "kind":
                kind = rsa_vocabulary.loss_kind(text)
                if kind is not None:
                    loss[key] = kind
            elif key == "date":
                loss[key] = parse_dates(text)[0]
            else:
                loss[key] = text
        losses.append(loss)
    return {"pregnancy_history": {"losses": losses}}


@given(parsers.re(r"the losses were (?P<negation>not )?consecutive"))
def _consecutive(negation: str | None, rsa_patient_facts: dict[str, Any]) -> None:
    rsa_patient_facts.setdefault("pregnancy_history", {})["consecutive"] = not negation


@given(parsers.re(r"she is (?P<age>\d+) years old"))
def _age(age: str, rsa_patient_facts: dict[str, Any]) -> None:
    rsa_patient_facts["age"] = int(age)


@given(parsers.re(rf"she has had {COUNT} live births?"))
def _live_births(count: str, rsa_patient_facts: dict[str, Any]) -> None:
    rsa_patient_facts.setdefault("pregnancy_history", {})["live_births"] = parse_count(count)


@given(
    parsers.re(
        r"she had a preterm birth before 34 weeks for severe pre-eclampsia"
        r"(?:, eclampsia)? or placental insufficiency"
    )
)
def _preterm(rsa_patient_facts: dict[str, Any]) -> None:
    history = rsa_patient_facts.setdefault("pregnancy_history", {})
    history["preterm_birth_before_34_weeks_placental"] = True


@given(parsers.re(rf"she has (?P<negation>no )?(?P<condition>{_alternation(CONDITIONS)})"))
def _condition(negation: str | None, condition: str, rsa_patient_facts: dict[str, Any]) -> None:
    section, name, value = CONDITIONS[condition]
    if negation:
        value = NO_CONDITION_VALUES.get(name, False)
    target = rsa_patient_facts if not section else rsa_patient_facts.setdefault(section, {})
    target[name] = value


@given(parsers.re(r"she has no diabetes"))
def _no_diabetes(rsa_patient_facts: dict[str, Any]) -> None:
    rsa_patient_facts.setdefault("risk_factors", {})["diabetes"] = "none"


@given(parsers.re(rf"she (?P<habit>{_alternation(HABITS)})"))
def _habit(habit: str, rsa_patient_facts: dict[str, Any]) -> None:
    name, value = HABITS[habit]
    rsa_patient_facts.setdefault("risk_factors", {})[name] = value


# -- Given: antiphospholipid antibodies and inherited thrombophilia ------------------------


def _add_results(facts: dict[str, Any], results: Iterable[dict[str, Any]]) -> None:
    facts.setdefault("antiphospholipid", {}).setdefault("results", []).extend(results)


@given(parsers.re(rf"(?P<test>.+?) was (?P<result>positive|negative) on {DATES}"))
def _apl_result(
    test: str,
    result: str,
    dates: str,
    rsa_patient_facts: dict[str, Any],
    rsa_vocabulary: Vocabulary,
) -> None:
    key = rsa_vocabulary.apl_test(test)
    _add_results(
        rsa_patient_facts, [{"test": key, "date": d, "result": result} for d in parse_dates(dates)]
    )


@given(
    parsers.re(
        r"(?P<test>.+?) was (?P<value>\d+(?:\.\d+)?) (?P<unit>GPL|MPL|U/mL)"
        rf"(?:, (?P<flag>(?:not )?above the 99th percentile),)? on {DATES}"
    )
)
def _apl_titre(
    test: str,
    value: str,
    unit: str,
    flag: str | None,
    dates: str,
    rsa_patient_facts: dict[str, Any],
    rsa_vocabulary: Vocabulary,
) -> None:
    key = rsa_vocabulary.apl_test(test)
    reading: dict[str, Any] = {"value": whole_number(float(value)), "unit": unit}
    if flag:
        reading["above_99th_percentile"] = not flag.startswith("not")
    _add_results(
        rsa_patient_facts, [{"test": key, "date": d, **reading} for d in parse_dates(dates)]
    )


@given(parsers.re(rf"(?P<test>.+?) was (?P<flag>(?:not )?above) the 99th percentile on {DATES}"))
def _apl_flag(
    test: str, flag: str, dates: str, rsa_patient_facts: dict[str, Any], rsa_vocabulary: Vocabulary
) -> None:
    key = rsa_vocabulary.apl_test(test)
    above = not flag.startswith("not")
    _add_results(
        rsa_patient_facts,
        [{"test": key, "date": d, "above_99th_percentile": above} for d in parse_dates(dates)],
    )


@given(parsers.re(rf"the antiphospholipid screening tests were negative on {DATES}"))
def _apl_screening_negative(dates: str, rsa_patient_facts: dict[str, Any]) -> None:
    tests = ("lupus-anticoagulant", "anticardiolipin-igg", "anticardiolipin-igm")
    _add_results(
        rsa_patient_facts,
        [{"test": t, "date": d, "result": "negative"} for d in parse_dates(dates) for t in tests],
    )


_RESULT_COLUMNS = {
    "test": "test",
    "date": "date",
    "result": "result",
    "value": "value",
    "unit": "unit",
    "above99thpercentile": "above_99th_percentile",
    "99thpercentile": "above_99th_percentile",
}


@given(parsers.re(r"the antiphospholipid results are:"))
def _apl_table(
    datatable: list[list[str]], rsa_patient_facts: dict[str, Any], rsa_vocabulary: Vocabulary
) -> None:
    header, *rows = datatable
    columns = []
    for name in header:
        key = _RESULT_COLUMNS.get(normalise(name))
        if key is None:
            names = ["test", "date", "result", "value", "unit", "above 99th percentile"]
            raise VocabularyError("column of the antiphospholipid table", name, names)
        columns.append(key)
    results = []
    for row in rows:
        result: dict[str, Any] = {}
        for key, cell in zip(columns, row, strict=True):
            text = cell.strip()
            if not text:
                continue
            if key == "test":
                result[key] = rsa_vocabulary.apl_test(text)
            elif key == "date":
                result[key] = parse_dates(text)[0]
            elif key == "value":
                result[key] = whole_number(float(text))
            elif key == "above_99th_percentile":
                result[key] = _yes_no(text)
            else:
                result[key] = text
        results.append(result)
    _add_results(rsa_patient_facts, results)


def _yes_no(text: str) -> bool:
    answer = text.strip().lower()
    if answer in ("yes", "true", "above"):
        return True
    if answer in ("no", "false", "not above"):
        return False
    raise ScenarioError(f"{text!r} is neither yes nor no")


@given(
    parsers.re(
        r"a clinician recorded antiphospholipid syndrome as (?P<diagnosis>confirmed|excluded)"
    )
)
def _apl_diagnosis(diagnosis: str, rsa_patient_facts: dict[str, Any]) -> None:
    rsa_patient_facts.setdefault("antiphospholipid", {})["diagnosis"] = diagnosis


@given(
    parsers.re(
        r"(?P<gene>factor V Leiden|prothrombin G20210A) (?:is|was) "
        r"(?P<genotype>negative|heterozygous|homozygous)"
    )
)
def _genotype(gene: str, genotype: str, rsa_patient_facts: dict[str, Any]) -> None:
    name = "factor_v_leiden" if gene.startswith("factor") else "prothrombin_g20210a"
    rsa_patient_facts.setdefault("inherited_thrombophilia", {})[name] = genotype


@given(
    parsers.re(
        r"(?P<protein>protein C|protein S|antithrombin) deficiency (?:is|was) "
        r"(?P<presence>present|absent)"
    )
)
def _deficiency(protein: str, presence: str, rsa_patient_facts: dict[str, Any]) -> None:
    name = protein.lower().replace(" ", "_") + "_deficiency"
    rsa_patient_facts.setdefault("inherited_thrombophilia", {})[name] = presence == "present"


@given(parsers.re(r"the inherited thrombophilia tests were (?:all )?negative"))
def _inherited_negative(rsa_patient_facts: dict[str, Any]) -> None:
    rsa_patient_facts["inherited_thrombophilia"] = {
        "factor_v_leiden": "negative",
        "prothrombin_g20210a": "negative",
        "protein_c_deficiency": False,
        "protein_s_deficiency": False,
        "antithrombin_deficiency": False,
    }


# -- Given: now ---------------------------------------------------------------------------


@given(
    parsers.re(r"she is pregnant(?: at (?P<weeks>\d+(?:\.\d+)?) weeks)?(?: with (?P<symptoms>.+))?")
)
def _pregnant(
    weeks: str | None,
    symptoms: str | None,
    rsa_patient_facts: dict[str, Any],
    rsa_vocabulary: Vocabulary,
) -> None:
    pregnancy: dict[str, Any] = {}
    if weeks:
        pregnancy["gestational_weeks"] = whole_number(float(weeks))
    if symptoms:
        pregnancy["symptoms"] = rsa_vocabulary.symptoms(symptoms)
    rsa_patient_facts["current_pregnancy"] = pregnancy


@given(parsers.re(r"she is having a miscarriage(?: at (?P<weeks>\d+(?:\.\d+)?) weeks)?"))
def _miscarriage_now(weeks: str | None, rsa_patient_facts: dict[str, Any]) -> None:
    miscarriage = rsa_patient_facts.setdefault("current_miscarriage", {})
    if weeks:
        miscarriage["gestational_weeks"] = whole_number(float(weeks))


@given(parsers.re(r"(?P<negation>no )?pregnancy tissue is retained"))
def _retained(negation: str | None, rsa_patient_facts: dict[str, Any]) -> None:
    rsa_patient_facts.setdefault("current_miscarriage", {})["retained_tissue"] = not negation


@given(parsers.re(r"she has (?P<negation>no )?signs of infection"))
def _infection(negation: str | None, rsa_patient_facts: dict[str, Any]) -> None:
    rsa_patient_facts.setdefault("current_miscarriage", {})["infection_signs"] = not negation


@given(parsers.re(r"she is Rh (?P<rh>negative|positive)"))
def _rh(rh: str, rsa_patient_facts: dict[str, Any]) -> None:
    rsa_patient_facts["rh"] = rh


@given(parsers.re(r"her Rh status is not recorded"))
def _rh_unknown(rsa_patient_facts: dict[str, Any]) -> None:
    rsa_patient_facts.pop("rh", None)


# -- Given: treatments, identity, raw facts ------------------------------------------------


# How a scenario states a treatment's reason (the facts format's treatments[].reason).
TREATMENT_REASONS = {
    "to prevent miscarriage": "recurrent-pregnancy-loss",
    "for another indication": "other",
    "with no reason stated": None,
}


@given(
    parsers.re(
        r"(?P<name>.+?) (?:is|was|has been) (?:already )?"
        r"(?P<status>proposed|ordered|active|completed)"
        rf"(?: (?P<reason>{_alternation(TREATMENT_REASONS)}))?"
    )
)
def _treatment(
    name: str,
    status: str,
    reason: str | None,
    rsa_patient_facts: dict[str, Any],
    rsa_vocabulary: Vocabulary,
) -> None:
    intervention = rsa_vocabulary.intervention(name)
    entry = {"intervention": intervention, "status": status}
    stated = TREATMENT_REASONS.get(reason) if reason else None
    if stated is not None:
        entry["reason"] = stated
    rsa_patient_facts.setdefault("treatments", []).append(entry)


@given(parsers.re(r"no treatment is proposed, ordered or active"))
def _no_treatment(rsa_patient_facts: dict[str, Any]) -> None:
    rsa_patient_facts["treatments"] = []


@given(parsers.re(r"the patient is identified as (?P<patient_id>\S+)"))
def _patient_id(patient_id: str, rsa_patient_facts: dict[str, Any]) -> None:
    rsa_patient_facts["id"] = patient_id


def _json_object(docstring: str) -> dict[str, Any]:
    try:
        data = json.loads(docstring)
    except json.JSONDecodeError as error:
        raise ScenarioError(f"the facts are not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ScenarioError("the facts must be a JSON object ({...})")
    return data


def _merge(target: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        current = target.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            _merge(current, value)
        elif isinstance(current, list) and isinstance(value, list):
            current.extend(value)
        else:
            target[key] = value


@given(parsers.re(r"a patient with these facts:"), target_fixture="rsa_patient_facts")
def _these_facts(docstring: str) -> dict[str, Any]:
    return _json_object(docstring)


@given(parsers.re(r"the facts also include:"))
def _more_facts(docstring: str, rsa_patient_facts: dict[str, Any]) -> None:
    _merge(rsa_patient_facts, _json_object(docstring))


# -- When ---------------------------------------------------------------------------------


@when(parsers.re(r"the guidance is evaluated"), target_fixture="rsa_evaluation")
def _evaluate(rsa_patient_facts: dict[str, Any], rsa_engine: Engine) -> Evaluation:
    try:
        return rsa_engine.evaluate(rsa_patient_facts)
    except FactsError as error:
        problems = "\n".join(
            f"{path or '(document)'}: {message}" for path, message in error.problems
        )
        facts = json.dumps(rsa_patient_facts, indent=2)
        raise ScenarioError(
            f"the scenario's facts are not valid:\n{indent(problems)}\n"
            f"The facts were:\n{indent(facts)}"
        ) from None


# -- Then: what is and is not advised -----------------------------------------------------


def _actions(verb: str) -> tuple[str, ...]:
    return ACTION_WORDS[verb]


def _verb_text(actions: Sequence[str]) -> str:
    return " or ".join(f'"{a}"' for a in actions)


def _found(
    evaluation: Evaluation, intervention: str, actions: Sequence[str]
) -> list[Recommendation]:
    return [
        r
        for r in evaluation.recommendations
        if r.intervention == intervention and r.action in actions
    ]


def _why_text(evaluation: Evaluation, intervention: str) -> str:
    produced = [r for r in evaluation.recommendations if r.intervention == intervention]
    parts = [describe_recommendation(r) for r in produced]
    parts.append(evaluation.why_not(intervention).to_text())
    return "\n".join(parts)


def _claim(label: str, verb: str, negation: str = "") -> str:
    """'X is recommended', 'X is not requested', 'the patient is referred for X'."""
    if verb == "referred":
        return f"the patient is {negation}referred for {label}"
    return f"{label} is {negation}{verb}"


def _expect_given(name: str, verb: str, evaluation: Evaluation, vocabulary: Vocabulary) -> Subject:
    intervention = vocabulary.intervention(name)
    actions = _actions(verb)
    found = _found(evaluation, intervention, actions)
    if not found:
        raise GuidanceMismatch(
            f"{_claim(vocabulary.intervention_label(intervention), verb)} "
            f"(action {_verb_text(actions)})",
            describe_evaluation(evaluation),
            _why_text(evaluation, intervention),
        )
    return Subject(name, tuple(found), evaluation)


def _expect_not_given(name: str, verb: str, evaluation: Evaluation, vocabulary: Vocabulary) -> str:
    intervention = vocabulary.intervention(name)
    actions = _actions(verb)
    found = _found(evaluation, intervention, actions)
    if found:
        raise GuidanceMismatch(
            f"{_claim(vocabulary.intervention_label(intervention), verb, 'not ')} "
            f"(no action {_verb_text(actions)})",
            describe_evaluation(evaluation),
            "\n\n".join(describe_recommendation(r) for r in found),
        )
    return intervention


@then(
    parsers.re(rf"(?P<name>.+?) is (?P<verb>{POSITIVE_VERBS})"),
    target_fixture="rsa_subject",
)
def _is_given(
    name: str, verb: str, rsa_evaluation: Evaluation, rsa_vocabulary: Vocabulary
) -> Subject:
    return _expect_given(name, verb, rsa_evaluation, rsa_vocabulary)


@then(parsers.re(r"the patient is referred for (?P<name>.+)"), target_fixture="rsa_subject")
def _is_referred(name: str, rsa_evaluation: Evaluation, rsa_vocabulary: Vocabulary) -> Subject:
    return _expect_given(name, "referred", rsa_evaluation, rsa_vocabulary)


@then(parsers.re(rf"(?P<name>.+?) is not (?P<verb>{NEGATIVE_VERBS})"))
def _is_not_given(
    name: str, verb: str, rsa_evaluation: Evaluation, rsa_vocabulary: Vocabulary
) -> None:
    _expect_not_given(name, verb, rsa_evaluation, rsa_vocabulary)


@then(parsers.re(r"the patient is not referred for (?P<name>.+)"))
def _is_not_referred(name: str, rsa_evaluation: Evaluation, rsa_vocabulary: Vocabulary) -> None:
    _expect_not_given(name, "referred", rsa_evaluation, rsa_vocabulary)


@then(parsers.re(r"the engine gives no recommendations"))
def _no_recommendations(rsa_evaluation: Evaluation) -> None:
    if rsa_evaluation.recommendations:
        raise GuidanceMismatch("no recommendations", describe_evaluation(rsa_evaluation))


@then(parsers.re(r"there is no guidance on (?P<name>.+)"))
def _no_guidance(name: str, rsa_evaluation: Evaluation, rsa_vocabulary: Vocabulary) -> None:
    intervention = rsa_vocabulary.intervention(name)
    found = [r for r in rsa_evaluation.recommendations if r.intervention == intervention]
    if found:
        raise GuidanceMismatch(
            f"no recommendation at all on {rsa_vocabulary.intervention_label(intervention)}",
            describe_evaluation(rsa_evaluation),
            "\n\n".join(describe_recommendation(r) for r in found),
        )


# -- Then: why not ------------------------------------------------------------------------


def _walk(reasons: Iterable[Reason]) -> Iterator[Reason]:
    for reason in reasons:
        yield reason
        yield from _walk(reason.because)


def _checks(
    answer: WhyNot, actions: Sequence[str], vocabulary: Vocabulary, verb: str
) -> list[RuleCheck]:
    checks = [c for c in answer.rules if c.action in actions]
    if not checks:
        others = ", ".join(f"{c.rule_id} ({c.action})" for c in answer.rules) or "none"
        label = vocabulary.intervention_label(answer.intervention)
        own = vocabulary.knowledge.interventions[answer.intervention].label
        # "heparin" is heparin alone; a rule may give the action to "heparin plus ...".
        meant = sorted(
            {
                vocabulary.intervention_label(out.intervention)
                for rule in vocabulary.knowledge.rules
                for out in rule.spec.then
                if out.action in actions
                and out.intervention != answer.intervention
                and own in vocabulary.knowledge.interventions[out.intervention].label
            }
        )
        hint = f" Did you mean {' or '.join(meant)}?" if meant else ""
        raise ScenarioError(
            f"no rule of the knowledge base can give {label} the action "
            f"{_verb_text(actions)}, so 'not {verb} because ...' cannot be checked. "
            f"Rules that produce it: {others}.{hint}"
        )
    return checks


def _facts_or_findings(text: str, vocabulary: Vocabulary) -> tuple[set[str], str]:
    """Ids (facts, or else findings) that ``text`` names, and how to say them."""
    try:
        facts = vocabulary.facts(text)
    except VocabularyError as fact_error:
        try:
            findings = [vocabulary.finding(text)]
        except VocabularyError:
            try:
                findings = [vocabulary.finding(part) for part in split_names(text)]
            except VocabularyError:
                raise fact_error from None
        return set(findings), ", ".join(vocabulary.finding_label(f) for f in findings)
    return set(facts), ", ".join(vocabulary.fact_label(f) for f in facts)


_WHY_FORMS = (
    "'<facts> is unknown' (or 'are unknown', 'is not recorded')",
    "'<finding> is not established'",
    "'it is blocked by <contraindication>'",
    "'of <fact or finding>'",
)


@then(parsers.re(rf"(?P<name>.+?) is not (?P<verb>{NEGATIVE_VERBS}) because (?P<why>.+)"))
def _is_not_given_because(
    name: str, verb: str, why: str, rsa_evaluation: Evaluation, rsa_vocabulary: Vocabulary
) -> None:
    intervention = _expect_not_given(name, verb, rsa_evaluation, rsa_vocabulary)
    answer = rsa_evaluation.why_not(intervention)
    checks = _checks(answer, _actions(verb), rsa_vocabulary, verb)
    open_checks = [c for c in checks if c.status != "fired"]
    label = rsa_vocabulary.intervention_label(intervention)
    explanation = answer.to_text()
    answered = "; ".join(f"{c.rule_id} {c.status}" for c in checks)

    unknown = re.fullmatch(r"(?P<names>.+?) (?:is|are) (?:unknown|not recorded)", why)
    unestablished = re.fullmatch(r"(?P<names>.+?) (?:is|are) not established", why)
    blocked = re.fullmatch(r"it is blocked by (?P<names>.+)", why)
    because_of = re.fullmatch(r"of (?P<names>.+)", why)
    if unknown:
        unknown_ids = {leaf.id for c in open_checks for leaf in c.unknown}
        read_ids = {r.id for c in open_checks for r in _walk(c.reasons)}
        not_unknown: list[str] = []
        for named in rsa_vocabulary.facts_named(unknown["names"]):
            # A group counts by the facts of it that these rules read; a fact by itself.
            relevant = [f for f in named.facts if f in read_ids] if named.group else named.facts
            if not relevant or any(f not in unknown_ids for f in relevant):
                not_unknown.append(named.words)
        if not_unknown:
            unknown_labels = sorted({rsa_vocabulary.fact_label(s) for s in unknown_ids})
            raise GuidanceMismatch(
                f"{label} is not {verb} because {', '.join(not_unknown)} unknown (not recorded)",
                f"rules: {answered}; unknown facts in them: "
                + (", ".join(unknown_labels) or "none"),
                explanation,
            )
    elif unestablished:
        findings = _findings_named(unestablished["names"], rsa_vocabulary)
        seen = {
            r.id
            for c in open_checks
            for r in _walk(c.reasons)
            if r.kind == "finding" and r.status != "met"
        }
        if not findings <= seen:
            names = ", ".join(rsa_vocabulary.finding_label(f) for f in sorted(findings - seen))
            raise GuidanceMismatch(
                f"{label} is not {verb} because {names} is not established",
                f"rules: {answered}",
                explanation,
            )
    elif blocked:
        wanted, names = _facts_or_findings(blocked["names"], rsa_vocabulary)
        seen = {
            r.id
            for c in open_checks
            if c.status == "blocked"
            for r in _walk(c.reasons)
            if r.status == "met"
        }
        if not wanted <= seen:
            raise GuidanceMismatch(
                f"{label} is not {verb} because a rule is blocked by {names}",
                f"rules: {answered}",
                explanation,
            )
    elif because_of:
        wanted, names = _facts_or_findings(because_of["names"], rsa_vocabulary)
        seen = {r.id for c in open_checks for r in _walk(c.reasons) if r.status == "not met"}
        if not wanted & seen:
            raise GuidanceMismatch(
                f"{label} is not {verb} because of {names} (a condition not met)",
                f"rules: {answered}",
                explanation,
            )
    else:
        raise ScenarioError(
            f"cannot read the reason {why!r}; write it as one of: " + "; ".join(_WHY_FORMS)
        )


def _findings_named(text: str, vocabulary: Vocabulary) -> set[str]:
    try:
        return {vocabulary.finding(text)}
    except VocabularyError:
        return {vocabulary.finding(part) for part in split_names(text)}


# -- Then: about "it" ---------------------------------------------------------------------


def _about(subject: Subject) -> str:
    return describe_recommendation(subject.recommendation)


@then(parsers.re(r"it is (?P<negation>not )?flagged as an alert"))
def _alert(negation: str | None, rsa_subject: Subject) -> None:
    rec = rsa_subject.recommendation
    if rec.alert == bool(negation):
        expected = "not flagged as an alert" if negation else "flagged as an alert"
        raise GuidanceMismatch(
            f"{rec.intervention_label} ({rec.action}, {rec.rule_id}) is {expected}",
            describe_evaluation(rsa_subject.evaluation),
            _about(rsa_subject),
        )


@then(parsers.re(r"it is flagged as an? (?P<certainty>stated|inferred) alert"))
def _alert_certainty(certainty: str, rsa_subject: Subject) -> None:
    rec = rsa_subject.recommendation
    if not rec.alert or rec.alert_certainty != certainty:
        got = f"an alert ({rec.alert_certainty})" if rec.alert else "not an alert"
        raise GuidanceMismatch(
            f"{rec.intervention_label} ({rec.action}, {rec.rule_id}) should be a {certainty} "
            f"alert; it is {got}",
            describe_evaluation(rsa_subject.evaluation),
            _about(rsa_subject),
        )


@then(parsers.re(r"it comes from rule (?P<rule>\S+)"), target_fixture="rsa_subject")
def _from_rule(rule: str, rsa_subject: Subject, rsa_vocabulary: Vocabulary) -> Subject:
    rule_id = rsa_vocabulary.rule(rule)
    matching = tuple(r for r in rsa_subject.recommendations if r.rule_id == rule_id)
    if not matching:
        rules = ", ".join(r.rule_id for r in rsa_subject.recommendations)
        raise GuidanceMismatch(
            f"{rsa_subject.wanted} comes from rule {rule_id}",
            f"it comes from {rules}",
            _about(rsa_subject),
        )
    return Subject(rsa_subject.wanted, matching, rsa_subject.evaluation)


@then(parsers.re(r"(?:the explanation|it) cites (?P<sources>.+)"))
def _cites(sources: str, rsa_subject: Subject, rsa_vocabulary: Vocabulary) -> None:
    rec = rsa_subject.recommendation
    wanted = [rsa_vocabulary.source(s) for s in split_names(sources)]
    cited = [c.id for c in rec.citations]
    missing = [s for s in wanted if s not in cited]
    if missing:
        raise GuidanceMismatch(
            f"the explanation of {rec.intervention_label} ({rec.rule_id}) cites "
            + ", ".join(missing),
            "it cites " + ", ".join(cited),
            _about(rsa_subject),
        )


@then(parsers.re(r"the explanation shows conflicting evidence from (?P<sources>.+)"))
def _conflicts(sources: str, rsa_subject: Subject, rsa_vocabulary: Vocabulary) -> None:
    rec = rsa_subject.recommendation
    wanted = [rsa_vocabulary.source(s) for s in split_names(sources)]
    shown = [c.citation.id for c in rec.evidence.conflicts]
    missing = [s for s in wanted if s not in shown]
    if missing:
        raise GuidanceMismatch(
            f"the explanation of {rec.intervention_label} ({rec.rule_id}) shows conflicting "
            "evidence from " + ", ".join(missing),
            "conflicting evidence shown: " + (", ".join(shown) or "none"),
            _about(rsa_subject),
        )


@then(
    parsers.re(
        r"the explanation marks the claim of (?P<source>\S+) as contradicted"
        r"(?: by (?P<by>.+))?"
    )
)
def _contradicted(
    source: str, by: str | None, rsa_subject: Subject, rsa_vocabulary: Vocabulary
) -> None:
    rec = rsa_subject.recommendation
    claimant = rsa_vocabulary.source(source)
    claims = [c for c in rec.evidence.contradicted_claims if c.citation.id == claimant]
    wanted = [rsa_vocabulary.source(s) for s in split_names(by)] if by else []
    if not claims or any(
        w not in [c.id for claim in claims for c in claim.contradicted_by] for w in wanted
    ):
        shown = [
            f"{c.citation.id} (contradicted by {', '.join(x.id for x in c.contradicted_by)})"
            for c in rec.evidence.contradicted_claims
        ]
        raise GuidanceMismatch(
            f"the claim of {claimant} is marked as contradicted"
            + (f" by {', '.join(wanted)}" if wanted else ""),
            "contradicted claims shown: " + ("; ".join(shown) or "none"),
            _about(rsa_subject),
        )


@then(parsers.re(r'its evidence grade (?P<how>is|mentions) "(?P<text>.+)"'))
def _grade(how: str, text: str, rsa_subject: Subject) -> None:
    grade = rsa_subject.recommendation.evidence.grade
    ok = grade == text if how == "is" else text.lower() in grade.lower()
    if not ok:
        raise GuidanceMismatch(
            f'the evidence grade {how} "{text}"', f'the grade is "{grade}"', _about(rsa_subject)
        )


@then(parsers.re(r"it is due on (?P<day>\d{4}-\d{2}-\d{2})"))
def _due(day: str, rsa_subject: Subject) -> None:
    due = rsa_subject.recommendation.due
    if due != date.fromisoformat(parse_dates(day)[0]):
        raise GuidanceMismatch(
            f"{rsa_subject.recommendation.intervention_label} is due on {day}",
            f"it is due on {due.isoformat() if due else '(no date given)'}",
            _about(rsa_subject),
        )


@then(parsers.re(r"it cautions (?:about|that) (?P<text>.+)"))
def _caution(text: str, rsa_subject: Subject) -> None:
    cautions = rsa_subject.recommendation.cautions
    if not any(text.lower() in c.lower() for c in cautions):
        raise GuidanceMismatch(
            f"a caution about {text}",
            "cautions: " + ("; ".join(cautions) or "none"),
            _about(rsa_subject),
        )


@then(parsers.re(r'the explanation mentions "(?P<text>.+)"'))
def _mentions(text: str, rsa_subject: Subject) -> None:
    rec = rsa_subject.recommendation
    blob = "\n".join(
        [
            describe_recommendation(rec),
            rec.condition_text,
            *(claim.claim for claim in rec.evidence.contradicted_claims),
            *(c.note for c in rec.citations),
        ]
    )
    if text.lower() not in blob.lower():
        raise GuidanceMismatch(
            f'the explanation of {rec.intervention_label} ({rec.rule_id}) mentions "{text}"',
            "it does not",
            _about(rsa_subject),
        )


@then(parsers.re(r"the explanation shows the input (?P<path>\S+)"))
def _input_path(path: str, rsa_subject: Subject) -> None:
    rec = rsa_subject.recommendation
    paths = {p for r in _walk(rec.because) for p in r.paths}
    if path not in paths:
        raise GuidanceMismatch(
            f"the explanation of {rec.intervention_label} ({rec.rule_id}) shows the input {path}",
            "inputs shown: " + (", ".join(sorted(paths)) or "none"),
            _about(rsa_subject),
        )


@then(parsers.re(r"it names (?P<names>.+) as (?P<which>not yet done|optional)"))
def _not_yet_done(names: str, which: str, rsa_subject: Subject, rsa_vocabulary: Vocabulary) -> None:
    rec = rsa_subject.recommendation
    listed = rec.not_yet_done if which == "not yet done" else rec.optional_not_yet_done
    wanted = [rsa_vocabulary.fact_label(f) for f in rsa_vocabulary.facts(names)]
    missing = [w for w in wanted if w not in listed]
    if missing:
        raise GuidanceMismatch(
            f"{rec.intervention_label} names {', '.join(missing)} as {which}",
            f"{which}: " + (", ".join(listed) or "nothing"),
            _about(rsa_subject),
        )


@then(parsers.re(r"it names nothing as not yet done"))
def _nothing_not_yet_done(rsa_subject: Subject) -> None:
    rec = rsa_subject.recommendation
    if rec.not_yet_done:
        raise GuidanceMismatch(
            f"{rec.intervention_label} names nothing as not yet done",
            "not yet done: " + ", ".join(rec.not_yet_done),
            _about(rsa_subject),
        )


@then(parsers.re(r"it names (?P<rule>\S+) as blocked"))
def _names_blocked(rule: str, rsa_subject: Subject, rsa_vocabulary: Vocabulary) -> None:
    rule_id = rsa_vocabulary.rule(rule)
    rec = rsa_subject.recommendation
    blocked = [b.rule_id for b in rec.blocked]
    if rule_id not in blocked:
        raise GuidanceMismatch(
            f"{rec.intervention_label} ({rec.rule_id}) names {rule_id} as blocked",
            "blocked: " + (", ".join(blocked) or "nothing"),
            _about(rsa_subject),
        )


# -- Then: findings, rules and alerts -----------------------------------------------------


@then(parsers.re(r"the finding (?P<name>.+?) is (?P<negation>not )?established"))
def _finding(
    name: str, negation: str | None, rsa_evaluation: Evaluation, rsa_vocabulary: Vocabulary
) -> None:
    finding_id = rsa_vocabulary.finding(name)
    present = rsa_evaluation.finding(finding_id) is not None
    if present == bool(negation):
        label = rsa_vocabulary.finding_label(finding_id)
        explanation = ""
        found = rsa_evaluation.finding(finding_id)
        if found is not None:
            explanation = "\n".join([found.summary, *reason_lines(found.because, 1)])
        raise GuidanceMismatch(
            f"{label} is {'not ' if negation else ''}established",
            describe_evaluation(rsa_evaluation),
            explanation,
        )


@then(parsers.re(rf"{COUNT} pregnancy loss(?:es)? (?:is|are) counted"))
def _counted(count: str, rsa_evaluation: Evaluation) -> None:
    wanted = parse_count(count)
    finding = rsa_evaluation.finding("pregnancy-losses")
    value = None if finding is None else finding.value
    if value != wanted:
        raise GuidanceMismatch(
            f"{wanted} pregnancy losses counted",
            "counted: " + ("not known" if value is None else str(value)),
            ""
            if finding is None
            else "\n".join([finding.summary, *reason_lines(finding.because, 1)]),
        )


@then(parsers.re(r"the rule (?P<rule>\S+) (?P<verb>fires|does not fire)"))
def _rule_fires(
    rule: str, verb: str, rsa_evaluation: Evaluation, rsa_vocabulary: Vocabulary
) -> None:
    rule_id = rsa_vocabulary.rule(rule)
    fired = rule_id in rsa_evaluation.fired_rules
    if fired != (verb == "fires"):
        raise GuidanceMismatch(
            f"the rule {rule_id} {verb}",
            describe_evaluation(rsa_evaluation),
            "fired rules: " + ", ".join(r for r in rsa_evaluation.fired_rules if "#" not in r),
        )


@then(
    parsers.re(
        r"for (?P<name>.+?), the rule (?P<rule>\S+) is "
        r'"?(?P<status>fired|not met|unknown|blocked)"?'
    )
)
def _rule_status(
    name: str,
    rule: str,
    status: str,
    rsa_evaluation: Evaluation,
    rsa_vocabulary: Vocabulary,
) -> None:
    intervention = rsa_vocabulary.intervention(name)
    rule_id = rsa_vocabulary.rule(rule)
    answer = rsa_evaluation.why_not(intervention)
    checks = [c for c in answer.rules if c.rule_id == rule_id]
    if not checks:
        raise ScenarioError(
            f"the rule {rule_id} does not produce {rsa_vocabulary.intervention_label(intervention)}"
            "; the rules that do: " + (", ".join(c.rule_id for c in answer.rules) or "none")
        )
    if checks[0].status != status:
        raise GuidanceMismatch(
            f"for {intervention}, the rule {rule_id} is {status}",
            f"it is {checks[0].status}",
            answer.to_text(),
        )


@then(parsers.re(r"(?P<count>no|\d+|one|two|three|four|five) alerts? (?:is|are) raised"))
def _alert_count(count: str, rsa_evaluation: Evaluation) -> None:
    wanted = parse_count(count)
    if len(rsa_evaluation.alerts) != wanted:
        raise GuidanceMismatch(
            f"{wanted} alert{'s' if wanted != 1 else ''}",
            describe_evaluation(rsa_evaluation),
        )


@then(parsers.re(r"an alert is raised on (?P<name>.+)"), target_fixture="rsa_subject")
def _alert_on(name: str, rsa_evaluation: Evaluation, rsa_vocabulary: Vocabulary) -> Subject:
    intervention = rsa_vocabulary.intervention(name)
    found = [r for r in rsa_evaluation.alerts if r.intervention == intervention]
    if not found:
        raise GuidanceMismatch(
            f"an alert on {rsa_vocabulary.intervention_label(intervention)}",
            describe_evaluation(rsa_evaluation),
            _why_text(rsa_evaluation, intervention),
        )
    return Subject(name, tuple(found), rsa_evaluation)


# -- Then: tables -------------------------------------------------------------------------

_GUIDANCE_COLUMNS = ("action", "intervention", "rule", "alert")


def _guidance_rows(
    datatable: list[list[str]], vocabulary: Vocabulary
) -> list[tuple[str, str, str | None, bool | None]]:
    header, *rows = datatable
    columns = [h.strip().lower() for h in header]
    for column in columns:
        if column not in _GUIDANCE_COLUMNS:
            raise VocabularyError("column of the guidance table", column, _GUIDANCE_COLUMNS)
    if "action" not in columns or "intervention" not in columns:
        raise ScenarioError("a guidance table needs the columns action and intervention")
    wanted = []
    for row in rows:
        cells = dict(zip(columns, (c.strip() for c in row), strict=True))
        action = cells["action"].lower()
        actions = list(vocabulary.knowledge.actions)
        if action not in actions:
            raise VocabularyError("action", action, actions)
        intervention = vocabulary.intervention(cells["intervention"])
        rule = vocabulary.rule(cells["rule"]) if cells.get("rule") else None
        alert = _yes_no(cells["alert"]) if cells.get("alert") else None
        wanted.append((action, intervention, rule, alert))
    return wanted


def _has(evaluation: Evaluation, row: tuple[str, str, str | None, bool | None]) -> bool:
    action, intervention, rule, alert = row
    return any(
        r.action == action
        and r.intervention == intervention
        and (rule is None or r.rule_id == rule)
        and (alert is None or r.alert == alert)
        for r in evaluation.recommendations
    )


def _row_text(row: tuple[str, str, str | None, bool | None]) -> str:
    action, intervention, rule, alert = row
    text = f"{action} {intervention}"
    if rule:
        text += f" [{rule}]"
    if alert is not None:
        text += " (alert)" if alert else " (no alert)"
    return text


@then(parsers.re(r"the guidance (?P<how>includes|does not include|is exactly):"))
def _guidance_table(
    how: str, datatable: list[list[str]], rsa_evaluation: Evaluation, rsa_vocabulary: Vocabulary
) -> None:
    rows = _guidance_rows(datatable, rsa_vocabulary)
    if how == "does not include":
        wrong = [r for r in rows if _has(rsa_evaluation, r)]
        if wrong:
            raise GuidanceMismatch(
                "none of: " + "; ".join(_row_text(r) for r in wrong),
                describe_evaluation(rsa_evaluation),
            )
        return
    missing = [r for r in rows if not _has(rsa_evaluation, r)]
    extra: list[str] = []
    if how == "is exactly":
        extra = [
            f"{r.action} {r.intervention} [{r.rule_id}]"
            for r in rsa_evaluation.recommendations
            if not any(
                r.action == a and r.intervention == i and (ru is None or r.rule_id == ru)
                for a, i, ru, _ in rows
            )
        ]
    if missing or extra:
        problems = []
        if missing:
            problems.append("missing: " + "; ".join(_row_text(r) for r in missing))
        if extra:
            problems.append("not expected: " + "; ".join(extra))
        raise GuidanceMismatch(
            f"the guidance {how} the table ({' / '.join(problems)})",
            describe_evaluation(rsa_evaluation),
            "\n".join(_why_text(rsa_evaluation, r[1]) for r in missing),
        )
