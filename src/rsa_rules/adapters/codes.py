"""The FHIR code lists (``rules/fhir-codes.yaml``): their schema, and matching codes to concepts.

The code lists are data, with their sources; this module validates them and answers one
question: which concept of the lists does a FHIR ``CodeableConcept`` stand for?

- A **confirmed** code is enough.
- An **unconfirmed** code is never enough on its own: the concept must be flagged with a
  ``text_fallback``, and the resource's text or display must name it. Every such reading is
  reported (``Match.via == "text"``).
- A concept with no confirmed code at all is read from its text only, and only when flagged.

Nothing here knows a clinical code: all of them come from the YAML file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .._compat import Traversable
from ..errors import KnowledgeError, KnowledgeProblem
from ..knowledge.yaml_guard import AliasError, refuse_aliases
from ..models.facts import PatientFacts

__all__ = [
    "CODES_FILE",
    "CodeBook",
    "CodeBookFile",
    "CodeEntry",
    "Concept",
    "Match",
    "NoMatch",
    "ResourceKind",
    "contains_phrase",
    "load_code_book",
    "normalise_text",
]

CODES_FILE = "fhir-codes.yaml"
EXTRA_CODES_PREFIX = "fhir-codes-"
"""Further code lists beside ``fhir-codes.yaml`` (``fhir-codes-*.yaml``, e.g. the §5.4
investigations): each adds sources, concepts and order checks to the one code book."""

_SLUG = r"^[a-z0-9][a-z0-9-]*$"
StrTuple = Annotated[tuple[str, ...], Field(strict=False)]


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class SourceSpec(_Spec):
    """Where a code list or a code comes from."""

    id: str = Field(pattern=_SLUG)
    title: str
    url: str | None = None


class SystemSpec(_Spec):
    """A code system and the URIs FHIR data names it by."""

    id: str = Field(pattern=_SLUG)
    name: str
    uris: tuple[str, ...] = Field(strict=False, min_length=1)
    dotless: bool = Field(
        default=False, description="Compare codes without their dots (ICD-10: O26.2 = O262)."
    )


class CodeEntry(_Spec):
    """One code of a concept, with whether it was confirmed and where it comes from."""

    system: str
    code: str = Field(min_length=1)
    display: str
    confirmed: bool
    source: str
    match: Literal["exact", "prefix"] = "exact"
    note: str | None = None
    search: tuple[str, ...] = Field(
        default=(),
        strict=False,
        description="For a prefix entry: the codes under it that a narrowed search names "
        "(a FHIR token search matches whole codes only).",
    )
    search_source: str | None = Field(default=None, description="Where ``search`` comes from.")

    @model_validator(mode="after")
    def _search_under_prefix(self) -> CodeEntry:
        if not self.search:
            if self.search_source is not None:
                raise ValueError("search_source is given without a search list")
            return self
        if self.match != "prefix":
            raise ValueError("a search list belongs to a prefix entry only")
        if self.search_source is None:
            raise ValueError("a search list needs its search_source")
        prefix = self.code.replace(".", "")
        strays = [c for c in self.search if not c.replace(".", "").startswith(prefix)]
        if strays:
            raise ValueError(f"search codes not under {self.code}: {', '.join(strays)}")
        return self


class TextFallback(_Spec):
    """Phrases that name a flagged concept in a resource's text or display."""

    reason: str = Field(min_length=1, description="Why the concept is flagged.")
    phrases: tuple[str, ...] = Field(strict=False, min_length=1)
    exclude: tuple[str, ...] = Field(default=(), strict=False)


class ReadsLoss(_Spec):
    as_: Literal["pregnancy-loss"] = Field(alias="as")
    loss_kind: str = Field(
        pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
        description="A kind of loss of the knowledge base's vocabulary (loss_kinds).",
    )
    counted: bool = Field(description="Whether the facts format counts this kind as a loss.")


class ReadsRecurrent(_Spec):
    as_: Literal["recurrent-loss"] = Field(alias="as")
    min_losses: int = Field(ge=1)
    source: str


class ReadsApsDiagnosis(_Spec):
    as_: Literal["aps-diagnosis"] = Field(alias="as")


class ReadsNotRecordable(_Spec):
    as_: Literal["not-recordable"] = Field(alias="as")
    reason: str


GenotypeField = Literal["factor_v_leiden", "prothrombin_g20210a"]
DeficiencyField = Literal["protein_c_deficiency", "protein_s_deficiency", "antithrombin_deficiency"]


class ReadsCarrier(_Spec):
    as_: Literal["carrier"] = Field(alias="as")
    field: GenotypeField


class ReadsAntiphospholipid(_Spec):
    as_: Literal["antiphospholipid"] = Field(alias="as")
    test: Literal[
        "lupus-anticoagulant",
        "anticardiolipin-igg",
        "anticardiolipin-igm",
        "anti-b2gpi-igg",
        "anti-b2gpi-igm",
    ]


class ReadsGenotype(_Spec):
    as_: Literal["genotype"] = Field(alias="as")
    field: GenotypeField


class ReadsDeficiency(_Spec):
    as_: Literal["deficiency"] = Field(alias="as")
    field: DeficiencyField
    note: str | None = None


class ReadsRh(_Spec):
    as_: Literal["rh"] = Field(alias="as")


class ReadsTreatment(_Spec):
    as_: Literal["treatment"] = Field(alias="as")
    intervention: str = Field(pattern=_SLUG)


class ReadsLiveBirth(_Spec):
    """A delivery: one live birth per pregnancy episode (unless a fetal death is recorded in
    the same episode)."""

    as_: Literal["live-birth"] = Field(alias="as")


class ReadsPregnancyEnd(_Spec):
    """A pregnancy that ended other than by a counted loss or a birth (e.g. an induced
    termination): not a loss; it leaves "consecutive" open when it lies between two losses."""

    as_: Literal["pregnancy-end"] = Field(alias="as")
    outcome: str = Field(min_length=1)


class ReadsPregnancy(_Spec):
    """A pregnancy: current while its Condition is active and not abated."""

    as_: Literal["pregnancy"] = Field(alias="as")


class ReadsGestationalAge(_Spec):
    as_: Literal["gestational-age"] = Field(alias="as")


class ReadsSmoking(_Spec):
    """Smoking status: the answer codes are in ``answers.smoking``."""

    as_: Literal["smoking"] = Field(alias="as")


class ReadsPregnancyStatus(_Spec):
    """Pregnancy status: the answer codes (pregnant, not pregnant) are in
    ``answers.pregnancy_status``; the latest dated status decides whether a pregnancy is current."""

    as_: Literal["pregnancy-status"] = Field(alias="as")


ValueField = Literal["risk_factors.diabetes"]


class ReadsValue(_Spec):
    """A value of the facts format that a recorded Condition states by its code (diabetes coded
    as with hyperglycemia is diabetes that is not controlled). ``why`` is reported with it."""

    as_: Literal["value"] = Field(alias="as")
    field: ValueField
    value: str = Field(min_length=1)
    why: str = Field(min_length=1)

    @model_validator(mode="after")
    def _valid_value(self) -> ReadsValue:
        section, _, name = self.field.rpartition(".")
        try:
            PatientFacts.model_validate({section: {name: self.value}})
        except ValidationError as error:
            raise ValueError(
                f"{self.value!r} is not a value of {self.field} in the facts format: "
                f"{error.errors()[0]['msg']}"
            ) from None
        return self


FlagField = Literal[
    "thrombosis_history",
    "contraindications.heparin_allergy",
    "contraindications.aspirin_allergy",
    "contraindications.heparin_induced_thrombocytopenia",
    "contraindications.bleeding_disorder",
    "contraindications.osteoporosis",
    "risk_factors.pcos",
]


class ReadsFlag(_Spec):
    """A yes/no fact of the facts format that a recorded Condition or allergy makes true.

    ``history``: a resolved or inactive record still counts (a history of thrombosis).
    Absence never makes the fact false: unknown is not negative."""

    as_: Literal["flag"] = Field(alias="as")
    field: FlagField
    history: bool = False


Reads = Annotated[
    ReadsLoss
    | ReadsRecurrent
    | ReadsApsDiagnosis
    | ReadsNotRecordable
    | ReadsCarrier
    | ReadsAntiphospholipid
    | ReadsGenotype
    | ReadsDeficiency
    | ReadsRh
    | ReadsTreatment
    | ReadsLiveBirth
    | ReadsPregnancyEnd
    | ReadsPregnancy
    | ReadsGestationalAge
    | ReadsSmoking
    | ReadsPregnancyStatus
    | ReadsValue
    | ReadsFlag,
    Field(discriminator="as_"),
]

_READS_BY_RESOURCE: dict[str, tuple[type[BaseModel], ...]] = {
    "Condition": (
        ReadsLoss,
        ReadsRecurrent,
        ReadsApsDiagnosis,
        ReadsNotRecordable,
        ReadsCarrier,
        ReadsPregnancy,
        ReadsValue,
        ReadsFlag,
    ),
    "Observation": (
        ReadsAntiphospholipid,
        ReadsGenotype,
        ReadsDeficiency,
        ReadsRh,
        ReadsGestationalAge,
        ReadsSmoking,
        ReadsPregnancyStatus,
        ReadsNotRecordable,
    ),
    "Request": (ReadsTreatment,),
    "Procedure": (ReadsLoss, ReadsLiveBirth, ReadsPregnancyEnd),
    "Encounter": (ReadsLoss, ReadsLiveBirth, ReadsPregnancyEnd),
    "AllergyIntolerance": (ReadsFlag,),
}
ResourceKind = Literal[
    "Condition", "Observation", "Request", "Procedure", "Encounter", "AllergyIntolerance"
]


class Concept(_Spec):
    """A concept of the code lists: its codes, how the adapter reads it, and its flag."""

    id: str = Field(pattern=_SLUG)
    label: str
    resource: ResourceKind = Field(
        description="Condition, Observation, Request (MedicationRequest and ServiceRequest), "
        "Procedure, Encounter (its type) or AllergyIntolerance."
    )
    reads: Reads
    codes: tuple[CodeEntry, ...] = Field(strict=False)
    gaps: StrTuple = Field(
        default=(),
        description="Codes known to exist but not confirmed, e.g. 'RxNorm: no code confirmed'.",
    )
    text_fallback: TextFallback | None = None

    @model_validator(mode="after")
    def _flag_rules(self) -> Concept:
        if not isinstance(self.reads, _READS_BY_RESOURCE[self.resource]):
            raise ValueError(f"a {self.resource} concept cannot be read as {self.reads.as_!r}")
        flagged = (
            not self.codes or any(not code.confirmed for code in self.codes) or bool(self.gaps)
        )
        if self.text_fallback is not None and not flagged:
            raise ValueError(
                "text_fallback is allowed only on a flagged concept (one with an unconfirmed "
                "code, a gap, or no confirmed code)"
            )
        if not any(code.confirmed for code in self.codes) and self.text_fallback is None:
            raise ValueError("a concept with no confirmed code needs a text_fallback")
        return self

    @property
    def flagged(self) -> bool:
        return self.text_fallback is not None

    @property
    def order_code(self) -> CodeEntry | None:
        """The code to order this concept by: its first confirmed code, if any."""
        return next((code for code in self.codes if code.confirmed), None)


class AnswerSet(_Spec):
    codes: tuple[CodeEntry, ...] = Field(default=(), strict=False)
    text: tuple[str, ...] = Field(default=(), strict=False)
    interpretation: tuple[str, ...] = Field(default=(), strict=False)


class Qualitative(_Spec):
    positive: AnswerSet
    negative: AnswerSet


class GenotypeAnswers(_Spec):
    heterozygous: tuple[str, ...] = Field(strict=False, min_length=1)
    homozygous: tuple[str, ...] = Field(strict=False, min_length=1)
    negative: tuple[str, ...] = Field(strict=False, min_length=1)


class LevelAnswers(_Spec):
    low: tuple[str, ...] = Field(strict=False, min_length=1)
    not_low: tuple[str, ...] = Field(strict=False, min_length=1)


class SmokingAnswers(_Spec):
    """Smoking status answers: smokes now, or does not."""

    current: tuple[CodeEntry, ...] = Field(strict=False, min_length=1)
    not_current: tuple[CodeEntry, ...] = Field(strict=False, min_length=1)


class PregnancyStatusAnswers(_Spec):
    """Pregnancy status answers: pregnant, or not. Other answers (unknown) leave it unknown."""

    pregnant: tuple[CodeEntry, ...] = Field(strict=False, min_length=1)
    not_pregnant: tuple[CodeEntry, ...] = Field(strict=False, min_length=1)


class Answers(_Spec):
    qualitative: Qualitative
    rh: Qualitative
    genotype: GenotypeAnswers
    level: LevelAnswers
    percentile_range_text: tuple[str, ...] = Field(strict=False, min_length=1)
    smoking: SmokingAnswers | None = None
    pregnancy_status: PregnancyStatusAnswers | None = None
    gestational_age_units: Mapping[str, float] = Field(
        default_factory=dict,
        strict=False,
        description="UCUM unit of a gestational age -> days per unit (wk: 7, d: 1).",
    )


class TitreUnit(_Spec):
    ucum: str
    unit: Literal["GPL", "MPL", "U/mL"]
    source: str


TreatmentStatus = Annotated[str, Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
"""A treatment status of the knowledge base's vocabulary (``statuses``), which a FHIR request
status is read as."""


class Statuses(_Spec):
    observation: tuple[str, ...] = Field(strict=False, min_length=1)
    condition_inactive: tuple[str, ...] = Field(
        default=(), strict=False, description="clinicalStatus codes of a past Condition."
    )
    allergy_verification_refused: tuple[str, ...] = Field(default=(), strict=False)
    allergy_inactive: tuple[str, ...] = Field(default=(), strict=False)
    procedure: tuple[str, ...] = Field(default=(), strict=False)
    encounter: tuple[str, ...] = Field(default=(), strict=False)
    condition_verification: tuple[str, ...] = Field(strict=False, min_length=1)
    condition_verification_missing: Literal["use", "skip"]
    condition_refuted: str
    requests: Mapping[
        Literal["MedicationRequest", "ServiceRequest"], Mapping[str, TreatmentStatus]
    ] = Field(strict=False)
    proposal_intents: tuple[str, ...] = Field(strict=False)


class Coding(_Spec):
    code: str = Field(min_length=1)
    display: str = Field(min_length=1)


class CdsHooksSpec(_Spec):
    topic_system: str = Field(min_length=1)
    override_reason_system: str = Field(min_length=1)
    override_reasons: tuple[Coding, ...] = Field(strict=False, min_length=1)
    order_checks: Mapping[str, StrTuple] = Field(strict=False)
    test_orders: Mapping[str, str] = Field(strict=False)
    intervention_tests: Mapping[str, StrTuple] = Field(strict=False)


class TreatmentReasons(_Spec):
    """How an order's stated reason (``reasonCode``, ``reasonReference``) is read: a reason
    naming one of these Condition concepts, or whose text names one of these phrases, is
    ``recurrent-pregnancy-loss``; any other stated reason is ``other``."""

    recurrent_pregnancy_loss_concepts: tuple[str, ...] = Field(strict=False, min_length=1)
    recurrent_pregnancy_loss_phrases: tuple[str, ...] = Field(strict=False, min_length=1)


class CodeListFile(_Spec):
    """A further code list (``fhir-codes-*.yaml``): sources, concepts and order checks that
    join ``fhir-codes.yaml``'s, checked with it as one file (its systems, no code twice)."""

    version: int = Field(ge=1)
    sources: tuple[SourceSpec, ...] = Field(strict=False, min_length=1)
    concepts: tuple[Concept, ...] = Field(strict=False, min_length=1)
    order_checks: dict[str, StrTuple] = Field(default_factory=dict, strict=False)


class CodeBookFile(_Spec):
    """The whole file ``rules/fhir-codes.yaml``."""

    version: int = Field(ge=1)
    sources: tuple[SourceSpec, ...] = Field(strict=False, min_length=1)
    systems: tuple[SystemSpec, ...] = Field(strict=False, min_length=1)
    concepts: tuple[Concept, ...] = Field(strict=False, min_length=1)
    answers: Answers
    titre_units: tuple[TitreUnit, ...] = Field(strict=False, min_length=1)
    statuses: Statuses
    cds_hooks: CdsHooksSpec
    treatment_reasons: TreatmentReasons | None = None

    @model_validator(mode="after")
    def _references(self) -> CodeBookFile:
        problems: list[str] = []
        sources = {s.id for s in self.sources}
        systems = {s.id for s in self.systems}
        concept_ids = [c.id for c in self.concepts]
        for name in {c for c in concept_ids if concept_ids.count(c) > 1}:
            problems.append(f"concept {name!r} is listed twice")
        entries: list[tuple[str, CodeEntry]] = [
            (concept.id, code) for concept in self.concepts for code in concept.codes
        ]
        answer_sets = (self.answers.qualitative, self.answers.rh)
        for group in answer_sets:
            for answer in (group.positive, group.negative):
                entries.extend(("answers", code) for code in answer.codes)
        if self.answers.smoking is not None:
            for smoking in (self.answers.smoking.current, self.answers.smoking.not_current):
                entries.extend(("answers", code) for code in smoking)
        status = self.answers.pregnancy_status
        if status is not None:
            for status_answers in (status.pregnant, status.not_pregnant):
                entries.extend(("answers", code) for code in status_answers)
        resource_of = {c.id: c.resource for c in self.concepts}
        seen: dict[tuple[str, str, str], str] = {}
        for owner, code in entries:
            if code.system not in systems:
                problems.append(f"{owner}: unknown code system {code.system!r}")
            if code.source not in sources:
                problems.append(f"{owner}: unknown source {code.source!r}")
            if code.search_source is not None and code.search_source not in sources:
                problems.append(f"{owner}: unknown source {code.search_source!r}")
            if owner != "answers":
                key = (resource_of[owner], code.system, code.code)
                if key in seen and seen[key] != owner:
                    problems.append(f"code {code.system}|{code.code} is in {seen[key]} and {owner}")
                seen[key] = owner
        for concept in self.concepts:
            reads = concept.reads
            if isinstance(reads, ReadsRecurrent) and reads.source not in sources:
                problems.append(f"{concept.id}: unknown source {reads.source!r}")
        for unit in self.titre_units:
            if unit.source not in sources:
                problems.append(f"titre unit {unit.ucum}: unknown source {unit.source!r}")
        known = set(concept_ids)
        if self.treatment_reasons is not None:
            for concept_id in self.treatment_reasons.recurrent_pregnancy_loss_concepts:
                if resource_of.get(concept_id) != "Condition":
                    problems.append(f"treatment_reasons: {concept_id!r} is not a Condition concept")
        for fact, concept_id in self.cds_hooks.test_orders.items():
            if concept_id not in known:
                problems.append(f"cds_hooks.test_orders.{fact}: unknown concept {concept_id!r}")
        for intervention, facts in self.cds_hooks.intervention_tests.items():
            for fact in facts:
                if fact not in self.cds_hooks.test_orders:
                    problems.append(
                        f"cds_hooks.intervention_tests.{intervention}: {fact!r} is not in "
                        "test_orders"
                    )
        if problems:
            raise ValueError("; ".join(problems))
        return self


# -- matching ---------------------------------------------------------------------------------

_NON_WORD = re.compile(r"[^a-z0-9]+")


def normalise_text(text: str) -> str:
    """Lower case, every run of punctuation or space one space: ``Rho(D)`` -> ``rho d``."""
    return _NON_WORD.sub(" ", text.lower()).strip()


def contains_phrase(text: str, phrase: str) -> bool:
    """Whether normalised ``text`` holds ``phrase`` as whole words."""
    return _contains_phrase(text, phrase)


def _contains_phrase(text: str, phrase: str) -> bool:
    return f" {phrase} " in f" {text} "


@dataclass(frozen=True)
class Match:
    """A concept recognised in a resource, and how."""

    concept: Concept
    via: Literal["code", "text"]
    coding: str | None = None  # "system|code" of the confirmed code matched
    text: str | None = None  # the text that named a flagged concept
    unconfirmed: tuple[str, ...] = ()  # unconfirmed codes the resource also carried


@dataclass(frozen=True)
class NoMatch:
    """No concept recognised; ``reason`` says why, ``candidates`` which concepts came close."""

    reason: str
    candidates: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Coded:
    concept: Concept
    entry: CodeEntry


class CodeBook:
    """The code lists, indexed for matching."""

    def __init__(self, spec: CodeBookFile, location: str = CODES_FILE) -> None:
        self.spec = spec
        self.location = location
        self.concepts: dict[str, Concept] = {c.id: c for c in spec.concepts}
        self._system_of_uri: dict[str, str] = {}
        self._dotless: set[str] = set()
        for system in spec.systems:
            for uri in system.uris:
                self._system_of_uri[uri.rstrip("/")] = system.id
            if system.dotless:
                self._dotless.add(system.id)
        self.system_names = {s.id: s.name for s in spec.systems}
        self.system_uri = {s.id: s.uris[0] for s in spec.systems}
        self.sources = {s.id: s for s in spec.sources}
        self._exact: dict[tuple[str, str, str], list[_Coded]] = {}
        self._prefix: dict[tuple[str, str], list[tuple[str, _Coded]]] = {}
        for concept in spec.concepts:
            for entry in concept.codes:
                code = self._code(entry.system, entry.code)
                coded = _Coded(concept, entry)
                if entry.match == "prefix":
                    self._prefix.setdefault((concept.resource, entry.system), []).append(
                        (code, coded)
                    )
                else:
                    self._exact.setdefault((concept.resource, entry.system, code), []).append(coded)
        self._fallbacks: dict[str, list[tuple[Concept, tuple[str, ...], tuple[str, ...]]]] = {}
        for concept in spec.concepts:
            if concept.text_fallback is not None:
                self._fallbacks.setdefault(concept.resource, []).append(
                    (
                        concept,
                        tuple(normalise_text(p) for p in concept.text_fallback.phrases),
                        tuple(normalise_text(p) for p in concept.text_fallback.exclude),
                    )
                )
        answers = spec.answers
        self.positive = self._answer_index(answers.qualitative.positive)
        self.negative = self._answer_index(answers.qualitative.negative)
        self.rh_positive = self._answer_index(answers.rh.positive)
        self.rh_negative = self._answer_index(answers.rh.negative)
        self.genotype_text = {
            normalise_text(text): genotype
            for genotype in ("heterozygous", "homozygous", "negative")
            for text in getattr(answers.genotype, genotype)
        }
        self.level_low = frozenset(answers.level.low)
        self.level_not_low = frozenset(answers.level.not_low)
        self.percentile_text = tuple(normalise_text(t) for t in answers.percentile_range_text)
        self.titre_units = {u.ucum: u.unit for u in spec.titre_units}
        smoking = answers.smoking
        self.smoking_current = self._code_index(smoking.current if smoking else ())
        self.smoking_not_current = self._code_index(smoking.not_current if smoking else ())
        status = answers.pregnancy_status
        self.pregnant = self._code_index(status.pregnant if status else ())
        self.not_pregnant = self._code_index(status.not_pregnant if status else ())
        self.gestational_age_units = dict(answers.gestational_age_units)
        reasons = spec.treatment_reasons
        self.rpl_reason_concepts = frozenset(
            reasons.recurrent_pregnancy_loss_concepts if reasons else ()
        )
        self.rpl_reason_phrases = tuple(
            normalise_text(p) for p in (reasons.recurrent_pregnancy_loss_phrases if reasons else ())
        )
        self.reads_reasons = reasons is not None
        self.statuses = spec.statuses
        self.cds = spec.cds_hooks

    # -- codes -----------------------------------------------------------------------------
    def system_of(self, uri: str | None) -> str | None:
        """The code system id of a FHIR system URI (None when the lists do not know it)."""
        if not uri:
            return None
        return self._system_of_uri.get(uri.rstrip("/"))

    def _code(self, system: str, code: str) -> str:
        code = code.strip()
        if system in self._dotless:
            return code.replace(".", "").upper()
        return code

    def _lookup(self, resource: str, system: str, code: str) -> list[_Coded]:
        code = self._code(system, code)
        found = list(self._exact.get((resource, system, code), ()))
        for prefix, coded in self._prefix.get((resource, system), ()):
            if code.startswith(prefix):
                found.append(coded)
        return found

    def match(
        self,
        resource: ResourceKind,
        codings: Iterable[tuple[str | None, str | None, str | None]],
        texts: Iterable[str | None],
    ) -> Match | NoMatch:
        """The concept that ``(system, code, display)`` codings and texts stand for."""
        confirmed: dict[str, tuple[Concept, str]] = {}
        unconfirmed: dict[str, list[str]] = {}
        shown: list[str] = []
        displays: list[str] = []
        for uri, code, display in codings:
            if display:
                displays.append(display)
            if not code:
                continue
            shown.append(f"{uri or '(no system)'}|{code}")
            system = self.system_of(uri)
            if system is None:
                continue
            for coded in self._lookup(resource, system, code):
                key = f"{self.system_names[system]} {code}"
                if coded.entry.confirmed:
                    confirmed.setdefault(coded.concept.id, (coded.concept, key))
                else:
                    unconfirmed.setdefault(coded.concept.id, []).append(key)
        if len(confirmed) > 1:
            return NoMatch(
                "its codes name more than one concept: " + ", ".join(sorted(confirmed)),
                tuple(sorted(confirmed)),
            )
        if confirmed:
            ((concept, key),) = confirmed.values()
            return Match(concept, "code", coding=key)
        named = self._named_by_text(resource, [*texts, *displays])
        if len(named) > 1:
            return NoMatch(
                "its text names more than one concept: " + ", ".join(sorted(named)),
                tuple(sorted(named)),
            )
        if named:
            concept, text = next(iter(named.values()))
            return Match(
                concept, "text", text=text, unconfirmed=tuple(unconfirmed.get(concept.id, ()))
            )
        if unconfirmed:
            concept_id, keys = next(iter(unconfirmed.items()))
            return NoMatch(
                f"{', '.join(keys)} is listed for {self.concepts[concept_id].label} but "
                f"unconfirmed in {self.location}, and its text does not name it",
                (concept_id,),
            )
        if shown:
            return NoMatch(f"no code in {self.location} ({', '.join(shown)})")
        return NoMatch(f"no code, and its text names nothing in {self.location}")

    def _named_by_text(
        self, resource: str, texts: Sequence[str | None]
    ) -> dict[str, tuple[Concept, str]]:
        named: dict[str, tuple[Concept, str]] = {}
        for text in texts:
            if not text:
                continue
            clean = normalise_text(text)
            for concept, phrases, excluded in self._fallbacks.get(resource, ()):
                if any(_contains_phrase(clean, p) for p in phrases) and not any(
                    _contains_phrase(clean, p) for p in excluded
                ):
                    named.setdefault(concept.id, (concept, text))
        return named

    # -- answers ---------------------------------------------------------------------------
    def _answer_index(self, answers: AnswerSet) -> _Answers:
        return _Answers(
            codes=frozenset(
                (entry.system, self._code(entry.system, entry.code))
                for entry in answers.codes
                if entry.confirmed
            ),
            text=frozenset(normalise_text(t) for t in answers.text),
            interpretation=frozenset(answers.interpretation),
        )

    def _code_index(self, entries: Iterable[CodeEntry]) -> frozenset[tuple[str, str]]:
        return frozenset(
            (entry.system, self._code(entry.system, entry.code))
            for entry in entries
            if entry.confirmed
        )

    def has_code(
        self, index: frozenset[tuple[str, str]], uri: str | None, code: str | None
    ) -> bool:
        """Whether a coding is one of an index's confirmed codes."""
        system = self.system_of(uri)
        return bool(system and code and (system, self._code(system, code)) in index)

    def answer_code(self, answers: _Answers, uri: str | None, code: str | None) -> bool:
        system = self.system_of(uri)
        return bool(system and code and (system, self._code(system, code)) in answers.codes)


@dataclass(frozen=True)
class _Answers:
    codes: frozenset[tuple[str, str]]
    text: frozenset[str]
    interpretation: frozenset[str]


def load_code_book(path: str | Path | Traversable | None = None) -> CodeBook:
    """Load and validate ``fhir-codes.yaml`` (the bundled one when ``path`` is None).

    ``path`` may be the file or the knowledge-base directory holding it. Problems raise
    :class:`~rsa_rules.KnowledgeError`, naming the file and the field.
    """
    if path is None:
        return _bundled()
    target: Traversable = Path(path) if isinstance(path, str) else path
    if target.is_dir():
        return _load(target.joinpath(CODES_FILE), _extra_files(target))
    return _load(target, ())


@cache
def _bundled() -> CodeBook:
    root = files("rsa_rules.rules")
    return _load(root.joinpath(CODES_FILE), _extra_files(root))


def _extra_files(root: Traversable) -> tuple[Traversable, ...]:
    extra = (
        entry
        for entry in root.iterdir()
        if entry.name.startswith(EXTRA_CODES_PREFIX) and entry.name.endswith(".yaml")
    )
    return tuple(sorted(extra, key=lambda entry: entry.name))


def _load(target: Traversable, extras: Sequence[Traversable]) -> CodeBook:
    document = _read(target)
    names = [target.name]
    for extra in extras:
        more = _validated(CodeListFile, _read(extra), extra.name)
        names.append(extra.name)
        if isinstance(document, dict):
            known = {s.get("id") for s in document.get("sources", ()) if isinstance(s, dict)}
            document["sources"] = [
                *document.get("sources", ()),
                *(s.model_dump(mode="json") for s in more.sources if s.id not in known),
            ]
            document["concepts"] = [
                *document.get("concepts", ()),
                *(c.model_dump(mode="json", by_alias=True) for c in more.concepts),
            ]
            checks = document.setdefault("cds_hooks", {}).setdefault("order_checks", {})
            if isinstance(checks, dict):
                checks.update({k: list(v) for k, v in more.order_checks.items()})
    spec = _validated(
        CodeBookFile, document, " + ".join(names), strict=None if len(names) == 1 else False
    )
    return CodeBook(spec, target.name)  # the further lists are part of it


def _read(target: Traversable) -> object:
    name = target.name
    try:
        text = target.read_text(encoding="utf-8")
    except OSError as error:
        raise KnowledgeError([KnowledgeProblem(name, f"cannot read: {error}")]) from None
    try:
        refuse_aliases(text)
        return yaml.safe_load(text)
    except AliasError as error:
        raise KnowledgeError([KnowledgeProblem(name, str(error))]) from None
    except yaml.YAMLError as error:
        raise KnowledgeError([KnowledgeProblem(name, f"not valid YAML: {error}")]) from None


M = TypeVar("M", bound=BaseModel)


def _validated(model: type[M], document: object, name: str, strict: bool | None = None) -> M:
    try:
        return model.model_validate(document, strict=strict)
    except ValidationError as error:
        raise KnowledgeError(
            [
                KnowledgeProblem(
                    name,
                    item["msg"].removeprefix("Value error, "),
                    field=".".join(str(p) for p in item["loc"]) or None,
                )
                for item in error.errors()
            ]
        ) from None
