"""Bad patient facts: every malformed field gets a clear error that names its path.

Each case goes through both entry points of the contract:

* ``rsa_rules.PatientFacts.model_validate(doc)`` raises pydantic's ``ValidationError`` (a
  ``ValueError``) whose ``loc`` is the path, and
* ``rsa_rules.evaluate(doc)`` raises ``rsa_rules.FactsError`` (a ``ValueError``) whose
  ``problems`` are ``(dotted path, message)`` pairs.

Nothing is coerced and nothing is silently dropped; ``null`` means unknown.
"""

from __future__ import annotations

import copy
from typing import Any, NamedTuple

import pytest
from pydantic import ValidationError

import rsa_rules
from rsa_rules import FactsError, PatientFacts

# The example document of CONTRACT.md ("The facts document"), verbatim.
CONTRACT_EXAMPLE: dict[str, Any] = {
    "id": "patient-123",
    "age": 34,
    "pregnancy_history": {
        "losses": [
            {
                "gestational_weeks": 7,
                "kind": "miscarriage",
                "date": "2025-03-01",
                "fetal_karyotype": "normal",
            },
            {"gestational_weeks": 8, "kind": "miscarriage"},
            {"gestational_weeks": 12, "kind": "fetal-death"},
        ],
        "loss_count": 3,
        "consecutive": True,
        "live_births": 0,
        "preterm_birth_before_34_weeks_placental": False,
    },
    "thrombosis_history": False,
    "antiphospholipid": {
        "diagnosis": "confirmed",
        "results": [
            {"test": "lupus-anticoagulant", "date": "2026-01-05", "result": "positive"},
            {"test": "anticardiolipin-igg", "date": "2026-01-05", "value": 45, "unit": "GPL"},
            {"test": "anti-b2gpi-igm", "date": "2026-04-10", "above_99th_percentile": True},
        ],
    },
    "inherited_thrombophilia": {
        "factor_v_leiden": "heterozygous",
        "prothrombin_g20210a": "negative",
        "protein_c_deficiency": False,
        "protein_s_deficiency": False,
        "antithrombin_deficiency": False,
    },
    "rh": "negative",
    "current_pregnancy": {"gestational_weeks": 6, "symptoms": ["bleeding"]},
    "current_miscarriage": {
        "gestational_weeks": 13,
        "retained_tissue": True,
        "infection_signs": False,
    },
    "risk_factors": {
        "smoking": True,
        "alcohol": False,
        "drug_use": False,
        "diabetes": "uncontrolled",
        "pcos": False,
        "uterine_or_cervical_problem": False,
        "severe_malnutrition": False,
        "thyroid_disease": False,
    },
    "contraindications": {
        "bleeding_disorder": False,
        "active_bleeding": False,
        "heparin_induced_thrombocytopenia": False,
        "heparin_allergy": False,
        "aspirin_allergy": False,
        "osteoporosis": False,
    },
    "treatments": [{"intervention": "ivig", "status": "proposed"}],
}

LA_POSITIVE: dict[str, Any] = {"test": "lupus-anticoagulant", "result": "positive"}


class Bad(NamedTuple):
    """A malformed document, the one path it must be rejected at, and message fragments."""

    doc: dict[str, Any]
    path: str
    message: str  # a fragment of the FactsError message (evaluate)
    model_message: str | None = None  # the pydantic message fragment, when it differs


def _dotted(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def evaluate_problems(doc: Any) -> list[tuple[str, str]]:
    """The problems ``rsa_rules.evaluate`` reports for ``doc`` (it must refuse it)."""
    with pytest.raises(FactsError) as info:
        rsa_rules.evaluate(doc)
    error = info.value
    assert isinstance(error, ValueError)
    assert isinstance(error, rsa_rules.RsaRulesError)
    assert error.problems, "a FactsError must list at least one problem"
    return error.problems


def model_problems(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """The problems ``PatientFacts.model_validate`` reports for ``doc`` (it must refuse it)."""
    with pytest.raises(ValidationError) as info:
        PatientFacts.model_validate(doc)
    assert isinstance(info.value, ValueError)
    return [(_dotted(item["loc"]), item["msg"]) for item in info.value.errors()]


def check_rejected(case: Bad) -> None:
    """Both entry points reject ``case.doc`` with exactly one problem, at ``case.path``."""
    problems = evaluate_problems(case.doc)
    assert [path for path, _ in problems] == [case.path], problems
    assert case.message in problems[0][1], problems
    # The path also appears in the error's text, which is what a user reads.
    problems_text = str(FactsError(problems))
    assert f"{case.path}: " in problems_text

    model = model_problems(case.doc)
    assert [path for path, _ in model] == [case.path], model
    fragment = case.model_message if case.model_message is not None else case.message
    assert fragment in model[0][1], model


def _cases(*params: Any) -> pytest.MarkDecorator:
    """``pytest.mark.parametrize`` over ``Bad`` cases given as ``pytest.param(..., id=...)``."""
    return pytest.mark.parametrize("case", params)


# -- gestational weeks ---------------------------------------------------------------------


def _weeks_doc(where: str, weeks: Any) -> tuple[dict[str, Any], str]:
    if where == "losses":
        doc = {
            "pregnancy_history": {
                "losses": [{"gestational_weeks": 7}, {"gestational_weeks": weeks}]
            }
        }
        return doc, "pregnancy_history.losses.1.gestational_weeks"
    return {where: {"gestational_weeks": weeks}}, f"{where}.gestational_weeks"


WEEK_PLACES = ("losses", "current_pregnancy", "current_miscarriage")


@pytest.mark.parametrize("where", WEEK_PLACES)
@pytest.mark.parametrize(
    ("weeks", "message"),
    [
        pytest.param(-1, "greater than or equal to 0", id="minus-one"),
        pytest.param(-0.5, "greater than or equal to 0", id="minus-half"),
        pytest.param(45.5, "less than or equal to 45", id="45.5"),
        pytest.param(46, "less than or equal to 45", id="46"),
        pytest.param(200, "less than or equal to 45", id="200"),
    ],
)
def test_weeks_out_of_range_rejected(where: str, weeks: float, message: str) -> None:
    doc, path = _weeks_doc(where, weeks)
    check_rejected(Bad(doc, path, message))


@pytest.mark.parametrize("where", WEEK_PLACES)
@pytest.mark.parametrize("weeks", [0, 6.5, 44.9, 45], ids=["0", "6.5", "44.9", "45-the-limit"])
def test_weeks_in_range_accepted(where: str, weeks: float) -> None:
    doc, _ = _weeks_doc(where, weeks)
    facts = PatientFacts.model_validate(doc)
    assert isinstance(facts, PatientFacts)
    rsa_rules.evaluate(doc)  # no FactsError


# -- dates ---------------------------------------------------------------------------------


def _date_doc(where: str, value: Any) -> tuple[dict[str, Any], str]:
    if where == "loss":
        doc = {"pregnancy_history": {"losses": [{"kind": "miscarriage", "date": value}]}}
        return doc, "pregnancy_history.losses.0.date"
    doc = {"antiphospholipid": {"results": [LA_POSITIVE, {**LA_POSITIVE, "date": value}]}}
    return doc, "antiphospholipid.results.1.date"


@pytest.mark.parametrize("where", ["loss", "apl-result"])
@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("2026-02-30", "is not a real calendar date", id="february-30"),
        pytest.param("2026-13-01", "is not a real calendar date", id="month-13"),
        pytest.param("2025-02-29", "is not a real calendar date", id="february-29-not-leap"),
        pytest.param("05/01/2026", "YYYY-MM-DD", id="slashes"),
        pytest.param("2026-1-5", "YYYY-MM-DD", id="no-zero-padding"),
        pytest.param("2026-01-05T10:00:00", "YYYY-MM-DD", id="datetime"),
        pytest.param(20260105, "valid date", id="integer"),
        pytest.param(True, "valid date", id="boolean"),
    ],
)
def test_impossible_dates_rejected(where: str, value: Any, message: str) -> None:
    doc, path = _date_doc(where, value)
    check_rejected(Bad(doc, path, message))


@pytest.mark.parametrize("where", ["loss", "apl-result"])
def test_real_dates_accepted(where: str) -> None:
    doc, _ = _date_doc(where, "2024-02-29")
    facts = PatientFacts.model_validate(doc)
    dumped = facts.model_dump(mode="json", exclude_none=True)
    assert "2024-02-29" in str(dumped)  # a leap day, kept as the same calendar date
    rsa_rules.evaluate(doc)


# -- unknown enumeration values ------------------------------------------------------------


@_cases(
    pytest.param(
        Bad(
            {"pregnancy_history": {"losses": [{"kind": "Stillbirth"}]}},
            "pregnancy_history.losses.0.kind",
            "should match pattern",
        ),
        id="kind-form",
    ),
    pytest.param(
        Bad(
            {"pregnancy_history": {"losses": [{"fetal_karyotype": "unknown"}]}},
            "pregnancy_history.losses.0.fetal_karyotype",
            "'normal', 'abnormal', 'unbalanced-structural' or 'failed'",
        ),
        id="fetal-karyotype",
    ),
    pytest.param(
        Bad(
            {"pregnancy_history": {"losses": [{"fetal_karyotype": "46,XX"}]}},
            "pregnancy_history.losses.0.fetal_karyotype",
            "'46,XX' is a karyotype formula; record the result instead: 'normal'",
        ),
        id="fetal-karyotype-iscn",
    ),
    pytest.param(
        Bad(
            {"pregnancy_history": {"losses": [{"fetal_karyotype": "47,XY,+21"}]}},
            "pregnancy_history.losses.0.fetal_karyotype",
            "'abnormal' for a chromosomal abnormality",
        ),
        id="fetal-karyotype-iscn-abnormal",
    ),
    pytest.param(Bad({"age": 121}, "age", "less than or equal to 120"), id="age-over-120"),
    pytest.param(Bad({"age": -1}, "age", "greater than or equal to 0"), id="age-negative"),
    pytest.param(
        Bad(
            {"treatments": [{"intervention": "heparin", "status": "ordered", "reason": "vte"}]},
            "treatments.0.reason",
            "'recurrent-pregnancy-loss' or 'other'",
        ),
        id="treatment-reason",
    ),
    pytest.param(Bad({"rh": "Rh-"}, "rh", "'positive' or 'negative'"), id="rh"),
    pytest.param(
        Bad(
            {
                "antiphospholipid": {
                    "results": [{"test": "anticardiolipin-iga", "result": "positive"}]
                }
            },
            "antiphospholipid.results.0.test",
            "'anti-b2gpi-igm'",
        ),
        id="test",
    ),
    pytest.param(
        Bad(
            {
                "antiphospholipid": {
                    "results": [{"test": "anticardiolipin-igg", "value": 12, "unit": "IU/L"}]
                }
            },
            "antiphospholipid.results.0.unit",
            "'GPL', 'MPL' or 'U/mL'",
        ),
        id="unit",
    ),
    pytest.param(
        Bad(
            {"antiphospholipid": {"results": [{"test": "lupus-anticoagulant", "result": "weak"}]}},
            "antiphospholipid.results.0.result",
            "'positive' or 'negative'",
        ),
        id="result",
    ),
    pytest.param(
        Bad(
            {"treatments": [{"intervention": "ivig", "status": "Planned!"}]},
            "treatments.0.status",
            "should match pattern",
        ),
        id="status-form",
    ),
    pytest.param(
        Bad(
            {"treatments": [{"intervention": "Heparin!", "status": "proposed"}]},
            "treatments.0.intervention",
            "should match pattern",
        ),
        id="intervention-form",
    ),
    pytest.param(
        Bad(
            {"current_pregnancy": {"symptoms": ["bleeding", "pain"]}},
            "current_pregnancy.symptoms.1",
            "'cramping'",
        ),
        id="symptom",
    ),
    pytest.param(
        Bad(
            {"risk_factors": {"diabetes": "type-2"}},
            "risk_factors.diabetes",
            "'none', 'controlled' or 'uncontrolled'",
        ),
        id="diabetes",
    ),
    pytest.param(
        Bad(
            {"inherited_thrombophilia": {"factor_v_leiden": "carrier"}},
            "inherited_thrombophilia.factor_v_leiden",
            "'negative', 'heterozygous' or 'homozygous'",
        ),
        id="genotype-factor-v",
    ),
    pytest.param(
        Bad(
            {"inherited_thrombophilia": {"prothrombin_g20210a": "positive"}},
            "inherited_thrombophilia.prothrombin_g20210a",
            "'heterozygous'",
        ),
        id="genotype-prothrombin",
    ),
    pytest.param(
        Bad(
            {"antiphospholipid": {"diagnosis": "suspected"}},
            "antiphospholipid.diagnosis",
            "'confirmed' or 'excluded'",
        ),
        id="diagnosis",
    ),
    pytest.param(
        Bad({"rh": "NEGATIVE"}, "rh", "'positive' or 'negative'"),
        id="rh-wrong-case",
    ),
)
def test_unknown_enum_value_rejected(case: Bad) -> None:
    check_rejected(case)


def test_an_intervention_outside_the_vocabulary_is_refused_by_the_engine() -> None:
    """The model reads an id's form; which ids exist is the knowledge base's vocabulary, which
    the engine checks, naming the id a known name stands for."""
    named = {"treatments": [{"intervention": "aspirin", "status": "proposed"}]}
    assert PatientFacts.model_validate(named).treatments is not None
    problems = evaluate_problems(named)
    assert [path for path, _ in problems] == ["treatments.0.intervention"]
    assert "a name of the intervention 'low-dose-aspirin', not its id" in problems[0][1]
    unknown = {"treatments": [{"intervention": "heparine", "status": "proposed"}]}
    (problem,) = evaluate_problems(unknown)
    assert problem[0] == "treatments.0.intervention"
    assert "unknown intervention 'heparine' in knowledge base rsa-default" in problem[1]
    assert "did you mean 'heparin'?" in problem[1]


def test_a_loss_kind_outside_the_vocabulary_is_refused_by_the_engine() -> None:
    stillbirth = {"pregnancy_history": {"losses": [{"kind": "stillbirth"}]}}
    assert PatientFacts.model_validate(stillbirth).pregnancy_history is not None
    (problem,) = evaluate_problems(stillbirth)
    assert problem == (
        "pregnancy_history.losses.0.kind",
        "unknown kind of loss 'stillbirth' in knowledge base rsa-default 1.2.0 "
        "(known: biochemical, miscarriage, fetal-death, ectopic, molar)",
    )


def test_a_status_outside_the_vocabulary_is_refused_by_the_engine() -> None:
    planned = {"treatments": [{"intervention": "ivig", "status": "planned"}]}
    assert PatientFacts.model_validate(planned).treatments is not None
    (problem,) = evaluate_problems(planned)
    assert problem == (
        "treatments.0.status",
        "unknown status 'planned' in knowledge base rsa-default 1.2.0 "
        "(known: proposed, ordered, active, completed)",
    )


# -- unknown fields, at every level --------------------------------------------------------

UNKNOWN = "unknown field (not in the facts format)"
EXTRA = "Extra inputs are not permitted"


@_cases(
    pytest.param(Bad({"weight_kg": 60}, "weight_kg", UNKNOWN, EXTRA), id="top-level"),
    pytest.param(
        Bad({"pregnancy_history": {"gravida": 4}}, "pregnancy_history.gravida", UNKNOWN, EXTRA),
        id="pregnancy_history",
    ),
    pytest.param(
        Bad(
            {"pregnancy_history": {"losses": [{"kind": "miscarriage"}, {"weeks": 8}]}},
            "pregnancy_history.losses.1.weeks",
            UNKNOWN,
            EXTRA,
        ),
        id="losses-item",
    ),
    pytest.param(
        Bad(
            {"antiphospholipid": {"lab": "city"}},
            "antiphospholipid.lab",
            UNKNOWN,
            EXTRA,
        ),
        id="antiphospholipid",
    ),
    pytest.param(
        Bad(
            {"antiphospholipid": {"results": [{**LA_POSITIVE, "titre": 3}]}},
            "antiphospholipid.results.0.titre",
            UNKNOWN,
            EXTRA,
        ),
        id="apl-result",
    ),
    pytest.param(
        Bad(
            {"inherited_thrombophilia": {"mthfr": "homozygous"}},
            "inherited_thrombophilia.mthfr",
            UNKNOWN,
            EXTRA,
        ),
        id="inherited_thrombophilia",
    ),
    pytest.param(
        Bad(
            {"current_pregnancy": {"heartbeat": True}},
            "current_pregnancy.heartbeat",
            UNKNOWN,
            EXTRA,
        ),
        id="current_pregnancy",
    ),
    pytest.param(
        Bad(
            {"current_miscarriage": {"fever": True}},
            "current_miscarriage.fever",
            UNKNOWN,
            EXTRA,
        ),
        id="current_miscarriage",
    ),
    pytest.param(
        Bad({"risk_factors": {"obesity": True}}, "risk_factors.obesity", UNKNOWN, EXTRA),
        id="risk_factors",
    ),
    pytest.param(
        Bad(
            {"contraindications": {"warfarin": True}},
            "contraindications.warfarin",
            UNKNOWN,
            EXTRA,
        ),
        id="contraindications",
    ),
    pytest.param(
        Bad(
            {"treatments": [{"intervention": "ivig", "status": "proposed", "dose": "2 g/kg"}]},
            "treatments.0.dose",
            UNKNOWN,
            EXTRA,
        ),
        id="treatments-item",
    ),
    pytest.param(
        Bad({"Age": 34}, "Age", UNKNOWN, EXTRA),
        id="wrong-case-field-name",
    ),
)
def test_unknown_field_rejected(case: Bad) -> None:
    check_rejected(case)


# -- wrong types, never coerced ------------------------------------------------------------


@_cases(
    pytest.param(Bad({"age": "three"}, "age", "valid integer"), id="age-word"),
    pytest.param(Bad({"age": "34"}, "age", "valid integer"), id="age-numeric-string"),
    pytest.param(Bad({"age": True}, "age", "valid integer"), id="age-true"),
    pytest.param(Bad({"age": 34.5}, "age", "valid integer"), id="age-fraction"),
    pytest.param(
        Bad(
            {"pregnancy_history": {"losses": [{"gestational_weeks": "7"}]}},
            "pregnancy_history.losses.0.gestational_weeks",
            "valid number",
        ),
        id="weeks-string",
    ),
    pytest.param(
        Bad(
            {"current_pregnancy": {"gestational_weeks": True}},
            "current_pregnancy.gestational_weeks",
            "valid number",
        ),
        id="weeks-true",
    ),
    pytest.param(
        Bad(
            {"current_miscarriage": {"gestational_weeks": float("nan")}},
            "current_miscarriage.gestational_weeks",
            "finite number",
        ),
        id="weeks-nan",
    ),
    pytest.param(
        Bad(
            {"current_pregnancy": {"gestational_weeks": float("inf")}},
            "current_pregnancy.gestational_weeks",
            "finite number",
        ),
        id="weeks-infinity",
    ),
    pytest.param(
        Bad({"thrombosis_history": 1}, "thrombosis_history", "valid boolean"),
        id="boolean-one",
    ),
    pytest.param(
        Bad({"thrombosis_history": "false"}, "thrombosis_history", "valid boolean"),
        id="boolean-string",
    ),
    pytest.param(
        Bad(
            {"pregnancy_history": {"consecutive": 0}},
            "pregnancy_history.consecutive",
            "valid boolean",
        ),
        id="boolean-zero",
    ),
    pytest.param(
        Bad(
            {"current_miscarriage": {"retained_tissue": "yes"}},
            "current_miscarriage.retained_tissue",
            "valid boolean",
        ),
        id="boolean-yes",
    ),
    pytest.param(
        Bad(
            {"pregnancy_history": {"loss_count": True}},
            "pregnancy_history.loss_count",
            "valid integer",
        ),
        id="count-true",
    ),
    pytest.param(
        Bad(
            {"pregnancy_history": {"loss_count": "3"}},
            "pregnancy_history.loss_count",
            "valid integer",
        ),
        id="count-string",
    ),
    pytest.param(
        Bad(
            {"pregnancy_history": {"live_births": True}},
            "pregnancy_history.live_births",
            "valid integer",
        ),
        id="live-births-true",
    ),
    pytest.param(
        Bad(
            {
                "antiphospholipid": {
                    "results": [{"test": "anticardiolipin-igg", "value": True, "unit": "GPL"}]
                }
            },
            "antiphospholipid.results.0.value",
            "valid number",
        ),
        id="titre-true",
    ),
    pytest.param(
        Bad(
            {"pregnancy_history": {"losses": "three miscarriages"}},
            "pregnancy_history.losses",
            "a list",
            "valid tuple",
        ),
        id="losses-string",
    ),
    pytest.param(
        Bad(
            {"current_pregnancy": {"symptoms": "bleeding"}},
            "current_pregnancy.symptoms",
            "a list",
            "valid tuple",
        ),
        id="symptoms-string",
    ),
    pytest.param(
        Bad({"treatments": "ivig"}, "treatments", "a list", "valid tuple"),
        id="treatments-string",
    ),
    pytest.param(
        Bad(
            {"treatments": {"intervention": "ivig", "status": "proposed"}},
            "treatments",
            "a list",
            "valid tuple",
        ),
        id="treatments-object",
    ),
    pytest.param(
        Bad({"risk_factors": "smoker"}, "risk_factors", "valid dictionary"),
        id="object-string",
    ),
    pytest.param(
        Bad({"pregnancy_history": [3]}, "pregnancy_history", "valid dictionary"),
        id="object-list",
    ),
    pytest.param(
        Bad(
            {"pregnancy_history": {"losses": [None]}},
            "pregnancy_history.losses.0",
            "valid dictionary",
        ),
        id="null-list-item",
    ),
    pytest.param(Bad({"id": 123}, "id", "valid string"), id="id-number"),
    pytest.param(Bad({"rh": 1}, "rh", "'positive' or 'negative'"), id="enum-number"),
)
def test_wrong_type_not_coerced(case: Bad) -> None:
    check_rejected(case)


# -- loss_count against the listed losses --------------------------------------------------


@_cases(
    pytest.param(
        Bad(
            {"pregnancy_history": {"losses": [{}, {}, {}], "loss_count": 2}},
            "pregnancy_history.loss_count",
            "loss_count is 2 but 3 counted losses are listed",
        ),
        id="three-unknown-kinds-count-two",
    ),
    pytest.param(
        Bad(
            {
                "pregnancy_history": {
                    "losses": [
                        {"kind": "miscarriage"},
                        {"kind": "biochemical"},
                        {"kind": "ectopic"},
                        {"kind": "fetal-death"},
                    ],
                    "loss_count": 2,
                }
            },
            "pregnancy_history.loss_count",
            "loss_count is 2 but 3 counted losses are listed",
        ),
        id="biochemical-counts-ectopic-not",
    ),
    pytest.param(
        Bad(
            {"pregnancy_history": {"losses": [{"kind": "miscarriage"}], "loss_count": 0}},
            "pregnancy_history.loss_count",
            "may not be smaller",
        ),
        id="zero-with-one-listed",
    ),
)
def test_loss_count_smaller_than_listed_rejected(case: Bad) -> None:
    """Which kinds count is the knowledge base's parameter (uncounted_loss_kinds), so the
    engine checks it; the model alone reads the form."""
    problems = evaluate_problems(case.doc)
    assert [path for path, _ in problems] == [case.path], problems
    assert case.message in problems[0][1], problems
    assert PatientFacts.model_validate(case.doc).pregnancy_history is not None


@pytest.mark.parametrize(
    "history",
    [
        pytest.param(
            {
                "losses": [{"kind": "ectopic"}, {"kind": "molar"}, {"kind": "miscarriage"}],
                "loss_count": 1,
            },
            id="ectopic-and-molar-not-counted",
        ),
        pytest.param(
            {"losses": [{"kind": "ectopic"}, {"kind": "molar"}], "loss_count": 0},
            id="only-uncounted-kinds",
        ),
        pytest.param({"losses": [{}, {}], "loss_count": 2}, id="equal"),
        pytest.param({"losses": [{}, {}], "loss_count": 5}, id="larger-not-itemised"),
    ],
)
def test_loss_count_covering_listed_losses_accepted(history: dict[str, Any]) -> None:
    doc = {"pregnancy_history": history}
    facts = PatientFacts.model_validate(doc)
    assert facts.pregnancy_history is not None
    assert facts.pregnancy_history.loss_count == history["loss_count"]
    rsa_rules.evaluate(doc)


def test_current_miscarriage_is_not_checked_against_loss_count() -> None:
    # losses lists PREVIOUS losses; the current miscarriage is one more, separately.
    doc = {
        "pregnancy_history": {"losses": [{"kind": "miscarriage"}], "loss_count": 1},
        "current_miscarriage": {"gestational_weeks": 8},
    }
    finding_ids = [f.id for f in rsa_rules.evaluate(doc).findings]
    assert "recurrent-pregnancy-loss" in finding_ids


# -- antiphospholipid results --------------------------------------------------------------

RESULT = "antiphospholipid.results.0"


def _apl(result: dict[str, Any]) -> dict[str, Any]:
    return {"antiphospholipid": {"results": [result]}}


@_cases(
    pytest.param(
        Bad(
            _apl({"test": "anticardiolipin-igg", "date": "2026-01-05"}),
            RESULT,
            "gives neither result, value with unit, nor above_99th_percentile",
        ),
        id="antibody-with-no-reading",
    ),
    pytest.param(
        Bad(
            _apl({"test": "lupus-anticoagulant", "date": "2026-01-05"}),
            RESULT,
            "lupus anticoagulant result has no result",
        ),
        id="lupus-with-no-result",
    ),
    pytest.param(
        Bad(
            _apl({"test": "anticardiolipin-igg", "value": 45}),
            f"{RESULT}.unit",
            "a titre value needs a unit",
        ),
        id="titre-without-unit",
    ),
    pytest.param(
        Bad(
            _apl(
                {"test": "anticardiolipin-igg", "value": None, "unit": "GPL", "result": "positive"}
            ),
            f"{RESULT}.unit",
            "unit given without a value",
        ),
        id="unit-without-value",
    ),
    pytest.param(
        Bad(
            _apl({"test": "anti-b2gpi-igg", "unit": "U/mL", "above_99th_percentile": True}),
            f"{RESULT}.unit",
            "unit given without a value",
        ),
        id="unit-with-flag-but-no-value",
    ),
    pytest.param(
        Bad(
            _apl({"test": "anticardiolipin-igm", "value": 45, "unit": "GPL"}),
            f"{RESULT}.unit",
            "unit GPL is for IGG antibodies, not anticardiolipin-igm",
        ),
        id="gpl-on-igm",
    ),
    pytest.param(
        Bad(
            _apl({"test": "anti-b2gpi-igm", "value": 45, "unit": "GPL"}),
            f"{RESULT}.unit",
            "not anti-b2gpi-igm",
        ),
        id="gpl-on-b2gpi-igm",
    ),
    pytest.param(
        Bad(
            _apl({"test": "anticardiolipin-igg", "value": 45, "unit": "MPL"}),
            f"{RESULT}.unit",
            "unit MPL is for IGM antibodies, not anticardiolipin-igg",
        ),
        id="mpl-on-igg",
    ),
    pytest.param(
        Bad(
            _apl({"test": "lupus-anticoagulant", "result": "positive", "value": 1.2}),
            f"{RESULT}.value",
            "lupus anticoagulant is reported as result positive/negative",
        ),
        id="lupus-with-value",
    ),
    pytest.param(
        Bad(
            _apl(
                {"test": "lupus-anticoagulant", "result": "positive", "above_99th_percentile": True}
            ),
            f"{RESULT}.above_99th_percentile",
            "lupus anticoagulant is reported as result positive/negative",
        ),
        id="lupus-with-percentile-flag",
    ),
    pytest.param(
        Bad(
            _apl({"test": "anticardiolipin-igg", "result": "positive", "value": 45, "unit": "GPL"}),
            RESULT,
            "give either result, or value/above_99th_percentile, not both",
        ),
        id="result-and-value",
    ),
    pytest.param(
        Bad(
            _apl({"test": "anti-b2gpi-igg", "result": "negative", "above_99th_percentile": True}),
            RESULT,
            "not both",
        ),
        id="result-and-flag",
    ),
    pytest.param(
        Bad(
            _apl({"test": "anticardiolipin-igg", "value": -3, "unit": "GPL"}),
            f"{RESULT}.value",
            "greater than or equal to 0",
        ),
        id="negative-titre",
    ),
    pytest.param(
        Bad(
            _apl({"date": "2026-01-05", "result": "positive"}),
            f"{RESULT}.test",
            "Field required",
        ),
        id="no-test",
    ),
)
def test_bad_antiphospholipid_result_rejected(case: Bad) -> None:
    check_rejected(case)


@pytest.mark.parametrize(
    "result",
    [
        pytest.param({"test": "anticardiolipin-igg", "value": 45, "unit": "GPL"}, id="igg-gpl"),
        pytest.param({"test": "anticardiolipin-igm", "value": 45, "unit": "MPL"}, id="igm-mpl"),
        pytest.param({"test": "anti-b2gpi-igm", "value": 9, "unit": "U/mL"}, id="igm-u-per-ml"),
        pytest.param(
            {"test": "anti-b2gpi-igg", "value": 9, "unit": "U/mL", "above_99th_percentile": False},
            id="value-and-flag",
        ),
        pytest.param({"test": "anti-b2gpi-igg", "above_99th_percentile": True}, id="flag-only"),
        pytest.param({"test": "anticardiolipin-igm", "result": "negative"}, id="plain-result"),
        pytest.param({"test": "lupus-anticoagulant", "result": "negative"}, id="lupus"),
    ],
)
def test_good_antiphospholipid_result_accepted(result: dict[str, Any]) -> None:
    facts = PatientFacts.model_validate(_apl(result))
    assert facts.antiphospholipid is not None
    assert facts.antiphospholipid.results is not None
    assert facts.antiphospholipid.results[0].test == result["test"]
    rsa_rules.evaluate(_apl(result))


# -- duplicates ----------------------------------------------------------------------------


@_cases(
    pytest.param(
        Bad(
            {"current_pregnancy": {"symptoms": ["bleeding", "cramping", "bleeding"]}},
            "current_pregnancy.symptoms",
            "'bleeding' is listed twice",
        ),
        id="duplicate-symptom",
    ),
    pytest.param(
        Bad(
            {
                "treatments": [
                    {"intervention": "ivig", "status": "proposed"},
                    {"intervention": "progesterone", "status": "active"},
                    {"intervention": "ivig", "status": "proposed"},
                ]
            },
            "treatments",
            "'ivig proposed' is listed twice",
        ),
        id="duplicate-treatment",
    ),
)
def test_duplicates_rejected(case: Bad) -> None:
    check_rejected(case)


# -- several problems at once --------------------------------------------------------------


def test_every_problem_is_reported_at_once() -> None:
    doc = {
        "age": "three",
        "rh": "pos",
        "pregnancy_history": {
            "losses": [{"gestational_weeks": 7}, {"gestational_weeks": 50, "kind": "stillbirth"}],
            "colour": "blue",
        },
        "antiphospholipid": {"results": [{"test": "anticardiolipin-igg", "value": 45}]},
        "current_pregnancy": {"symptoms": ["bleeding", "bleeding"]},
        "treatments": [{"intervention": "ivig", "status": "proposed", "dose": 1}],
    }
    expected = {
        "age",
        "rh",
        "pregnancy_history.losses.1.gestational_weeks",
        "pregnancy_history.losses.1.kind",
        "pregnancy_history.colour",
        "antiphospholipid.results.0.unit",
        "current_pregnancy.symptoms",
        "treatments.0.dose",
    }
    problems = evaluate_problems(doc)
    assert sorted(path for path, _ in problems) == sorted(expected)
    text = str(FactsError(problems))
    assert f"({len(expected)} problems)" in text
    for path in expected:
        assert f"{path}: " in text

    # The model alone reads a kind's form; which kinds exist is the knowledge base's.
    vocabulary = {"pregnancy_history.losses.1.kind"}
    assert {path for path, _ in model_problems(doc)} == expected - vocabulary


# -- null means unknown, and the contract's own example ------------------------------------


ALL_NULL: dict[str, Any] = dict.fromkeys(PatientFacts.model_fields)


@pytest.mark.parametrize(
    ("with_nulls", "without"),
    [
        pytest.param(ALL_NULL, {}, id="every-top-level-field-null"),
        pytest.param(
            {
                "pregnancy_history": {
                    "losses": [
                        {
                            "gestational_weeks": None,
                            "kind": None,
                            "date": None,
                            "fetal_karyotype": None,
                        },
                        {"gestational_weeks": 8, "kind": "miscarriage"},
                    ],
                    "loss_count": None,
                    "consecutive": None,
                    "live_births": None,
                    "preterm_birth_before_34_weeks_placental": None,
                },
                "antiphospholipid": {
                    "diagnosis": None,
                    "results": [
                        {
                            "test": "anti-b2gpi-igg",
                            "date": None,
                            "result": None,
                            "value": None,
                            "unit": None,
                            "above_99th_percentile": True,
                        }
                    ],
                },
                "inherited_thrombophilia": {"factor_v_leiden": None, "protein_c_deficiency": None},
                "current_pregnancy": {"gestational_weeks": None, "symptoms": None},
                "current_miscarriage": {"retained_tissue": None},
                "risk_factors": {"smoking": None, "diabetes": None},
                "contraindications": {"heparin_allergy": None},
            },
            {
                "pregnancy_history": {
                    "losses": [{}, {"gestational_weeks": 8, "kind": "miscarriage"}]
                },
                "antiphospholipid": {
                    "results": [{"test": "anti-b2gpi-igg", "above_99th_percentile": True}]
                },
                "inherited_thrombophilia": {},
                "current_pregnancy": {},
                "current_miscarriage": {},
                "risk_factors": {},
                "contraindications": {},
            },
            id="nested-nulls",
        ),
    ],
)
def test_explicit_null_means_unknown(with_nulls: dict[str, Any], without: dict[str, Any]) -> None:
    assert PatientFacts.model_validate(with_nulls) == PatientFacts.model_validate(without)
    assert rsa_rules.evaluate(with_nulls).to_dict() == rsa_rules.evaluate(without).to_dict()


def test_contract_example_is_valid_as_is() -> None:
    doc = copy.deepcopy(CONTRACT_EXAMPLE)
    facts = PatientFacts.model_validate(doc)
    assert facts.id == "patient-123"
    assert facts.pregnancy_history is not None
    assert facts.pregnancy_history.losses is not None
    assert len(facts.pregnancy_history.losses) == 3
    evaluation = rsa_rules.evaluate(doc)
    assert evaluation.recommendations
    assert doc == CONTRACT_EXAMPLE  # the caller's document is not modified


def test_patient_facts_instance_is_accepted_by_evaluate() -> None:
    facts = PatientFacts.model_validate(CONTRACT_EXAMPLE)
    assert rsa_rules.evaluate(facts).to_dict() == rsa_rules.evaluate(CONTRACT_EXAMPLE).to_dict()


# -- not a document at all -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "type_name"),
    [
        pytest.param([CONTRACT_EXAMPLE], "list", id="list"),
        pytest.param("patient-123", "str", id="string"),
        pytest.param(42, "int", id="number"),
        pytest.param(None, "NoneType", id="null"),
    ],
)
def test_non_object_document_rejected(doc: Any, type_name: str) -> None:
    problems = evaluate_problems(doc)
    assert problems == [("", f"facts must be a JSON object, not {type_name}")]
    assert "(document): facts must be a JSON object" in str(FactsError(problems))
