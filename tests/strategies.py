"""Hypothesis strategies for valid patient facts documents (dicts in the contract's format).

Values cluster around the thresholds the rules use (weeks 9-13, titres around 40, dates
83-85 days apart) so that generated patients cross them often.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import strategies as st

from rsa_rules.knowledge.loader import load_knowledge

INTERVENTIONS: tuple[str, ...] = tuple(load_knowledge().interventions)
_BASE = date(2025, 6, 1)

weeks = st.one_of(
    st.sampled_from([5, 6, 7, 8, 9, 9.5, 10, 11, 12, 13, 14, 19, 20, 24]),
    st.floats(min_value=0, max_value=45, allow_nan=False),
)
dates = st.builds(
    lambda d: (_BASE + timedelta(days=d)).isoformat(),
    st.sampled_from([0, 30, 83, 84, 85, 100, 170, 200]) | st.integers(0, 400),
)


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


@st.composite
def losses(draw: st.DrawFn) -> dict[str, Any]:
    loss: dict[str, Any] = {}
    if draw(st.booleans()):
        loss["gestational_weeks"] = draw(weeks)
    if draw(st.booleans()):
        loss["kind"] = draw(
            st.sampled_from(["biochemical", "miscarriage", "fetal-death", "ectopic", "molar"])
        )
    if draw(st.booleans()):
        loss["date"] = draw(dates)
    if draw(st.integers(0, 3)) == 0:
        loss["fetal_karyotype"] = draw(
            st.sampled_from(["normal", "abnormal", "unbalanced-structural", "failed"])
        )
    return loss


@st.composite
def history(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    items = draw(st.none() | st.lists(losses(), max_size=5))
    if items is not None:
        out["losses"] = items
    if draw(st.booleans()):
        listed = sum(1 for x in items or [] if x.get("kind") not in ("ectopic", "molar"))
        out["loss_count"] = listed + draw(st.integers(0, 3))
    for key in ("consecutive", "preterm_birth_before_34_weeks_placental"):
        value = draw(_maybe(st.booleans()))
        if value is not None:
            out[key] = value
    if draw(st.booleans()):
        out["live_births"] = draw(st.integers(0, 3))
    return out


@st.composite
def apl_result(draw: st.DrawFn) -> dict[str, Any]:
    test = draw(
        st.sampled_from(
            [
                "lupus-anticoagulant",
                "anticardiolipin-igg",
                "anticardiolipin-igm",
                "anti-b2gpi-igg",
                "anti-b2gpi-igm",
            ]
        )
    )
    result: dict[str, Any] = {"test": test}
    if draw(st.integers(0, 4)) > 0:
        result["date"] = draw(dates)
    if test == "lupus-anticoagulant" or draw(st.integers(0, 3)) == 0:
        result["result"] = draw(st.sampled_from(["positive", "negative"]))
        return result
    if draw(st.booleans()):
        units = ["U/mL"]
        if test.startswith("anticardiolipin"):
            units.append("GPL" if test.endswith("igg") else "MPL")
        result["value"] = draw(st.sampled_from([10, 39.5, 40, 40.5, 41, 80]) | st.floats(0, 200))
        result["unit"] = draw(st.sampled_from(units))
    if "value" not in result or draw(st.booleans()):
        result["above_99th_percentile"] = draw(st.booleans())
    return result


@st.composite
def patient(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if draw(st.booleans()):
        doc["id"] = draw(st.text(min_size=1, max_size=12))
    if draw(st.booleans()):
        # Every valid age, with the reproductive-age threshold (55) and its neighbours often.
        doc["age"] = draw(st.one_of(st.integers(16, 50), st.integers(53, 58), st.integers(0, 120)))
    if draw(st.integers(0, 5)) > 0:
        doc["pregnancy_history"] = draw(history())
    if draw(st.booleans()):
        doc["thrombosis_history"] = draw(st.booleans())
    if draw(st.booleans()):
        apl: dict[str, Any] = {}
        if draw(st.integers(0, 4)) == 0:
            apl["diagnosis"] = draw(st.sampled_from(["confirmed", "excluded"]))
        if draw(st.integers(0, 4)) > 0:
            apl["results"] = draw(st.lists(apl_result(), max_size=6))
        doc["antiphospholipid"] = apl
    if draw(st.booleans()):
        inherited: dict[str, Any] = {}
        for key in ("factor_v_leiden", "prothrombin_g20210a"):
            if draw(st.booleans()):
                inherited[key] = draw(st.sampled_from(["negative", "heterozygous", "homozygous"]))
        for key in ("protein_c_deficiency", "protein_s_deficiency", "antithrombin_deficiency"):
            if draw(st.booleans()):
                inherited[key] = draw(st.booleans())
        doc["inherited_thrombophilia"] = inherited
    if draw(st.booleans()):
        doc["rh"] = draw(st.sampled_from(["positive", "negative"]))
    if draw(st.integers(0, 3)) == 0:
        pregnancy: dict[str, Any] = {}
        if draw(st.booleans()):
            pregnancy["gestational_weeks"] = draw(weeks)
        if draw(st.booleans()):
            pregnancy["symptoms"] = draw(
                st.lists(
                    st.sampled_from(
                        ["bleeding", "cramping", "fluid-or-tissue-passage", "dark-discharge"]
                    ),
                    unique=True,
                )
            )
        doc["current_pregnancy"] = pregnancy
    if draw(st.integers(0, 3)) == 0:
        miscarriage: dict[str, Any] = {}
        if draw(st.booleans()):
            miscarriage["gestational_weeks"] = draw(weeks)
        for key in ("retained_tissue", "infection_signs"):
            if draw(st.booleans()):
                miscarriage[key] = draw(st.booleans())
        doc["current_miscarriage"] = miscarriage
    if draw(st.booleans()):
        risks: dict[str, Any] = {}
        for key in (
            "smoking",
            "alcohol",
            "drug_use",
            "pcos",
            "uterine_or_cervical_problem",
            "severe_malnutrition",
            "thyroid_disease",
        ):
            if draw(st.booleans()):
                risks[key] = draw(st.booleans())
        if draw(st.booleans()):
            risks["diabetes"] = draw(st.sampled_from(["none", "controlled", "uncontrolled"]))
        doc["risk_factors"] = risks
    if draw(st.booleans()):
        contra: dict[str, Any] = {}
        for key in (
            "bleeding_disorder",
            "active_bleeding",
            "heparin_induced_thrombocytopenia",
            "heparin_allergy",
            "aspirin_allergy",
            "osteoporosis",
        ):
            if draw(st.integers(0, 2)) == 0:
                contra[key] = draw(st.booleans())
        doc["contraindications"] = contra
    if draw(st.booleans()):
        pairs = draw(
            st.lists(
                st.tuples(
                    st.sampled_from(INTERVENTIONS),
                    st.sampled_from(["proposed", "ordered", "active", "completed"]),
                    st.sampled_from([None, "recurrent-pregnancy-loss", "other"]),
                ),
                unique=True,
                max_size=4,
            )
        )
        doc["treatments"] = [
            {"intervention": i, "status": s, **({"reason": r} if r else {})} for i, s, r in pairs
        ]
    return doc
