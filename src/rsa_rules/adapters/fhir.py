"""FHIR R4 in: a Bundle (or a list of resources) becomes :class:`~rsa_rules.PatientFacts`.

    >>> from rsa_rules.fhir import facts_from_bundle
    >>> read = facts_from_bundle(bundle)                 # doctest: +SKIP
    >>> evaluation = read.evaluate()                     # doctest: +SKIP
    >>> read.references("antiphospholipid.results.1")   # doctest: +SKIP
    ('Observation/la-2',)

Resources are parsed with ``fhir.resources`` (its R4B classes, which read R4 data). Which
codes mean what is data (``rules/fhir-codes.yaml``, see :mod:`rsa_rules.adapters.codes`);
this module holds no clinical code or threshold. What it reads:

- **Patient**: age (from ``birthDate``, on the day given as ``today``, or at death), gender
  and ``deceased[x]``: no advice for a deceased patient, nor for a man whose record holds no
  pregnancy (:attr:`FhirFacts.withheld` says why).
- **Condition**: miscarriages (one loss per pregnancy episode: records of one kind in the same
  encounter or with the same onset date are one loss), ectopic pregnancies (listed, not
  counted), recurrent miscarriage (at least the code list's minimum number of losses),
  antiphospholipid syndrome (a confirmed Condition records the diagnosis as confirmed, a
  refuted one as excluded), factor V Leiden and prothrombin mutation (a carrier: read as
  heterozygous unless a genotype result says more; the assumption is reported), a pregnancy
  (current while active and not abated), thrombosis (also resolved), heparin-induced
  thrombocytopenia, osteoporosis, PCOS.
- **Procedure** (and **Encounter** types a code list names): deliveries as live births (one
  per episode, none in the episode of a fetal death) and other ends of pregnancy; with the
  losses, their dated order gives ``consecutive``.
- **Observation**: antiphospholipid tests (qualitative readings; titres with UCUM units; the
  99th-percentile flag from a reference range that names it), F5 and F2 genotypes, protein
  C, protein S and antithrombin levels (from the laboratory's interpretation or reference
  range), Rh type, gestational age (of a loss in the same episode, else of the current
  pregnancy), smoking status (the latest decides); each dated by its effective date.
- **AllergyIntolerance**: allergies to heparin or aspirin.
- **MedicationRequest**, **ServiceRequest**: treatments with their status (a draft, or an
  active proposal or plan, is *proposed*) and their stated reason.

Only this patient's data is read: see :func:`facts_from_bundle`. Resources that fail strict
R4 parsing only because a single value stands where R4 has a list are read as a list of one
(noted); others are reported as invalid, with the concept their codes name if any.

Every fact keeps the references of the resources it came from (:attr:`FhirFacts.sources`,
keyed by the input path the engine's explanations show), and
:meth:`FhirFacts.cite` rewrites explanation paths into those references
(``antiphospholipid.results.1`` -> ``Observation/la-2``). A resource the adapter cannot use is
never dropped silently: it is listed in :attr:`FhirFacts.unused` with the reason, and every
assumption, text-based reading and conflict is listed in :attr:`FhirFacts.notes`. Values that
disagree (two genotypes, two Rh types) leave the fact unknown: unknown is not negative.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.allergyintolerance import AllergyIntolerance
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.medication import Medication
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.procedure import Procedure
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from pydantic import ValidationError

from ..engine import validate_facts
from ..errors import FhirError
from ..limits import MAX_FHIR_RESOURCES
from ..models.facts import AntiphospholipidResult, PatientFacts, Treatment
from .cds_hooks import operation_outcome_text
from .codes import (
    CodeBook,
    Concept,
    Match,
    NoMatch,
    ReadsAntiphospholipid,
    ReadsApsDiagnosis,
    ReadsCarrier,
    ReadsDeficiency,
    ReadsFlag,
    ReadsGenotype,
    ReadsGestationalAge,
    ReadsLiveBirth,
    ReadsLoss,
    ReadsNotRecordable,
    ReadsPregnancy,
    ReadsPregnancyEnd,
    ReadsPregnancyStatus,
    ReadsRecurrent,
    ReadsRh,
    ReadsSmoking,
    ReadsTreatment,
    ReadsValue,
    contains_phrase,
    load_code_book,
    normalise_text,
)
from .fhir_facts import AdapterNote, FhirFacts, UnusedResource, UnusedStatus

if TYPE_CHECKING:
    pass

__all__ = [
    "AdapterNote",
    "FhirError",
    "FhirFacts",
    "UnusedResource",
    "facts_from_bundle",
]

_READ_TYPES = (
    "OperationOutcome",
    "Patient",
    "Procedure",
    "Encounter",
    "AllergyIntolerance",
    "Condition",
    "Observation",
    "MedicationRequest",
    "ServiceRequest",
    "Medication",
)
_CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_RPL = "recurrent-pregnancy-loss"
_ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
_ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"


# -- reading ---------------------------------------------------------------------------------


@dataclass
class _Item:
    raw: dict[str, Any]
    type: str
    reference: str
    full_url: str | None
    model: FHIRAbstractModel | None = None


@dataclass
class _Loss:
    references: list[str]
    kind: str
    counted: bool
    day: date | None
    episode: str | None = None  # the Encounter it was recorded in, if any
    weeks: int | None = None
    weeks_from: str | None = None


@dataclass
class _Event:
    """Something that happened in a pregnancy episode: a birth, another end, a pregnancy."""

    kind: Literal["birth", "end", "pregnancy"]
    reference: str
    day: date | None
    episode: str | None
    label: str


@dataclass
class _Weeks:
    weeks: int
    day: date | None
    episode: str | None
    reference: str
    item: _Item


@dataclass
class _Value:
    value: Any
    reference: str
    how: str


def facts_from_bundle(
    bundle: Any,
    *,
    patient_id: str | None = None,
    today: date | None = None,
    codes: CodeBook | None = None,
    fhir_server: str | None = None,
) -> FhirFacts:
    """Read patient facts from a FHIR R4 Bundle, a resource, or a list of them.

    ``bundle`` may be JSON-like dicts or ``fhir.resources`` models; nested Bundles (e.g.
    prefetched search results) are read entry by entry. ``patient_id`` chooses the patient
    when there are several (resources about anyone else are reported, not read); ``today``
    is the day ages are computed on (default: today; results dated after it are not used);
    ``codes`` is another code book (default: the bundled ``rules/fhir-codes.yaml``);
    ``fhir_server`` is the base URL of the FHIR server the data comes from (absolute subject
    references on it are this server's; on any other server they are not this patient).

    A resource is evidence only when its subject (or patient) reference resolves to this
    patient: a relative reference, an absolute one on ``fhir_server`` (or on the server of the
    Patient's ``fullUrl``), or the Patient's ``urn:uuid`` inside the Bundle. Identifier-only,
    display-only, missing or other-server subjects, and dates before birth or after ``today``,
    are not used and are reported.

    Raises :class:`FhirError` when the input is not FHIR at all, or holds several patients
    and none is chosen.
    """
    return _Reader(codes or load_code_book(), patient_id, today or date.today(), fhir_server).read(
        bundle
    )


class _Reader:
    def __init__(
        self, codes: CodeBook, patient_id: str | None, today: date, fhir_server: str | None = None
    ) -> None:
        self.codes = codes
        self.patient_id = patient_id
        self.today = today
        self.bases: set[str] = {_base(fhir_server)} if fhir_server else set()
        self.full_urls: set[str] = set()
        self.born: date | None = None
        self.gender: str | None = None
        self.deceased: str | None = None
        self.keys: set[str] = set()
        self.items: list[_Item] = []
        self.unused: list[UnusedResource] = []
        self.notes: list[AdapterNote] = []
        self.read_refs: list[str] = []
        self.losses: list[_Loss] = []
        self.recurrent: list[tuple[str, int]] = []
        self.diagnoses: list[_Value] = []
        self.apl: list[tuple[dict[str, Any], str, date | None]] = []
        self.scalars: dict[str, list[_Value]] = {}
        self.carriers: dict[str, list[str]] = {}
        self.treatments: list[tuple[str, str, str, str | None]] = []
        self.events: list[_Event] = []
        self.current_pregnancy: list[tuple[str, date | None]] = []
        self.gestational_ages: list[_Weeks] = []
        self.flags: dict[str, list[str]] = {}
        self.smoking: list[tuple[date | None, bool, str, _Item]] = []
        self.pregnancy_status: list[tuple[date | None, bool, _Item]] = []
        self.medications: dict[str, _Item] = {}
        self.referenced_medications: set[str] = set()
        self.position = 0

    # -- collecting ----------------------------------------------------------------------
    def read(self, source: Any) -> FhirFacts:
        self._collect(source, None)
        self._parse_all()
        patient = self._choose_patient()
        keys = self._patient_keys(patient)
        self._check_one_subject(keys)
        if patient is not None and isinstance(patient.model, Patient):
            self.born = _as_date(patient.model.birthDate)
        self.keys = keys
        for item in self.items:
            if item.model is None or item.type in ("Patient", "Medication"):
                continue
            if item.type == "OperationOutcome":
                self._outcome(item)
                continue
            self._read_item(item)
        for reference, item in self.medications.items():
            if reference not in self.referenced_medications:
                self._unused(item, "not-used", "a Medication no MedicationRequest refers to")
        return self._assemble(patient)

    def _collect(self, source: Any, full_url: str | None) -> None:
        if isinstance(source, FHIRAbstractModel):
            source = json.loads(source.model_dump_json())
        if isinstance(source, Mapping):
            kind = source.get("resourceType")
            if not isinstance(kind, str) or not kind:
                raise FhirError("a FHIR resource must have a resourceType")
            if kind == "Bundle":
                self._collect_bundle(source)
                return
            self._next_position()
            resource_id = source.get("id")
            if isinstance(resource_id, str) and resource_id:
                reference = f"{kind}/{resource_id}"
            else:
                reference = full_url or f"{kind} (item {self.position}, no id)"
            self.items.append(_Item(dict(source), kind, reference, full_url))
            return
        if isinstance(source, Sequence) and not isinstance(source, (str, bytes)):
            for item in source:
                self._collect(item, None)
            return
        raise FhirError(
            f"expected a FHIR Bundle, a resource or a list of them, not {type(source).__name__}"
        )

    def _next_position(self) -> None:
        self.position += 1
        if self.position > MAX_FHIR_RESOURCES:  # refused before any is parsed
            raise FhirError(
                f"more than {MAX_FHIR_RESOURCES:,} resources and Bundle entries for one "
                "patient (the limit)"
            )

    def _collect_bundle(self, bundle: Mapping[str, Any]) -> None:
        entries = bundle.get("entry")
        if entries is None:
            entries = []
        if not isinstance(entries, list):
            raise FhirError("Bundle.entry must be a list")
        shell = {key: value for key, value in bundle.items() if key != "entry"}
        # CDS clients send context Bundles (draftOrders) without the type R4 requires: the
        # specification's own examples, its sandbox and the Da Vinci CRD test kit all do.
        shell.setdefault("type", "collection")
        try:
            Bundle.model_validate(shell)
        except (ValidationError, ValueError, KeyError, TypeError) as error:
            raise FhirError(f"not a valid FHIR Bundle: {_problem(error)}") from None
        for number, entry in enumerate(entries):
            if not isinstance(entry, Mapping) or not isinstance(entry.get("resource"), Mapping):
                self._next_position()
                self.unused.append(
                    UnusedResource(
                        f"Bundle entry {number}", "(none)", "invalid", "the entry has no resource"
                    )
                )
                continue
            url = entry.get("fullUrl")
            self._collect(entry["resource"], url if isinstance(url, str) and url else None)

    def _parse_all(self) -> None:
        seen: dict[str, _Item] = {}
        kept: list[_Item] = []
        for item in self.items:
            earlier = seen.get(item.reference)
            if earlier is not None:
                if earlier.raw == item.raw:
                    self.notes.append(
                        AdapterNote(
                            "merged",
                            f"{item.reference} was given more than once; read once",
                            (item.reference,),
                        )
                    )
                else:
                    self._unused(
                        item, "not-used", "another version of this resource was given first"
                    )
                continue
            seen[item.reference] = item
            if item.type not in _READ_TYPES:
                self._unused(
                    item, "unrecognised", f"the adapter does not read {item.type} resources"
                )
                continue
            model, problem, wrapped = _parse_lenient(item.type, item.raw)
            if model is None:
                self._unused(
                    item, "invalid", f"not valid FHIR R4: {problem}", self._raw_concept(item)
                )
                continue
            item.model = model
            if wrapped:
                self.notes.append(
                    AdapterNote(
                        "assumption",
                        f"{item.reference}: {', '.join(wrapped)} given as a single value where "
                        "FHIR R4 has a list; read as a list of one",
                        (item.reference,),
                    )
                )
            kept.append(item)
            if item.type == "Medication":
                self.medications[item.reference] = item
                if item.full_url:
                    self.medications[item.full_url] = item
        self.items = kept

    def _raw_concept(self, item: _Item) -> str | None:
        """The concept an unparseable resource names by its codes, if any: an invalid draft
        order of one of the engine's interventions is reported as such; any other invalid
        resource is not about this engine."""
        found_field = _CODE_FIELDS.get(item.type)
        if found_field is None:
            return None
        kind, field_name = found_field
        codings, texts = _raw_code_parts(item.raw.get(field_name))
        found = self.codes.match(kind, codings, texts)
        if isinstance(found, Match):
            return found.concept.id
        return found.candidates[0] if len(found.candidates) == 1 else None

    # -- the patient ---------------------------------------------------------------------
    def _choose_patient(self) -> _Item | None:
        patients = [item for item in self.items if item.type == "Patient"]
        chosen: _Item | None = None
        if self.patient_id is not None:
            chosen = next(
                (
                    p
                    for p in patients
                    if isinstance(p.model, Patient) and p.model.id == self.patient_id
                ),
                None,
            )
        elif len(patients) == 1:
            chosen = patients[0]
        elif len(patients) > 1:
            raise FhirError(
                f"{len(patients)} Patient resources ({', '.join(p.reference for p in patients)}): "
                "give patient_id to choose whose facts to read"
            )
        for other in patients:
            if other is not chosen:
                wanted = f"Patient/{self.patient_id}" if self.patient_id else "the patient"
                self._unused(other, "not-used", f"another patient than {wanted}")
        return chosen

    def _patient_keys(self, patient: _Item | None) -> set[str]:
        keys: set[str] = set()
        if self.patient_id is not None:
            keys.add(f"Patient/{self.patient_id}")
        if patient is not None:
            keys.add(patient.reference)
            if patient.full_url:
                keys.add(_patient_key(patient.full_url))
                self.full_urls.add(patient.full_url)
                if _ABSOLUTE.match(patient.full_url):
                    self.bases.add(_base(patient.full_url))
        return keys

    def _not_this_patient(self, model: FHIRAbstractModel, keys: set[str]) -> str | None:
        """Why a resource is not this patient's evidence; None when it is."""
        subject = _subject_field(model)
        if subject is None:
            return "it names no patient (no subject): it is not used as this patient's data"
        reference = subject.reference
        if not reference:
            if subject.identifier is not None:
                shown = subject.identifier.value or "an identifier"
                return (
                    f"its subject is given by identifier only ({shown}), not a reference to this"
                    " patient: not used"
                )
            if subject.display:
                return (
                    f"its subject is a name only ({subject.display!r}), not a reference to this"
                    " patient: not used"
                )
            return "its subject has no reference: it is not used as this patient's data"
        wanted = _first(keys) if keys else "the patient"
        if reference.startswith("urn:"):
            if reference in self.full_urls:
                return None
            return f"its subject {reference} is not this patient's entry in the data ({wanted})"
        if reference.startswith("#"):
            return f"its subject is a contained resource ({reference}), not {wanted}"
        key = _patient_key(reference)
        if _ABSOLUTE.match(reference):
            base = _base(reference)
            if base not in self.bases and (self.bases or not key.startswith("Patient/")):
                return f"its subject {reference} is on another FHIR server, not {wanted}"
        if not key.startswith("Patient/"):
            return f"its subject {reference} is not a patient"
        if keys and key not in keys:
            return f"about {reference}, not {wanted}"
        return None

    def _outside_life(
        self, item: _Item, day: date | None, what: str, concept: str | None = None
    ) -> bool:
        """Report (and return True for) a date before birth or after ``today``."""
        if day is None:
            return False
        if day > self.today:
            reason = (
                f"its {what} {day.isoformat()} is after {self.today.isoformat()} "
                "(the day of the evaluation)"
            )
        elif self.born is not None and day < self.born:
            reason = (
                f"its {what} {day.isoformat()} is before the patient's birth "
                f"({self.born.isoformat()})"
            )
        else:
            return False
        self._unused(item, "not-used", f"{reason}: not used", concept)
        return True

    def _outcome(self, item: _Item) -> None:
        self._unused(
            item,
            "not-used",
            "the FHIR server or client reported a problem instead of data "
            f"({operation_outcome_text(item.raw)}): the data it stands for is unavailable",
        )

    def _check_one_subject(self, keys: set[str]) -> None:
        if keys:
            return
        subjects = {
            _patient_key(subject)
            for item in self.items
            if item.model is not None and (subject := _subject_of(item.model)) is not None
        }
        if len(subjects) > 1:
            raise FhirError(
                f"the resources are about {len(subjects)} patients ({', '.join(sorted(subjects))})"
                ": give patient_id to choose whose facts to read"
            )

    # -- one resource --------------------------------------------------------------------
    def _read_item(self, item: _Item) -> None:
        model = item.model
        if isinstance(model, Condition):
            self._condition(item, model)
        elif isinstance(model, Observation):
            self._observation(item, model)
        elif isinstance(model, (MedicationRequest, ServiceRequest)):
            self._request(item, model)
        elif isinstance(model, Procedure):
            self._procedure(item, model)
        elif isinstance(model, Encounter):
            self._encounter(item, model)
        elif isinstance(model, AllergyIntolerance):
            self._allergy(item, model)

    def _recognised(self, item: _Item, found: Match | NoMatch) -> Concept | None:
        if isinstance(found, NoMatch):
            status: UnusedStatus = "not-used" if found.candidates else "unrecognised"
            concept = found.candidates[0] if len(found.candidates) == 1 else None
            self._unused(item, status, found.reason, concept)
            return None
        if item.model is not None:
            whose = self._not_this_patient(item.model, self.keys)
            if whose is not None:
                self._unused(item, "not-used", whose, found.concept.id)
                return None
        if found.via == "text":
            fallback = found.concept.text_fallback
            reason = fallback.reason if fallback else "flagged"
            also = (
                f" (it also carries {', '.join(found.unconfirmed)}, unconfirmed)"
                if found.unconfirmed
                else ""
            )
            self.notes.append(
                AdapterNote(
                    "text-match",
                    f"{item.reference} was read as {found.concept.label} from its text "
                    f"{found.text!r}{also}: {reason}",
                    (item.reference,),
                )
            )
        return found.concept

    def _condition(self, item: _Item, condition: Condition) -> None:
        concept = self._recognised(
            item, self.codes.match("Condition", *_code_parts([condition.code]))
        )
        if concept is None:
            return
        reads = concept.reads
        status = _code_in(condition.verificationStatus, _CONDITION_VERIFICATION)
        statuses = self.codes.statuses
        if isinstance(reads, ReadsApsDiagnosis) and status == statuses.condition_refuted:
            self.diagnoses.append(_Value("excluded", item.reference, "refuted"))
            self.read_refs.append(item.reference)
            return
        if status is None:
            if statuses.condition_verification_missing == "skip":
                self._unused(item, "not-used", "no verificationStatus", concept.id)
                return
        elif status not in statuses.condition_verification:
            self._unused(item, "not-used", f"verificationStatus is {status}", concept.id)
            return
        if isinstance(reads, ReadsNotRecordable):
            self._unused(item, "not-used", reads.reason, concept.id)
            return
        onset = condition.onsetDateTime or (
            condition.onsetPeriod.start if condition.onsetPeriod is not None else None
        )
        day = _as_date(onset)
        if self._outside_life(item, day, "onset", concept.id) or self._outside_life(
            item, _as_date(condition.recordedDate), "recorded date", concept.id
        ):
            return
        clinical = _code_in(condition.clinicalStatus, _CONDITION_CLINICAL)
        inactive = clinical in statuses.condition_inactive
        keeps_history = isinstance(reads, ReadsFlag) and reads.history
        if isinstance(reads, ReadsFlag | ReadsValue) and inactive and not keeps_history:
            self._unused(item, "not-used", f"clinicalStatus is {clinical}: not current", concept.id)
            return
        self.read_refs.append(item.reference)
        episode = _reference_of(condition.encounter)
        if isinstance(reads, ReadsLoss):
            self.losses.append(
                _Loss([item.reference], reads.loss_kind, reads.counted, day, episode)
            )
        elif isinstance(reads, ReadsPregnancy):
            abated = (
                condition.abatementDateTime
                or condition.abatementPeriod
                or (condition.abatementString or condition.abatementAge)
            )
            if not inactive and not abated:
                self.current_pregnancy.append((item.reference, day))
            self.events.append(_Event("pregnancy", item.reference, day, episode, concept.label))
        elif isinstance(reads, ReadsFlag):
            self.flags.setdefault(reads.field, []).append(item.reference)
        elif isinstance(reads, ReadsValue):
            self._scalar(item, reads.field, reads.value, concept.label)
            self.notes.append(
                AdapterNote(
                    "assumption",
                    f"{item.reference}: read as {reads.field} {reads.value}: {reads.why}",
                    (item.reference,),
                    (reads.field,),
                )
            )
        elif isinstance(reads, ReadsRecurrent):
            self.recurrent.append((item.reference, reads.min_losses))
        elif isinstance(reads, ReadsApsDiagnosis):
            self.diagnoses.append(_Value("confirmed", item.reference, "recorded"))
        elif isinstance(reads, ReadsCarrier):
            self.carriers.setdefault(reads.field, []).append(item.reference)

    def _observation(self, item: _Item, observation: Observation) -> None:
        concept = self._recognised(
            item, self.codes.match("Observation", *_code_parts([observation.code]))
        )
        if concept is None:
            return
        if not self._status_read(
            item, observation.status, self.codes.statuses.observation, concept.id
        ):
            return
        if observation.dataAbsentReason is not None:
            absent = _texts_of(observation.dataAbsentReason)
            self._unused(
                item, "not-used", f"no value ({', '.join(absent) or 'data absent'})", concept.id
            )
            return
        effective = (
            observation.effectiveDateTime
            or observation.effectiveInstant
            or (observation.effectivePeriod.start if observation.effectivePeriod else None)
        )
        day = _as_date(effective)
        if self._outside_life(item, day, "effective date", concept.id) or self._outside_life(
            item, _as_date(observation.issued), "issue date", concept.id
        ):
            return
        if effective is not None and day is None:
            self.notes.append(
                AdapterNote(
                    "assumption",
                    f"{item.reference}: effective date {effective} is not a full date; "
                    "the result is read as undated",
                    (item.reference,),
                )
            )
        reads = concept.reads
        if isinstance(reads, ReadsNotRecordable):
            self._unused(item, "not-used", reads.reason, concept.id)
        elif isinstance(reads, ReadsAntiphospholipid):
            self._apl(item, observation, reads, day, concept)
        elif isinstance(reads, ReadsGenotype):
            genotype, why = self._genotype(observation)
            if genotype is None:
                self._unused(item, "not-used", why, concept.id)
                return
            self._scalar(item, f"inherited_thrombophilia.{reads.field}", genotype, why)
        elif isinstance(reads, ReadsDeficiency):
            deficient, why = self._level(observation)
            if deficient is None:
                self._unused(item, "not-used", why, concept.id)
                return
            self._scalar(item, f"inherited_thrombophilia.{reads.field}", deficient, why)
            if reads.note and deficient:
                self.notes.append(
                    AdapterNote(
                        "assumption",
                        f"{item.reference}: {reads.note}",
                        (item.reference,),
                        (f"inherited_thrombophilia.{reads.field}",),
                    )
                )
        elif isinstance(reads, ReadsGestationalAge):
            weeks, why = self._gestational_weeks(observation)
            if weeks is None:
                self._unused(item, "not-used", why, concept.id)
                return
            episode = _reference_of(observation.encounter)
            self.gestational_ages.append(_Weeks(weeks, day, episode, item.reference, item))
        elif isinstance(reads, ReadsSmoking):
            smokes = self._smokes(observation)
            if smokes is None:
                self._unused(
                    item,
                    "not-used",
                    "its value is not read as smoking now or not (the answer lists in "
                    f"{self.codes.location})",
                    concept.id,
                )
                return
            self.smoking.append((day, smokes, item.reference, item))
        elif isinstance(reads, ReadsPregnancyStatus):
            pregnant = self._pregnant(observation)
            if pregnant is None:
                self._unused(
                    item,
                    "not-used",
                    "its value is not read as pregnant or not pregnant (the answer lists in "
                    f"{self.codes.location})",
                    concept.id,
                )
                return
            self.pregnancy_status.append((day, pregnant, item))
        elif isinstance(reads, ReadsRh):
            rh = self._rh(observation)
            if rh is None:
                self._unused(
                    item, "not-used", "its value is not read as Rh positive or negative", concept.id
                )
                return
            self._scalar(item, "rh", rh, "Rh type")

    def _scalar(self, item: _Item, path: str, value: Any, how: str) -> None:
        self.read_refs.append(item.reference)
        self.scalars.setdefault(path, []).append(_Value(value, item.reference, how))

    def _request(self, item: _Item, request: MedicationRequest | ServiceRequest) -> None:
        kind: Literal["MedicationRequest", "ServiceRequest"]
        if isinstance(request, MedicationRequest):
            kind = "MedicationRequest"
            concepts: list[CodeableConcept | None] = [request.medicationCodeableConcept]
            if request.medicationReference is not None:
                medication = self._medication(request, request.medicationReference)
                if medication is None:
                    self._unused(
                        item,
                        "not-used",
                        f"its medication {request.medicationReference.reference} is not in "
                        "the data given",
                    )
                    return
                concepts.append(medication.code)
        else:
            kind = "ServiceRequest"
            concepts = [request.code]
        concept = self._recognised(item, self.codes.match("Request", *_code_parts(concepts)))
        if concept is None:
            return
        reads = concept.reads
        if not isinstance(reads, ReadsTreatment):  # pragma: no cover - the schema forbids it
            return
        mapping = self.codes.statuses.requests[kind]
        if not self._status_read(item, request.status, mapping, concept.id):
            return
        status = mapping[request.status or ""]
        if (
            status in ("ordered", "active")
            and request.intent in self.codes.statuses.proposal_intents
        ):
            status = "proposed"
        self.read_refs.append(item.reference)
        reason = self._stated_reason(item, request)
        self.treatments.append((reads.intervention, status, item.reference, reason))

    def _procedure(self, item: _Item, procedure: Procedure) -> None:
        concept = self._recognised(
            item, self.codes.match("Procedure", *_code_parts([procedure.code]))
        )
        if concept is None:
            return
        if not self._status_read(item, procedure.status, self.codes.statuses.procedure, concept.id):
            return
        performed = procedure.performedDateTime or (
            procedure.performedPeriod.start if procedure.performedPeriod is not None else None
        )
        day = _as_date(performed)
        if self._outside_life(item, day, "date", concept.id):
            return
        self._episode_event(item, concept, day, _reference_of(procedure.encounter))

    def _encounter(self, item: _Item, encounter: Encounter) -> None:
        concept = self._recognised(
            item, self.codes.match("Encounter", *_code_parts(encounter.type or ()))
        )
        if concept is None:
            return
        if not self._status_read(item, encounter.status, self.codes.statuses.encounter, concept.id):
            return
        day = _as_date(encounter.period.start if encounter.period is not None else None)
        if self._outside_life(item, day, "date", concept.id):
            return
        self._episode_event(item, concept, day, item.reference)

    def _episode_event(
        self, item: _Item, concept: Concept, day: date | None, episode: str | None
    ) -> None:
        reads = concept.reads
        self.read_refs.append(item.reference)
        if isinstance(reads, ReadsLoss):
            self.losses.append(
                _Loss([item.reference], reads.loss_kind, reads.counted, day, episode)
            )
        elif isinstance(reads, ReadsLiveBirth):
            self.events.append(_Event("birth", item.reference, day, episode, concept.label))
        elif isinstance(reads, ReadsPregnancyEnd):
            self.events.append(_Event("end", item.reference, day, episode, reads.outcome))

    def _allergy(self, item: _Item, allergy: AllergyIntolerance) -> None:
        concept = self._recognised(
            item, self.codes.match("AllergyIntolerance", *_code_parts([allergy.code]))
        )
        if concept is None:
            return
        statuses = self.codes.statuses
        verification = _code_in(allergy.verificationStatus, _ALLERGY_VERIFICATION)
        if verification in statuses.allergy_verification_refused:
            self._unused(item, "not-used", f"verificationStatus is {verification}", concept.id)
            return
        clinical = _code_in(allergy.clinicalStatus, _ALLERGY_CLINICAL)
        if clinical in statuses.allergy_inactive:
            self._unused(item, "not-used", f"clinicalStatus is {clinical}", concept.id)
            return
        if self._outside_life(item, _as_date(allergy.recordedDate), "recorded date", concept.id):
            return
        reads = concept.reads
        if isinstance(reads, ReadsFlag):
            self.read_refs.append(item.reference)
            self.flags.setdefault(reads.field, []).append(item.reference)

    def _stated_reason(
        self, item: _Item, request: MedicationRequest | ServiceRequest
    ) -> str | None:
        """The order's stated reason: ``recurrent-pregnancy-loss``, ``other``, or None (not
        stated); the reading is noted. An order with several reasons takes the one that puts
        it most clearly in the engine's context."""
        if not self.codes.reads_reasons:
            return None
        readings: list[tuple[str, str]] = []
        for reason in request.reasonCode or ():
            readings.append(self._reason_reading(*_code_parts([reason])))
        for target in request.reasonReference or ():
            found = self._resource(target.reference)
            if found is None or not isinstance(found.model, Condition):
                shown = target.reference or target.display or "a reference"
                self.notes.append(
                    AdapterNote(
                        "assumption",
                        f"{item.reference}: its reason {shown} is not a Condition in the data; "
                        "that reason is not read",
                        (item.reference,),
                    )
                )
                continue
            readings.append(self._reason_reading(*_code_parts([found.model.code])))
        if not readings:
            return None
        chosen = next((r for r in readings if r[0] == _RPL), readings[0])
        self.notes.append(
            AdapterNote(
                "assumption",
                f"{item.reference}: stated reason {chosen[1]} read as "
                + (
                    "recurrent pregnancy loss (to prevent miscarriage)"
                    if chosen[0] == _RPL
                    else "another indication"
                ),
                (item.reference,),
            )
        )
        return chosen[0]

    def _reason_reading(
        self,
        codings: list[tuple[str | None, str | None, str | None]],
        texts: list[str | None],
    ) -> tuple[str, str]:
        shown = next(
            (t for t in [*texts, *(d for _, _, d in codings)] if t),
            ", ".join(f"{s or '(no system)'}|{c}" for s, c, _ in codings if c) or "(empty)",
        )
        found = self.codes.match("Condition", codings, texts)
        if isinstance(found, Match) and found.concept.id in self.codes.rpl_reason_concepts:
            return _RPL, repr(shown)
        for text in [*texts, *(d for _, _, d in codings)]:
            clean = normalise_text(text or "")
            if any(contains_phrase(clean, p) for p in self.codes.rpl_reason_phrases):
                return _RPL, repr(shown)
        return "other", repr(shown)

    def _resource(self, reference: str | None) -> _Item | None:
        if not reference:
            return None
        for candidate in self.items:
            if reference in (candidate.reference, candidate.full_url):
                return candidate
        return None

    def _medication(self, request: MedicationRequest, reference: Reference) -> Medication | None:
        target = reference.reference or ""
        if target.startswith("#"):
            for contained in request.contained or ():
                if isinstance(contained, Medication) and contained.id == target[1:]:
                    return contained
            return None
        item = self.medications.get(target)
        if item is None:
            return None
        self.referenced_medications.add(item.reference)
        return item.model if isinstance(item.model, Medication) else None

    # -- values --------------------------------------------------------------------------
    def _qualitative(self, observation: Observation, rh: bool = False) -> tuple[str | None, str]:
        codes = self.codes
        positives = [codes.positive, *([codes.rh_positive] if rh else [])]
        negatives = [codes.negative, *([codes.rh_negative] if rh else [])]
        readings: set[str] = set()
        value = observation.valueCodeableConcept
        texts: list[str] = []
        if value is not None:
            for coding in value.coding or ():
                if any(codes.answer_code(a, coding.system, coding.code) for a in positives):
                    readings.add("positive")
                elif any(codes.answer_code(a, coding.system, coding.code) for a in negatives):
                    readings.add("negative")
                if coding.display:
                    texts.append(coding.display)
            if value.text:
                texts.append(value.text)
        if observation.valueString:
            texts.append(observation.valueString)
        for text in texts:
            clean = normalise_text(text)
            if any(clean in a.text for a in positives):
                readings.add("positive")
            elif any(clean in a.text for a in negatives):
                readings.add("negative")
        for interpretation in observation.interpretation or ():
            for coding in interpretation.coding or ():
                if codes.system_of(coding.system) != "interpretation":
                    continue
                if coding.code in codes.positive.interpretation:
                    readings.add("positive")
                elif coding.code in codes.negative.interpretation:
                    readings.add("negative")
        if len(readings) > 1:
            return None, "its value and interpretation disagree (positive and negative)"
        if readings:
            return readings.pop(), "reading"
        return None, "no positive or negative reading (value code, text or interpretation)"

    def _apl(
        self,
        item: _Item,
        observation: Observation,
        reads: ReadsAntiphospholipid,
        day: date | None,
        concept: Concept,
    ) -> None:
        result: dict[str, Any] = {"test": reads.test}
        if day is not None:
            result["date"] = day.isoformat()
        quantity = observation.valueQuantity
        titre: tuple[float, str, bool | None] | None = None
        titre_problem = ""
        if quantity is not None and reads.test != "lupus-anticoagulant":
            titre, titre_problem = self._titre(observation, quantity)
        if titre is not None:
            value, unit, above = titre
            result.update(value=value, unit=unit)
            if above is not None:
                result["above_99th_percentile"] = above
        else:
            reading, why = self._qualitative(observation)
            if reading is None:
                reason = titre_problem or why
                if quantity is not None and reads.test == "lupus-anticoagulant":
                    reason = (
                        f"a lupus anticoagulant value needs a positive or negative reading: {why}"
                    )
                self._unused(item, "not-used", reason, concept.id)
                return
            result["result"] = reading
        try:
            AntiphospholipidResult.model_validate(result)
        except ValidationError as error:
            self._unused(item, "not-used", f"not a valid result: {_problem(error)}", concept.id)
            return
        self.read_refs.append(item.reference)
        self.apl.append((result, item.reference, day))

    def _titre(
        self, observation: Observation, quantity: Quantity
    ) -> tuple[tuple[float, str, bool | None] | None, str]:
        codes = self.codes
        if quantity.value is None:
            return None, "the quantity has no value"
        if quantity.comparator:
            return None, (
                f"the titre is given as {quantity.comparator}{quantity.value}: the facts take "
                "exact titres"
            )
        if codes.system_of(quantity.system) != "ucum" or quantity.code not in codes.titre_units:
            shown = quantity.code or quantity.unit or "none"
            return None, f"its unit ({shown}) is not a UCUM titre unit in {codes.location}"
        unit = codes.titre_units[quantity.code]
        value = float(quantity.value)
        above: bool | None = None
        for reference_range in observation.referenceRange or ():
            text = normalise_text(reference_range.text or "")
            high = reference_range.high
            if (
                high is not None
                and high.value is not None
                and high.code == quantity.code
                and any(phrase in text for phrase in codes.percentile_text)
            ):
                above = Decimal(str(value)) > high.value
        return (value, unit, above), ""

    def _genotype(self, observation: Observation) -> tuple[str | None, str]:
        texts: list[str] = []
        value = observation.valueCodeableConcept
        if value is not None:
            for coding in value.coding or ():
                if self.codes.answer_code(self.codes.negative, coding.system, coding.code):
                    return "negative", "genotype result"
                if coding.display:
                    texts.append(coding.display)
            if value.text:
                texts.append(value.text)
        if observation.valueString:
            texts.append(observation.valueString)
        found = {
            self.codes.genotype_text[t]
            for t in map(normalise_text, texts)
            if t in self.codes.genotype_text
        }
        if len(found) == 1:
            return found.pop(), "genotype result"
        shown = ", ".join(repr(t) for t in texts) or "no value"
        if len(found) > 1:
            return None, f"its value names more than one genotype ({shown})"
        return None, f"its value ({shown}) is not read as negative, heterozygous or homozygous"

    def _level(self, observation: Observation) -> tuple[bool | None, str]:
        codes = self.codes
        for interpretation in observation.interpretation or ():
            for coding in interpretation.coding or ():
                if codes.system_of(coding.system) != "interpretation":
                    continue
                if coding.code in codes.level_low:
                    return True, "low by the laboratory's interpretation"
                if coding.code in codes.level_not_low:
                    return False, "not low by the laboratory's interpretation"
        quantity = observation.valueQuantity
        if quantity is not None and quantity.value is not None and not quantity.comparator:
            for reference_range in observation.referenceRange or ():
                low = reference_range.low
                if low is not None and low.value is not None and low.code == quantity.code:
                    below = quantity.value < low.value
                    return below, (
                        "below the laboratory's reference range"
                        if below
                        else "within or above the laboratory's reference range"
                    )
        return None, "no interpretation or reference range to read the level against"

    def _gestational_weeks(self, observation: Observation) -> tuple[int | None, str]:
        quantity = observation.valueQuantity
        units = self.codes.gestational_age_units
        if quantity is None or quantity.value is None:
            return None, "no gestational age value (a quantity in weeks or days)"
        if self.codes.system_of(quantity.system) != "ucum" or quantity.code not in units:
            shown = quantity.code or quantity.unit or "none"
            return None, f"its unit ({shown}) is not a UCUM unit of time in {self.codes.location}"
        if quantity.comparator:
            return None, f"the gestational age is given as {quantity.comparator}{quantity.value}"
        days = float(quantity.value) * units[quantity.code]
        return int(days // 7), "gestational age"

    def _smokes(self, observation: Observation) -> bool | None:
        value = observation.valueCodeableConcept
        found: set[bool] = set()
        for coding in value.coding or () if value is not None else ():
            if self.codes.has_code(self.codes.smoking_current, coding.system, coding.code):
                found.add(True)
            elif self.codes.has_code(self.codes.smoking_not_current, coding.system, coding.code):
                found.add(False)
        return found.pop() if len(found) == 1 else None

    def _pregnant(self, observation: Observation) -> bool | None:
        value = observation.valueCodeableConcept
        found: set[bool] = set()
        for coding in value.coding or () if value is not None else ():
            if self.codes.has_code(self.codes.pregnant, coding.system, coding.code):
                found.add(True)
            elif self.codes.has_code(self.codes.not_pregnant, coding.system, coding.code):
                found.add(False)
        return found.pop() if len(found) == 1 else None

    def _rh(self, observation: Observation) -> str | None:
        reading, _why = self._qualitative(observation, rh=True)
        return reading

    # -- the facts -----------------------------------------------------------------------
    def _assemble(self, patient: _Item | None) -> FhirFacts:
        document: dict[str, Any] = {}
        sources: dict[str, tuple[str, ...]] = {}
        if patient is not None and isinstance(patient.model, Patient):
            self._patient_facts(patient, patient.model, document, sources)
        elif self.patient_id is not None:
            document["id"] = self.patient_id
        self._history(document, sources)
        self._current(document, sources)
        self._flags(document, sources)
        self._antiphospholipid(document, sources)
        self._inherited_and_rh(document, sources)
        self._treatment_facts(document, sources)
        facts = validate_facts(document)
        notes = _with_paths(self.notes, sources)
        reference = (
            patient.reference
            if patient is not None
            else (f"Patient/{self.patient_id}" if self.patient_id else None)
        )
        return FhirFacts(
            facts=facts,
            sources=sources,
            unused=tuple(self.unused),
            notes=tuple(notes),
            patient=reference,
            read=tuple(dict.fromkeys(self.read_refs)),
            gender=self.gender,
            deceased=self.deceased,
            withheld=self._withheld(facts),
        )

    def _withheld(self, facts: PatientFacts) -> str | None:
        """Why no advice is given: a deceased patient; a patient recorded as male whose record
        holds no pregnancy (no loss, birth, current pregnancy or miscarriage)."""
        if self.deceased is not None:
            return f"the patient {self.deceased}: no advice is given for a deceased patient"
        pregnancy = (
            facts.pregnancy_history is not None
            or facts.current_pregnancy is not None
            or facts.current_miscarriage is not None
        )
        if self.gender == "male" and not pregnancy:
            return (
                "the patient is recorded as male (Patient.gender) and the record holds no "
                "pregnancy: the advice of this engine concerns pregnancy loss"
            )
        return None

    def _patient_facts(
        self,
        item: _Item,
        patient: Patient,
        document: dict[str, Any],
        sources: dict[str, tuple[str, ...]],
    ) -> None:
        if patient.id:
            document["id"] = patient.id
            sources["id"] = (item.reference,)
        self.read_refs.append(item.reference)
        self.gender = patient.gender
        died = _as_date(patient.deceasedDateTime)
        if died is not None:
            self.deceased = f"died on {died.isoformat()} (Patient.deceasedDateTime)"
        elif patient.deceasedDateTime is not None or patient.deceasedBoolean:
            self.deceased = "deceased (Patient.deceased)"
        birth = patient.birthDate
        if birth is None:
            return
        born = _as_date(birth)
        if born is None:
            self.notes.append(
                AdapterNote(
                    "assumption",
                    f"{item.reference}: birth date {birth} is not a full date; age left unknown",
                    (item.reference,),
                )
            )
            return
        on = died if died is not None and died < self.today else self.today
        age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
        try:
            PatientFacts.model_validate({"age": age})
        except ValidationError as error:
            self.notes.append(
                AdapterNote(
                    "assumption",
                    f"{item.reference}: age {age} on {on.isoformat()} is outside what "
                    f"the facts accept ({_problem(error)}); age left unknown",
                    (item.reference,),
                )
            )
            return
        document["age"] = age
        sources["age"] = (item.reference,)
        if died is not None and died < self.today:
            self.notes.append(
                AdapterNote(
                    "assumption",
                    f"{item.reference}: age {age} at death ({died.isoformat()})",
                    (item.reference,),
                    ("age",),
                )
            )

    def _history(self, document: dict[str, Any], sources: dict[str, tuple[str, ...]]) -> None:
        merged = self._episodes()
        self._loss_weeks(merged)
        history: dict[str, Any] = {}
        loss_paths: list[str] = []
        if merged:
            items = []
            for index, loss in enumerate(merged):
                entry: dict[str, Any] = {"kind": loss.kind}
                if loss.weeks is not None:
                    entry["gestational_weeks"] = loss.weeks
                if loss.day is not None:
                    entry["date"] = loss.day.isoformat()
                items.append(entry)
                path = f"pregnancy_history.losses.{index}"
                sources[path] = tuple(loss.references)
                loss_paths.append(path)
                if len(loss.references) > 1:
                    self.notes.append(
                        AdapterNote(
                            "merged",
                            f"{' and '.join(loss.references)} record one {loss.kind} (the same "
                            f"{'encounter' if loss.episode else 'date'}, "
                            f"{loss.episode or loss.day}): counted as one loss",
                            tuple(loss.references),
                            (path,),
                        )
                    )
            history["losses"] = items
        counted = sum(1 for loss in merged if loss.counted)
        if self.recurrent:
            minimum = max(n for _, n in self.recurrent)
            references = tuple(ref for ref, _ in self.recurrent)
            if minimum > counted:
                history["loss_count"] = minimum
                sources["pregnancy_history.loss_count"] = references
                loss_paths.append("pregnancy_history.loss_count")
                self.notes.append(
                    AdapterNote(
                        "assumption",
                        f"{', '.join(references)} record recurrent miscarriage: at least "
                        f"{minimum} losses are counted although {counted} "
                        f"{'is' if counted == 1 else 'are'} itemised",
                        references,
                        ("pregnancy_history.loss_count",),
                    )
                )
        births = self._births(merged, history, sources)
        consecutive = self._consecutive(merged, births, history, sources)
        if not history:
            return
        document["pregnancy_history"] = history
        if not merged:
            return
        resources = sum(len(loss.references) for loss in merged)
        said = (
            "whether the losses were consecutive is derived from their dated order"
            if consecutive
            else "whether the losses were consecutive is not in the data"
        )
        self.notes.append(
            AdapterNote(
                "count",
                f"Pregnancy losses read from FHIR: {counted} counted from {resources} "
                f"resource{'s' if resources != 1 else ''} "
                "(one loss per pregnancy episode: records of one kind in the same encounter or "
                "with the same date count once; ectopic pregnancies listed, not counted); "
                f"{said}.",
                tuple(ref for loss in merged for ref in loss.references),
                tuple(loss_paths),
            )
        )

    def _episodes(self) -> list[_Loss]:
        """Losses merged per pregnancy episode (same kind, and same encounter or same date)."""
        merged: list[_Loss] = []
        for loss in self.losses:
            twin = next(
                (
                    m
                    for m in merged
                    if m.kind == loss.kind
                    and (
                        (loss.episode is not None and m.episode == loss.episode)
                        or (loss.day is not None and m.day == loss.day)
                    )
                ),
                None,
            )
            if twin is None:
                merged.append(
                    _Loss(list(loss.references), loss.kind, loss.counted, loss.day, loss.episode)
                )
                continue
            twin.references.extend(loss.references)
            twin.day = twin.day or loss.day
            twin.episode = twin.episode or loss.episode
        merged.sort(key=lambda m: (m.day is None, m.day or date.min, m.references[0]))
        return merged

    def _same_episode(self, episode: str | None, day: date | None, loss: _Loss) -> bool:
        if episode is not None and loss.episode is not None:
            return episode == loss.episode
        return day is not None and day == loss.day

    def _loss_weeks(self, losses: list[_Loss]) -> None:
        """Gestational ages recorded in a loss's episode become its weeks; the others are
        for the current pregnancy (see :meth:`_current`)."""
        for weeks in list(self.gestational_ages):
            owner = next(
                (loss for loss in losses if self._same_episode(weeks.episode, weeks.day, loss)),
                None,
            )
            if owner is None:
                continue
            self.gestational_ages.remove(weeks)
            if owner.weeks is not None and owner.weeks != weeks.weeks:
                self._unused(
                    weeks.item,
                    "not-used",
                    f"another gestational age ({owner.weeks} weeks, {owner.weeks_from}) is "
                    "recorded for the same loss",
                    "gestational-age",
                )
                continue
            owner.weeks = weeks.weeks
            owner.weeks_from = weeks.reference
            owner.references.append(weeks.reference)
            self.read_refs.append(weeks.reference)

    def _births(
        self,
        losses: list[_Loss],
        history: dict[str, Any],
        sources: dict[str, tuple[str, ...]],
    ) -> list[_Event]:
        """Live births: one per episode with a delivery and no fetal death recorded in it."""
        births: list[_Event] = []
        seen: list[_Event] = []
        for event in sorted(
            (e for e in self.events if e.kind == "birth"),
            key=lambda e: (e.day is None, e.day or date.min, e.reference),
        ):
            death = next(
                (
                    loss
                    for loss in losses
                    if loss.kind == "fetal-death"
                    and self._same_episode(event.episode, event.day, loss)
                ),
                None,
            )
            if death is not None:
                self.notes.append(
                    AdapterNote(
                        "assumption",
                        f"{event.reference} records a delivery in the episode of the fetal "
                        f"death {death.references[0]}: not read as a live birth",
                        (event.reference, *death.references),
                    )
                )
                continue
            twin = next(
                (
                    b
                    for b in seen
                    if (event.episode is not None and b.episode == event.episode)
                    or (event.day is not None and b.day == event.day)
                ),
                None,
            )
            if twin is not None:
                self.notes.append(
                    AdapterNote(
                        "merged",
                        f"{twin.reference} and {event.reference} record one delivery: one "
                        "live birth",
                        (twin.reference, event.reference),
                        ("pregnancy_history.live_births",),
                    )
                )
                continue
            seen.append(event)
            births.append(event)
        if births:
            history["live_births"] = len(births)
            references = tuple(
                e.reference for e in self.events if e.kind == "birth" and e.reference
            )
            sources["pregnancy_history.live_births"] = references
            self.notes.append(
                AdapterNote(
                    "assumption",
                    f"{len(births)} live birth{'s' if len(births) != 1 else ''} read from "
                    "delivery records (a delivery is read as a live birth unless a fetal death "
                    "is recorded in the same episode); births not in this record are not "
                    "counted",
                    references,
                    ("pregnancy_history.live_births",),
                )
            )
        return births

    def _consecutive(
        self,
        losses: list[_Loss],
        births: list[_Event],
        history: dict[str, Any],
        sources: dict[str, tuple[str, ...]],
    ) -> bool:
        """``consecutive`` from the dated order of losses and births; True when it was set."""
        counted = [loss for loss in losses if loss.counted]
        if len(counted) < 2 or any(loss.day is None for loss in counted):
            return False
        first = min(loss.day for loss in counted if loss.day is not None)
        last = max(loss.day for loss in counted if loss.day is not None)
        between_births = [b for b in births if b.day is not None and first < b.day < last]
        others = [
            e
            for e in self.events
            if e.kind != "birth"
            and e.day is not None
            and first < e.day < last
            and not any(self._same_episode(e.episode, e.day, loss) for loss in losses)
            and not any(
                (e.episode is not None and e.episode == b.episode) or e.day == b.day for b in births
            )
        ]
        path = "pregnancy_history.consecutive"
        loss_refs = tuple(ref for loss in counted for ref in loss.references)
        if between_births:
            history["consecutive"] = False
            refs = (*loss_refs, *(b.reference for b in between_births))
            sources[path] = refs
            self.notes.append(
                AdapterNote(
                    "assumption",
                    "The losses were not consecutive: "
                    + ", ".join(f"{b.reference} ({b.day})" for b in between_births)
                    + " records a birth between them",
                    refs,
                    (path,),
                )
            )
            return True
        if others:
            self.notes.append(
                AdapterNote(
                    "assumption",
                    "Whether the losses were consecutive is left unknown: "
                    + ", ".join(f"{e.reference} ({e.label}, {e.day})" for e in others)
                    + " lies between them",
                    tuple(e.reference for e in others),
                    (),
                )
            )
            return False
        if not self.events:
            return False  # the record keeps no births or pregnancies: it cannot show the order
        history["consecutive"] = True
        sources[path] = loss_refs
        self.notes.append(
            AdapterNote(
                "assumption",
                "The losses were consecutive by their dated order: the record keeps "
                "pregnancies and births, and shows none between them (one not in this record "
                "would change this)",
                loss_refs,
                (path,),
            )
        )
        return True

    def _pregnancy_statuses(self) -> None:
        """Pregnancy status Observations: the latest dated one decides.

        "Pregnant" makes a pregnancy current from its date, unless so long ago that no
        pregnancy could still be going on (more weeks than the facts format allows a gestation);
        "not pregnant" ends every pregnancy recorded before it. Undated statuses are used only
        when none is dated, and then only "pregnant" (an undated "not pregnant" cannot say
        whether it still holds)."""
        if not self.pregnancy_status:
            return
        dated = sorted(
            (s for s in self.pregnancy_status if s[0] is not None),
            key=lambda s: (s[0] or date.min, s[2].reference),
        )
        if dated:
            chosen = [dated[-1]]
            for _, _, item in [s for s in self.pregnancy_status if s is not dated[-1]]:
                self._unused(
                    item,
                    "not-used",
                    f"a later pregnancy status ({dated[-1][2].reference}) is used",
                    "pregnancy-status",
                )
        else:
            chosen = []
            for status in self.pregnancy_status:
                if status[1]:
                    chosen.append(status)
                else:
                    self._unused(
                        status[2],
                        "not-used",
                        "undated: whether the patient is still not pregnant is not known",
                        "pregnancy-status",
                    )
        for day, pregnant, item in chosen:
            if pregnant:
                if day is not None and not self._could_be_current(day):
                    self._unused(
                        item,
                        "not-used",
                        f"pregnant on {day}: a pregnancy then cannot still be going on "
                        f"on {self.today}",
                        "pregnancy-status",
                    )
                    continue
                self.read_refs.append(item.reference)
                self.current_pregnancy.append((item.reference, day))
                continue
            self.read_refs.append(item.reference)
            ended = [
                (ref, onset)
                for ref, onset in self.current_pregnancy
                if onset is None or day is None or onset <= day
            ]
            self.current_pregnancy = [p for p in self.current_pregnancy if p not in ended]
            if ended:
                self.notes.append(
                    AdapterNote(
                        "assumption",
                        f"{item.reference}: not pregnant on {day}; the pregnancy recorded "
                        f"before it ({', '.join(ref for ref, _ in ended)}) is not current",
                        (item.reference, *(ref for ref, _ in ended)),
                        ("current_pregnancy",),
                    )
                )

    def _could_be_current(self, day: date) -> bool:
        """Whether a pregnancy under way on ``day`` could still be under way today: its
        weeks since then must be a gestational age the facts format accepts."""
        weeks = (self.today - day).days // 7
        try:
            PatientFacts.model_validate({"current_pregnancy": {"gestational_weeks": weeks}})
        except ValidationError:
            return False
        return True

    def _current(self, document: dict[str, Any], sources: dict[str, tuple[str, ...]]) -> None:
        """A current pregnancy (an active pregnancy Condition or a pregnancy status), with its
        gestational age."""
        self._pregnancy_statuses()
        unassigned = list(self.gestational_ages)
        if not self.current_pregnancy:
            for weeks in unassigned:
                self._unused(
                    weeks.item,
                    "not-used",
                    "no current pregnancy or recorded loss it belongs to",
                    "gestational-age",
                )
            return
        references = tuple(ref for ref, _ in self.current_pregnancy)
        onset = max((day for _, day in self.current_pregnancy if day is not None), default=None)
        pregnancy: dict[str, Any] = {}
        dated = sorted(
            (w for w in unassigned if w.day is not None and (onset is None or w.day >= onset)),
            key=lambda w: (w.day or date.min, w.reference),
        )
        latest = dated[-1] if dated else None
        for weeks in unassigned:
            if weeks is not latest:
                self._unused(
                    weeks.item,
                    "not-used",
                    "a later gestational age of the current pregnancy is used"
                    if latest is not None and weeks in dated
                    else "undated, or dated before the current pregnancy",
                    "gestational-age",
                )
        path = "current_pregnancy"
        if latest is not None and latest.day is not None:
            elapsed = (self.today - latest.day).days // 7
            now = latest.weeks + elapsed
            try:
                PatientFacts.model_validate({"current_pregnancy": {"gestational_weeks": now}})
            except ValidationError as error:
                self._unused(
                    latest.item,
                    "not-used",
                    f"{latest.weeks} weeks on {latest.day} would be {now} weeks on "
                    f"{self.today} ({_problem(error)})",
                    "gestational-age",
                )
            else:
                pregnancy["gestational_weeks"] = now
                self.read_refs.append(latest.reference)
                sources[f"{path}.gestational_weeks"] = (latest.reference,)
                self.notes.append(
                    AdapterNote(
                        "assumption",
                        f"{latest.reference}: {latest.weeks} weeks on {latest.day}, {now} "
                        f"completed weeks on {self.today} ({elapsed} weeks later)",
                        (latest.reference,),
                        (f"{path}.gestational_weeks",),
                    )
                )
        document[path] = pregnancy
        sources[path] = references

    def _flags(self, document: dict[str, Any], sources: dict[str, tuple[str, ...]]) -> None:
        """Yes/no facts that a recorded Condition or allergy makes true; smoking status."""
        for field_path, references in sorted(self.flags.items()):
            section, _, name = field_path.rpartition(".")
            target = document.setdefault(section, {}) if section else document
            target[name] = True
            sources[field_path] = tuple(dict.fromkeys(references))
        if self.smoking:
            ordered = sorted(self.smoking, key=lambda s: (s[0] is None, s[0] or date.min, s[2]))
            dated = [s for s in ordered if s[0] is not None]
            chosen = dated[-1] if dated else ordered[-1]
            for other in ordered:
                if other is not chosen:
                    self._unused(
                        other[3],
                        "not-used",
                        f"a later smoking status ({chosen[2]}) is used",
                        "smoking-status",
                    )
            self.read_refs.append(chosen[2])
            document.setdefault("risk_factors", {})["smoking"] = chosen[1]
            sources["risk_factors.smoking"] = (chosen[2],)

    def _antiphospholipid(
        self, document: dict[str, Any], sources: dict[str, tuple[str, ...]]
    ) -> None:
        section: dict[str, Any] = {}
        diagnosis = self._agree("antiphospholipid.diagnosis", self.diagnoses)
        if diagnosis is not None:
            section["diagnosis"] = diagnosis.value
            sources["antiphospholipid.diagnosis"] = tuple(
                d.reference for d in self.diagnoses if d.value == diagnosis.value
            )
        if self.apl:
            ordered = sorted(self.apl, key=lambda a: (a[2] is None, a[2] or date.min, a[1]))
            section["results"] = [result for result, _, _ in ordered]
            for index, (_, reference, _) in enumerate(ordered):
                sources[f"antiphospholipid.results.{index}"] = (reference,)
        if section:
            document["antiphospholipid"] = section

    def _inherited_and_rh(
        self, document: dict[str, Any], sources: dict[str, tuple[str, ...]]
    ) -> None:
        inherited: dict[str, Any] = {}
        paths = sorted(set(self.scalars) | {f"inherited_thrombophilia.{f}" for f in self.carriers})
        for path in paths:
            values = self.scalars.get(path, [])
            carriers = self.carriers.get(path.rpartition(".")[2], [])
            chosen = self._agree(path, values)
            if values and chosen is None:
                continue
            if carriers:
                if chosen is not None and chosen.value == "negative":
                    refs = (*carriers, *(v.reference for v in values))
                    self._conflict(
                        path,
                        refs,
                        f"{', '.join(carriers)} record a carrier, "
                        f"{', '.join(v.reference for v in values)} a negative result",
                    )
                    continue
                if chosen is None:
                    self.notes.append(
                        AdapterNote(
                            "assumption",
                            f"{', '.join(carriers)} record the mutation without its zygosity: "
                            "read as heterozygous (at least one copy)",
                            tuple(carriers),
                            (path,),
                        )
                    )
                    chosen = _Value("heterozygous", carriers[0], "carrier")
            if chosen is None:  # pragma: no cover - a path always has values or carriers
                continue
            refs = tuple(
                dict.fromkeys(
                    [v.reference for v in values if v.value == chosen.value] + list(carriers)
                )
            )
            section, _, name = path.rpartition(".")
            if section == "inherited_thrombophilia":
                inherited[name] = chosen.value
            elif section:
                document.setdefault(section, {})[name] = chosen.value
            else:
                document[path] = chosen.value
            sources[path] = refs
        if inherited:
            document["inherited_thrombophilia"] = inherited

    def _agree(self, path: str, values: list[_Value]) -> _Value | None:
        distinct = {v.value for v in values}
        if not values:
            return None
        if len(distinct) == 1:
            return values[0]
        shown = "; ".join(f"{v.reference}: {_say(v.value)}" for v in values)
        self._conflict(path, tuple(v.reference for v in values), shown)
        return None

    def _conflict(self, path: str, references: tuple[str, ...], shown: str) -> None:
        self.notes.append(
            AdapterNote(
                "conflict",
                f"{path} left unknown: the resources disagree ({shown})",
                references,
                (path,),
            )
        )
        for reference in references:
            self.unused.append(
                UnusedResource(
                    reference,
                    reference.partition("/")[0],
                    "not-used",
                    f"disagrees with another resource about {path} (left unknown)",
                )
            )

    def _treatment_facts(
        self, document: dict[str, Any], sources: dict[str, tuple[str, ...]]
    ) -> None:
        # The facts take a stated reason once the model has the field (treatments[].reason).
        with_reason = "reason" in Treatment.model_fields
        grouped: dict[tuple[str, str, str | None], list[str]] = {}
        for intervention, status, reference, reason in self.treatments:
            key = (intervention, status, reason if with_reason else None)
            grouped.setdefault(key, []).append(reference)
        if not grouped:
            return
        document["treatments"] = [
            {"intervention": intervention, "status": status}
            | ({"reason": reason} if reason is not None else {})
            for intervention, status, reason in grouped
        ]
        for index, references in enumerate(grouped.values()):
            sources[f"treatments.{index}"] = tuple(references)

    def _status_read(
        self, item: _Item, status: str | None, read: Iterable[str], concept: str
    ) -> bool:
        """Whether a resource's status is one the code lists read; if not, it is reported."""
        if status is not None and status in read:
            return True
        self._unused(item, "not-used", f"status is {status} (read: {', '.join(read)})", concept)
        return False

    def _unused(
        self, item: _Item, status: UnusedStatus, reason: str, concept: str | None = None
    ) -> None:
        self.unused.append(UnusedResource(item.reference, item.type, status, reason, concept))


# -- helpers ---------------------------------------------------------------------------------

_CODE_FIELDS: dict[str, tuple[Literal["Condition", "Observation", "Request"], str]] = {
    "Condition": ("Condition", "code"),
    "Observation": ("Observation", "code"),
    "MedicationRequest": ("Request", "medicationCodeableConcept"),
    "ServiceRequest": ("Request", "code"),
}
_MAX_REPAIRS = 8


def _parse_lenient(
    kind: str, raw: dict[str, Any]
) -> tuple[FHIRAbstractModel | None, str, list[str]]:
    """Parse a resource; a single value where R4 has a list (as CDS clients send, e.g. the
    sandbox's ``category`` and ``reasonCode``) is read as a list of one, and named.

    Returns the model (or None), the problem when it cannot be read, and the fields wrapped.
    """
    model_class = get_fhir_model_class(kind)
    document: Any = raw
    wrapped: list[str] = []
    for _attempt in range(_MAX_REPAIRS):
        try:
            return model_class.model_validate(document), "", wrapped
        except ValidationError as error:
            fixes = [tuple(e["loc"]) for e in error.errors() if e["type"] == "list_type"]
            if not fixes:
                return None, _problem(error), []
            document = json.loads(json.dumps(document)) if document is raw else document
            changed = False
            for loc in fixes:
                changed = _wrap_at(document, loc) or changed
                wrapped.append(".".join(str(part) for part in loc))
            if not changed:
                return None, _problem(error), []
        except (ValueError, KeyError, TypeError) as error:
            return None, _problem(error), []
    return None, "too many fields given as single values where FHIR R4 has lists", []


def _at(document: Any, loc: tuple[Any, ...]) -> Any:
    node = document
    for part in loc:
        if isinstance(node, dict) and isinstance(part, str):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return None
    return node


def _wrap_at(document: Any, loc: tuple[Any, ...]) -> bool:
    parent = _at(document, loc[:-1]) if loc else None
    last = loc[-1] if loc else None
    if isinstance(parent, dict) and isinstance(last, str) and isinstance(parent.get(last), dict):
        parent[last] = [parent[last]]
        return True
    return False


def _raw_code_parts(
    concept: Any,
) -> tuple[list[tuple[str | None, str | None, str | None]], list[str | None]]:
    """The codings and text of a CodeableConcept in unparsed JSON, read leniently."""
    codings: list[tuple[str | None, str | None, str | None]] = []
    texts: list[str | None] = []
    if not isinstance(concept, Mapping):
        return codings, texts
    text = concept.get("text")
    texts.append(text if isinstance(text, str) else None)
    found = concept.get("coding")
    for coding in found if isinstance(found, list) else [found]:
        if isinstance(coding, Mapping):
            parts = [coding.get(key) for key in ("system", "code", "display")]
            system, code, display = (p if isinstance(p, str) else None for p in parts)
            codings.append((system, code, display))
    return codings, texts


def _with_paths(
    notes: Iterable[AdapterNote], sources: Mapping[str, tuple[str, ...]]
) -> list[AdapterNote]:
    """Notes about resources also name the input paths those resources became (in the
    order of ``sources``). One index from resource to paths: linear, not notes x sources."""
    order = {path: index for index, path in enumerate(sources)}
    by_reference: dict[str, list[str]] = {}
    for path, refs in sources.items():
        for ref in dict.fromkeys(refs):
            by_reference.setdefault(ref, []).append(path)
    out: list[AdapterNote] = []
    for note in notes:
        if note.paths:
            out.append(note)
            continue
        found = {path for ref in note.references for path in by_reference.get(ref, ())}
        paths = tuple(sorted(found, key=order.__getitem__))
        out.append(AdapterNote(note.kind, note.text, note.references, paths) if paths else note)
    return out


def _code_parts(
    concepts: Iterable[CodeableConcept | None],
) -> tuple[list[tuple[str | None, str | None, str | None]], list[str | None]]:
    codings: list[tuple[str | None, str | None, str | None]] = []
    texts: list[str | None] = []
    for concept in concepts:
        if concept is None:
            continue
        texts.append(concept.text)
        codings.extend((c.system, c.code, c.display) for c in concept.coding or ())
    return codings, texts


def _texts_of(concept: CodeableConcept) -> list[str]:
    out = [concept.text] if concept.text else []
    out.extend(c.display or c.code or "" for c in concept.coding or ())
    return [t for t in out if t]


def _reference_of(reference: Reference | None) -> str | None:
    return reference.reference if reference is not None and reference.reference else None


def _code_in(concept: CodeableConcept | None, system: str) -> str | None:
    if concept is None:
        return None
    for coding in concept.coding or ():
        if coding.system == system and coding.code:
            return coding.code
    return None


def _subject_field(model: FHIRAbstractModel) -> Reference | None:
    for name in ("subject", "patient"):
        value = getattr(model, name, None)
        if isinstance(value, Reference):
            return value
    return None


_ABSOLUTE = re.compile(r"^https?://", re.IGNORECASE)


def _base(url: str) -> str:
    """The server base of an absolute reference or URL (``https://x/fhir/Patient/1`` -> ``https://x/fhir``)."""
    found = re.search(r"/Patient/[^/]+(?:/_history/.*)?$", url)
    head = url[: found.start()] if found else url
    return head.rstrip("/").lower()


def _subject_of(model: FHIRAbstractModel) -> str | None:
    subject = _subject_field(model)
    return subject.reference if subject is not None and subject.reference else None


_PATIENT_REF = re.compile(r"(?:^|/)(Patient/[A-Za-z0-9\-.]{1,64})(?:/_history/.*)?$")


def _patient_key(reference: str) -> str:
    """``https://x/fhir/Patient/1/_history/2`` -> ``Patient/1``; other references as given."""
    found = _PATIENT_REF.search(reference)
    return found.group(1) if found else reference


def _first(keys: set[str]) -> str:
    return sorted(keys)[0]


def _as_date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None


def _say(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _problem(error: Exception) -> str:
    if isinstance(error, ValidationError):
        parts = []
        for item in error.errors()[:3]:
            where = ".".join(str(p) for p in item["loc"])
            parts.append(f"{where}: {item['msg']}" if where else item["msg"])
        more = len(error.errors()) - 3
        return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
    return str(error) or type(error).__name__
