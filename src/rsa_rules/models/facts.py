"""The patient facts document: validated, frozen pydantic models.

Every field is optional and absent means *unknown*; an explicit JSON ``null`` means unknown
too. Nothing is coerced: ``"three"`` is not ``3``, ``1`` is not ``true``, and an unknown field
is an error. Weeks are completed weeks of gestation; dates are ISO 8601 ``YYYY-MM-DD``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

__all__ = [
    "Antiphospholipid",
    "AntiphospholipidResult",
    "Contraindications",
    "CurrentMiscarriage",
    "CurrentPregnancy",
    "FetalKaryotype",
    "InheritedThrombophilia",
    "Intervention",
    "LossKind",
    "PatientFacts",
    "PregnancyHistory",
    "PregnancyLoss",
    "RiskFactors",
    "Treatment",
    "TreatmentReason",
]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parse_iso_date(value: object) -> object:
    """Accept a ``date`` or a ``YYYY-MM-DD`` string; anything else is left for strict checks."""
    if isinstance(value, str):
        if not _ISO_DATE.match(value):
            raise ValueError(f"{value!r} is not a date in the form YYYY-MM-DD")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a real calendar date") from None
    return value


IsoDate = Annotated[
    date,
    BeforeValidator(_parse_iso_date),
    Field(description="Calendar date, ISO 8601 YYYY-MM-DD.", json_schema_extra={"format": "date"}),
]

Weeks = Annotated[
    float,
    Field(
        ge=0,
        le=45,
        allow_inf_nan=False,
        description="Completed weeks of gestation (unit: weeks), from 0 to 45.",
    ),
]

# An ISCN karyotype formula (46,XX; 47,XY,+21; 45,X): a chromosome count, then details.
_ISCN = re.compile(r"^\s*\d{2}\s*(,|$)")

LossKind = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=40)]
"""A kind of pregnancy loss of the knowledge base's vocabulary (``loss_kinds``), checked by
the engine; which kinds count is the knowledge base's parameters."""
FetalKaryotype = Literal["normal", "abnormal", "unbalanced-structural", "failed"]
Genotype = Literal["negative", "heterozygous", "homozygous"]
INTERVENTION_ID = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
Intervention = Annotated[str, StringConstraints(pattern=INTERVENTION_ID, max_length=80)]
"""An intervention id: lower-case words joined by hyphens. Which ids exist is the knowledge
base's vocabulary (``rules/vocabulary.yaml``), not this model: an engine checks them when it
validates facts (:func:`rsa_rules.engine.validate_facts`), so a knowledge base that adds an
intervention needs no change here."""
AplTest = Literal[
    "lupus-anticoagulant",
    "anticardiolipin-igg",
    "anticardiolipin-igm",
    "anti-b2gpi-igg",
    "anti-b2gpi-igm",
]
TitreUnit = Literal["GPL", "MPL", "U/mL"]
TreatmentReason = Literal["recurrent-pregnancy-loss", "other"]

# Units that name an isotype: GPL is the IgG phospholipid unit, MPL the IgM one.
_UNIT_ISOTYPE = {"GPL": "igg", "MPL": "igm"}


class _Facts(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
        use_attribute_docstrings=False,
    )


class PregnancyLoss(_Facts):
    """One previous pregnancy loss."""

    gestational_weeks: Weeks | None = None
    kind: LossKind | None = Field(
        default=None,
        description=(
            "Kind of loss, of the knowledge base's vocabulary: biochemical, miscarriage, "
            "fetal-death, ectopic or molar in the bundled one "
            "(the bundled knowledge base counts neither ectopic nor molar pregnancies as "
            "pregnancy losses: its parameter uncounted_loss_kinds). "
            "Unknown kind counts as a loss."
        ),
    )
    date: IsoDate | None = None
    fetal_karyotype: FetalKaryotype | None = Field(
        default=None,
        description=(
            "Karyotype of the pregnancy tissue, if it was tested: normal, abnormal, "
            "unbalanced-structural (an unbalanced structural chromosomal abnormality: abnormal) "
            "or failed (tested without a result: unknown)."
        ),
    )

    @field_validator("fetal_karyotype", mode="before")
    @classmethod
    def _karyotype_not_iscn(cls, value: object) -> object:
        if isinstance(value, str) and _ISCN.match(value):
            raise ValueError(
                f"{value!r} is a karyotype formula; record the result instead: 'normal' for a "
                "normal karyotype (e.g. 46,XX or 46,XY), 'abnormal' for a chromosomal "
                "abnormality, 'unbalanced-structural' for an unbalanced structural one, "
                "'failed' when the tissue was tested without a result"
            )
        return value


class PregnancyHistory(_Facts):
    """Previous pregnancies. ``losses`` lists PREVIOUS losses; a current miscarriage is separate."""

    losses: tuple[PregnancyLoss, ...] | None = Field(
        default=None,
        strict=False,
        description="Previous pregnancy losses, one item each (any order).",
    )
    loss_count: int | None = Field(
        default=None,
        ge=0,
        le=50,
        description=(
            "Number of previous pregnancy losses (count, the kinds the knowledge base does not "
            "count, ectopic and molar pregnancies in the bundled one, excluded) when the "
            "history is not itemised, or not completely; may not be smaller than the counted "
            "losses listed (checked by the engine, which knows those kinds)."
        ),
    )
    consecutive: bool | None = Field(
        default=None,
        description="Whether the losses were consecutive (no live birth in between).",
    )
    live_births: int | None = Field(default=None, ge=0, le=30, description="Live births (count).")
    preterm_birth_before_34_weeks_placental: bool | None = Field(
        default=None,
        description=(
            "A preterm birth before 34 weeks for severe pre-eclampsia, eclampsia or "
            "placental insufficiency."
        ),
    )


class AntiphospholipidResult(_Facts):
    """One dated antiphospholipid antibody test result."""

    test: AplTest = Field(
        description=(
            "lupus-anticoagulant, anticardiolipin-igg, anticardiolipin-igm, anti-b2gpi-igg "
            "or anti-b2gpi-igm."
        )
    )
    date: IsoDate | None = None
    result: Literal["positive", "negative"] | None = Field(
        default=None,
        description=(
            "The laboratory's reading. Required for lupus anticoagulant; for the antibody "
            "tests give either this or value/above_99th_percentile."
        ),
    )
    value: float | None = Field(
        default=None,
        ge=0,
        allow_inf_nan=False,
        description="Antibody titre (unit: GPL, MPL or U/mL, given in unit).",
    )
    unit: TitreUnit | None = Field(
        default=None,
        validate_default=True,
        description="Unit of value: GPL (IgG phospholipid units), MPL (IgM) or U/mL.",
    )
    above_99th_percentile: bool | None = Field(
        default=None,
        description="Whether the titre is above the laboratory's 99th percentile.",
    )

    @field_validator("value")
    @classmethod
    def _value_not_for_lupus(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is not None and info.data.get("test") == "lupus-anticoagulant":
            raise ValueError("lupus anticoagulant is reported as result positive/negative")
        return value

    @field_validator("unit")
    @classmethod
    def _unit_matches(cls, unit: str | None, info: ValidationInfo) -> str | None:
        value = info.data.get("value")
        if unit is None:
            if value is not None:
                raise ValueError("a titre value needs a unit (GPL, MPL or U/mL)")
            return None
        if value is None and "value" in info.data:
            raise ValueError("unit given without a value")
        test = info.data.get("test")
        isotype = _UNIT_ISOTYPE.get(unit)
        if test is not None and isotype is not None and not test.endswith(isotype):
            raise ValueError(f"unit {unit} is for {isotype.upper()} antibodies, not {test}")
        return unit

    @field_validator("above_99th_percentile")
    @classmethod
    def _flag_not_for_lupus(cls, flag: bool | None, info: ValidationInfo) -> bool | None:
        if flag is not None and info.data.get("test") == "lupus-anticoagulant":
            raise ValueError("lupus anticoagulant is reported as result positive/negative")
        return flag

    @model_validator(mode="after")
    def _some_result(self) -> AntiphospholipidResult:
        has_reading = self.value is not None or self.above_99th_percentile is not None
        if self.result is None and not has_reading:
            if self.test == "lupus-anticoagulant":
                raise ValueError("lupus anticoagulant result has no result (positive/negative)")
            raise ValueError(
                f"{self.test} result gives neither result, value with unit, "
                "nor above_99th_percentile"
            )
        if self.result is not None and has_reading:
            raise ValueError(
                "give either result, or value/above_99th_percentile, not both (they could disagree)"
            )
        return self


class Antiphospholipid(_Facts):
    """Antiphospholipid antibody testing, and a clinician's diagnosis when one was recorded."""

    diagnosis: Literal["confirmed", "excluded"] | None = Field(
        default=None,
        description=(
            "Antiphospholipid syndrome confirmed or excluded, as recorded by a clinician "
            "(the engine reports it as asserted)."
        ),
    )
    results: tuple[AntiphospholipidResult, ...] | None = Field(
        default=None, strict=False, description="Dated results, any order."
    )


class InheritedThrombophilia(_Facts):
    """Inherited thrombophilia test results."""

    factor_v_leiden: Genotype | None = Field(
        default=None, description="Factor V Leiden: negative, heterozygous or homozygous."
    )
    prothrombin_g20210a: Genotype | None = Field(
        default=None, description="Prothrombin G20210A: negative, heterozygous or homozygous."
    )
    protein_c_deficiency: bool | None = Field(default=None, description="Protein C deficiency.")
    protein_s_deficiency: bool | None = Field(default=None, description="Protein S deficiency.")
    antithrombin_deficiency: bool | None = Field(
        default=None, description="Antithrombin deficiency."
    )


Symptom = Literal["bleeding", "cramping", "fluid-or-tissue-passage", "dark-discharge"]


class CurrentPregnancy(_Facts):
    """A pregnancy in progress."""

    gestational_weeks: Weeks | None = None
    symptoms: tuple[Symptom, ...] | None = Field(
        default=None,
        strict=False,
        description=(
            "Symptoms now: bleeding (or spotting), cramping (or pain), "
            "fluid-or-tissue-passage, dark-discharge. An empty list means none; "
            "absent means not recorded."
        ),
    )

    @field_validator("symptoms")
    @classmethod
    def _unique_symptoms(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        _reject_duplicates(value)
        return value


class CurrentMiscarriage(_Facts):
    """A miscarriage happening now (counted as one more pregnancy loss)."""

    gestational_weeks: Weeks | None = None
    retained_tissue: bool | None = Field(
        default=None, description="Pregnancy tissue left in the uterus."
    )
    infection_signs: bool | None = Field(default=None, description="Signs of infection.")


class RiskFactors(_Facts):
    """Reported risk factors for miscarriage."""

    smoking: bool | None = Field(default=None, description="Smokes now.")
    alcohol: bool | None = Field(default=None, description="Drinks alcohol now.")
    drug_use: bool | None = Field(default=None, description="Uses recreational drugs now.")
    diabetes: Literal["none", "controlled", "uncontrolled"] | None = Field(
        default=None, description="Diabetes: none, controlled or uncontrolled."
    )
    pcos: bool | None = Field(default=None, description="Polycystic ovary syndrome.")
    uterine_or_cervical_problem: bool | None = Field(
        default=None, description="A known problem of the uterus or cervix."
    )
    severe_malnutrition: bool | None = Field(default=None, description="Severe malnutrition.")
    thyroid_disease: bool | None = Field(default=None, description="Known thyroid disease.")


class Contraindications(_Facts):
    """Contraindications and cautions for heparin and aspirin."""

    bleeding_disorder: bool | None = Field(default=None, description="A bleeding disorder.")
    active_bleeding: bool | None = Field(
        default=None,
        description="Active (pathological) bleeding, a contraindication to anticoagulation.",
    )
    heparin_induced_thrombocytopenia: bool | None = Field(
        default=None, description="A history of heparin-induced thrombocytopenia."
    )
    heparin_allergy: bool | None = Field(default=None, description="Allergy to heparin.")
    aspirin_allergy: bool | None = Field(default=None, description="Allergy to aspirin.")
    osteoporosis: bool | None = Field(default=None, description="Osteoporosis.")


class Treatment(_Facts):
    """A treatment or investigation that is proposed, ordered, active or completed."""

    intervention: Intervention = Field(
        description=(
            "An intervention id of the knowledge base's vocabulary (rsa-rules schema lists "
            "those of the bundled one)."
        )
    )
    status: Annotated[str, StringConstraints(pattern=INTERVENTION_ID, max_length=40)] = Field(
        description=(
            "A treatment status of the knowledge base's vocabulary: proposed, ordered, active "
            "or completed in the bundled one (the first three are under way)."
        )
    )
    reason: TreatmentReason | None = Field(
        default=None,
        description=(
            "Why it is given, when the order says: recurrent-pregnancy-loss (to prevent "
            "miscarriage) or other (another indication, e.g. VTE prophylaxis, pre-eclampsia "
            "prevention, immune thrombocytopenia). Absent: not stated."
        ),
    )


class PatientFacts(_Facts):
    """Everything the engine may know about one patient. Absent means unknown."""

    id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Opaque patient reference, echoed in results; never logged.",
    )
    age: int | None = Field(
        default=None,
        ge=0,
        le=120,
        description=(
            "Age (unit: years), 0 to 120. Real records hold every age: the rules, not the "
            "validation, decide what applies (next-pregnancy advice needs reproductive age)."
        ),
    )
    pregnancy_history: PregnancyHistory | None = None
    thrombosis_history: bool | None = Field(
        default=None, description="A history of thrombosis (venous or arterial)."
    )
    antiphospholipid: Antiphospholipid | None = None
    inherited_thrombophilia: InheritedThrombophilia | None = None
    rh: Literal["positive", "negative"] | None = Field(
        default=None, description="Rh (D) status: positive or negative."
    )
    current_pregnancy: CurrentPregnancy | None = None
    current_miscarriage: CurrentMiscarriage | None = None
    risk_factors: RiskFactors | None = None
    contraindications: Contraindications | None = None
    treatments: tuple[Treatment, ...] | None = Field(
        default=None,
        strict=False,
        description=(
            "Treatments and investigations proposed, ordered, active or completed. An empty "
            "list means none; absent means not recorded."
        ),
    )

    @field_validator("treatments")
    @classmethod
    def _unique_treatments(
        cls, value: tuple[Treatment, ...] | None
    ) -> tuple[Treatment, ...] | None:
        if value:
            _reject_duplicates(
                [
                    f"{t.intervention} {t.status}" + (f" for reason {t.reason}" if t.reason else "")
                    for t in value
                ]
            )
        return value


def _reject_duplicates(items: Sequence[Any] | None) -> None:
    if not items:
        return
    seen: set[Any] = set()
    for item in items:
        if item in seen:
            raise ValueError(f"{item!r} is listed twice")
        seen.add(item)
