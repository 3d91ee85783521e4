"""Synthetic patient facts documents, for tests, benchmarks and demonstrations.

The documents are valid facts in the contract's format, drawn from a seeded random
generator: the same seed gives the same patients. They mix complete and missing data and
cross the thresholds the rules use. They are not clinical data and carry no clinical claim.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

__all__ = ["synthetic_patient", "synthetic_patients"]

_TESTS = (
    "lupus-anticoagulant",
    "anticardiolipin-igg",
    "anticardiolipin-igm",
    "anti-b2gpi-igg",
    "anti-b2gpi-igm",
)
_TREATMENTS = (
    "heparin-plus-low-dose-aspirin",
    "heparin",
    "low-dose-aspirin",
    "ivig",
    "lymphocyte-immunotherapy",
    "progesterone",
)


def synthetic_patients(count: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    """``count`` synthetic facts documents, the same ones for the same seed."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not security
    for index in range(count):
        yield synthetic_patient(rng, f"synthetic-{seed}-{index}")


def synthetic_patient(rng: random.Random, patient_id: str | None = None) -> dict[str, Any]:
    """One synthetic facts document drawn from ``rng``."""
    doc: dict[str, Any] = {}
    if patient_id is not None:
        doc["id"] = patient_id
    if rng.random() < 0.9:
        doc["age"] = rng.randint(20, 44)
    if rng.random() < 0.9:
        losses = []
        for _ in range(rng.choice((0, 1, 2, 2, 3, 3, 4))):
            loss: dict[str, Any] = {
                "kind": rng.choice(
                    (
                        "miscarriage",
                        "miscarriage",
                        "miscarriage",
                        "biochemical",
                        "fetal-death",
                        "ectopic",
                    )
                )
            }
            if rng.random() < 0.85:
                loss["gestational_weeks"] = rng.choice((5, 6, 7, 8, 9, 10, 11, 12, 14, 16))
            if rng.random() < 0.1:
                loss["fetal_karyotype"] = rng.choice(("normal", "abnormal"))
            losses.append(loss)
        history: dict[str, Any] = {"losses": losses}
        if rng.random() < 0.6:
            history["consecutive"] = rng.random() < 0.7
        doc["pregnancy_history"] = history
    if rng.random() < 0.7:
        doc["thrombosis_history"] = rng.random() < 0.08
    if rng.random() < 0.7:
        doc["antiphospholipid"] = {"results": _apl_results(rng)}
        if rng.random() < 0.05:
            doc["antiphospholipid"]["diagnosis"] = rng.choice(("confirmed", "excluded"))
    if rng.random() < 0.3:
        doc["inherited_thrombophilia"] = {
            "factor_v_leiden": rng.choice(("negative", "negative", "negative", "heterozygous")),
            "prothrombin_g20210a": rng.choice(("negative", "negative", "heterozygous")),
        }
    if rng.random() < 0.5:
        doc["rh"] = rng.choice(("positive", "positive", "positive", "negative"))
    if rng.random() < 0.2:
        doc["current_pregnancy"] = {
            "gestational_weeks": rng.randint(4, 14),
            "symptoms": rng.sample(("bleeding", "cramping", "dark-discharge"), rng.randint(0, 2)),
        }
    elif rng.random() < 0.15:
        doc["current_miscarriage"] = {
            "gestational_weeks": rng.randint(5, 16),
            "retained_tissue": rng.random() < 0.4,
            "infection_signs": rng.random() < 0.1,
        }
    if rng.random() < 0.5:
        doc["risk_factors"] = {
            "smoking": rng.random() < 0.15,
            "alcohol": rng.random() < 0.1,
            "diabetes": rng.choice(("none", "none", "controlled", "uncontrolled")),
        }
    if rng.random() < 0.3:
        doc["contraindications"] = {
            "bleeding_disorder": rng.random() < 0.05,
            "osteoporosis": rng.random() < 0.05,
        }
    if rng.random() < 0.5:
        chosen = rng.sample(_TREATMENTS, rng.randint(0, 2))
        doc["treatments"] = [
            {"intervention": item, "status": rng.choice(("proposed", "ordered", "active"))}
            for item in chosen
        ]
    return doc


def _apl_results(rng: random.Random) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    first = date(2026, 1, 5) + timedelta(days=rng.randint(0, 60))
    for test in rng.sample(_TESTS, rng.randint(1, 5)):
        positive = rng.random() < 0.2
        for occasion in range(1 if rng.random() < 0.6 else 2):
            when = first + timedelta(days=occasion * rng.choice((83, 84, 90)))
            result: dict[str, Any] = {"test": test, "date": when.isoformat()}
            if test == "lupus-anticoagulant":
                result["result"] = "positive" if positive else "negative"
            elif test.startswith("anticardiolipin"):
                result["value"] = rng.choice((45, 60)) if positive else rng.choice((8, 20, 40))
                result["unit"] = "GPL" if test.endswith("igg") else "MPL"
            else:
                result["above_99th_percentile"] = positive
            results.append(result)
    return results
