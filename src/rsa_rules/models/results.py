"""What an evaluation returns: recommendations and findings, each explained.

All models are frozen pydantic models and plain values: ``Evaluation.to_dict()`` and
``to_json()`` give the JSON form, ``Evaluation.model_validate(evaluation.to_dict())`` and
``pickle`` give the same evaluation back, explanations and engine facts included, and
``to_text()`` a readable one. ``Evaluation.why_not(intervention)`` answers from the rules
themselves which conditions failed or were unknown, and ``Evaluation.trace()`` how every rule
stands; on a rebuilt evaluation both are read from its engine facts with the knowledge base
that produced it (the one its digest names), so they answer exactly as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date
from functools import cached_property
from typing import Annotated, Any, ClassVar, Literal, Protocol

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    TypeAdapter,
    computed_field,
    model_validator,
)

from ..errors import EngineError
from ..textsafe import terminal_safe

__all__ = [
    "BlockedRecommendation",
    "Citation",
    "ConflictingEvidence",
    "ContradictedClaim",
    "DataNote",
    "EngineFactRecord",
    "Evaluation",
    "Evidence",
    "Finding",
    "KnowledgeInfo",
    "Reason",
    "Recommendation",
    "RuleCheck",
    "RuleOutcome",
    "UndeterminedFinding",
    "WhyNot",
    "register_renderer",
]

Action = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
        description="An action id of the knowledge base's vocabulary (bundled: recommend, refer, "
        "test, consider, avoid).",
    ),
]
ReasonKind = Literal["fact", "finding", "condition", "indication"]
ReasonStatus = Literal["met", "not met", "unknown", "counted as absent", "counted as present"]


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def __eq__(self, other: object) -> bool:
        # Equal when their data are equal: a live result, one rebuilt from JSON and an
        # unpickled one compare equal (what is built on demand is compared as built).
        if not isinstance(other, _Result) or type(other) is not type(self):
            return NotImplemented
        return self.model_dump(mode="json") == other.model_dump(mode="json")

    __hash__ = BaseModel.__hash__

    def __reduce__(self) -> tuple[Any, ...]:
        # A result pickles as its JSON form and is rebuilt by validation: the same value,
        # whatever the process that unpickles it (nothing of the engine travels with it).
        return (_rebuild, (type(self), self.model_dump(mode="json")))


def _rebuild(cls: type[_Result], data: dict[str, Any]) -> _Result:
    return cls.model_validate(data)


RendererKind = Literal["text", "why-not text", "cds cards", "frame", "html"]
_RENDERERS: dict[str, Callable[..., Any]] = {}


def register_renderer(kind: RendererKind, render: Callable[..., Any]) -> None:
    """The renderers live above the models (:mod:`rsa_rules.rendering`: text, HTML, frames,
    CDS Hooks cards) and register here when the package is imported, so that the models'
    convenience methods (``to_text``, ``to_cds_cards``, ``to_frame``, ``_repr_html_``) reach
    them without importing anything above their own layer."""
    _RENDERERS[kind] = render


def _renderer(kind: RendererKind) -> Callable[..., Any]:
    render = _RENDERERS.get(kind)
    if render is None:  # pragma: no cover - importing any module imports the package first
        raise RuntimeError(f"no {kind} renderer is registered: import rsa_rules")
    return render


class Citation(_Result):
    """A source that supports a rule, from the knowledge base's bibliography."""

    id: str = Field(description="Source id of the bibliography (CLINICAL.md section 1).")
    title: str
    year: int | None = Field(default=None, description="Year of publication; None when undated.")
    authors: str | None = None
    publisher: str | None = None
    doi: str | None = None
    url: str | None = None
    document: str | None = Field(
        default=None, description="The stored seed document, for sources with no public address."
    )
    note: str = Field(description="What the source says that supports the rule.")
    verified: bool = Field(
        default=True, description="False when the DOI or URL was not checked against a copy."
    )

    @property
    def dated_title(self) -> str:
        """The title with its year, as sources are listed: "Title (2023)"."""
        return f"{self.title} ({self.year if self.year is not None else 'undated'})"

    @property
    def link(self) -> str | None:
        """A resolvable address: the DOI resolver, else the URL."""
        if self.doi:
            return f"https://doi.org/{self.doi}"
        return self.url


class ConflictingEvidence(_Result):
    """Evidence that disagrees with a rule's advice, shown beside it."""

    citation: Citation
    finding: str


class ContradictedClaim(_Result):
    """A claim (e.g. a clinic's page) that the evidence contradicts."""

    citation: Citation
    claim: str
    contradicted_by: list[Citation]


class Evidence(_Result):
    """How strong the basis is, with notes and any conflicting evidence."""

    grade: str
    notes: list[str] = Field(default_factory=list)
    conflicts: list[ConflictingEvidence] = Field(default_factory=list)
    contradicted_claims: list[ContradictedClaim] = Field(default_factory=list)


class Reason(_Result):
    """One link of an explanation: a fact, a finding or a named condition, and why."""

    kind: ReasonKind
    id: str = Field(description="Fact name, finding id, condition name or rule id.")
    label: str
    status: ReasonStatus
    value: Any = Field(default=None, description="The fact's or finding's value, if known.")
    paths: list[str] = Field(
        default_factory=list,
        description="Input paths the value came from (e.g. antiphospholipid.results.1).",
    )
    text: str
    because: list[Reason] = Field(default_factory=list)

    def leaves(self) -> list[Reason]:
        """The facts at the bottom of this reason."""
        if not self.because:
            return [self]
        return [leaf for child in self.because for leaf in child.leaves()]


_REASONS: TypeAdapter[list[Reason]] = TypeAdapter(list[Reason])


class _Explained(_Result):
    """A result with an explanation (``because``): built when first read on a live result,
    read back from the data on a rebuilt one."""

    _explain: Callable[[], list[Reason]] | None = PrivateAttr(default=None)
    _because: list[Reason] | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _read_because(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        if not (isinstance(data, Mapping) and "because" in data):
            return handler(data)
        rest = dict(data)
        because = _REASONS.validate_python(rest.pop("because"))
        result = handler(rest)
        result._because = because
        return result

    @computed_field  # type: ignore[prop-decorator]
    @cached_property
    def because(self) -> list[Reason]:
        """The facts and findings behind the result, down to the input paths.

        Built when first read (from the same engine facts the rules saw), then kept.
        """
        if self._because is not None:
            return self._because
        return [] if self._explain is None else self._explain()


class BlockedRecommendation(_Result):
    """A recommendation a safety rule stopped (its indication held)."""

    rule_id: str
    action: Action
    intervention: str
    summary: str


class Recommendation(_Explained):
    """One explained recommendation."""

    rule_id: str
    rule_version: int
    title: str
    intervention: str
    intervention_label: str
    action: Action
    alert: bool
    alert_certainty: Literal["stated", "inferred"] | None = Field(
        default=None,
        description=(
            "On an alert only: stated when the order names recurrent pregnancy loss as its "
            "reason; inferred when no reason is stated and recurrent pregnancy loss is "
            "established (the summary is then worded conditionally where the treatment has "
            "other indications). None on every recommendation that is not an alert."
        ),
    )
    summary: str = Field(
        max_length=139, description="Under 140 characters (a CDS Hooks card summary)."
    )
    detail: str | None = None
    citations: list[Citation]
    cautions: list[str] = Field(default_factory=list)
    caution_rules: list[str] = Field(default_factory=list)
    evidence: Evidence
    notes: list[str] = Field(default_factory=list)
    due: date | None = None
    not_yet_done: list[str] = Field(default_factory=list)
    optional_not_yet_done: list[str] = Field(default_factory=list)
    blocked: list[BlockedRecommendation] = Field(default_factory=list)
    condition_text: str


class Finding(_Explained):
    """A derived finding (e.g. ``aps-confirmed``), explained like a recommendation."""

    id: str
    rule_id: str
    label: str
    value: Any = None
    summary: str
    citations: list[Citation]
    evidence: Evidence


class UndeterminedFinding(_Result):
    """A finding that is neither established nor ruled out: the data it needs is missing."""

    id: str
    rule_id: str
    label: str
    missing: list[Reason] = Field(
        description="What was not recorded (facts, and findings left open by missing facts)."
    )

    @property
    def missing_facts(self) -> list[Reason]:
        return [leaf for reason in self.missing for leaf in reason.leaves()]


class KnowledgeInfo(_Result):
    """Which knowledge base answered."""

    name: str
    title: str
    version: str
    digest: str = Field(description="SHA-256 of the knowledge-base files.")


class RuleCheck(_Result):
    """How one rule stands for this patient, for "why not" questions."""

    rule_id: str
    title: str
    action: Action
    intervention: str
    status: Literal["fired", "not met", "unknown", "blocked"]
    condition_text: str
    reasons: list[Reason] = Field(
        description="Why it fired, or which conditions failed or were unknown."
    )
    note: str | None = Field(
        default=None,
        description=(
            "Why a rule that fired gave nothing for this intervention (e.g. its stated "
            "reason is another indication: the engine stays out of other indications)."
        ),
    )

    @property
    def failed(self) -> list[Reason]:
        return [leaf for r in self.reasons for leaf in r.leaves() if leaf.status == "not met"]

    @property
    def unknown(self) -> list[Reason]:
        return [leaf for r in self.reasons for leaf in r.leaves() if leaf.status == "unknown"]


class WhyNot(_Result):
    """The answer to "why not X?": every rule that could produce X, and how it stands."""

    intervention: str
    produced: list[Recommendation]
    rules: list[RuleCheck]
    related: list[Recommendation] = Field(
        default_factory=list,
        description=(
            "Recommendations on interventions read together with this one (heparin, low-dose "
            "aspirin, and both together): why not heparin alone, when both are recommended."
        ),
    )

    def to_text(self) -> str:
        return terminal_safe(str(_renderer("why-not text")(self)))


class DataNote(_Result):
    """Something in the facts that disagrees with itself, and how the engine read it."""

    path: str = Field(description="Input path of the entry concerned.")
    note: str


class EngineFactRecord(_Result):
    """One engine fact the rules read: its value, the input paths it came from, a sentence."""

    name: str
    value: bool | int | float | str
    paths: list[str]
    text: str


class RuleOutcome(_Result):
    """How one rule's condition stands for this patient (three-valued), and whether it fired."""

    rule_id: str
    kind: Literal["finding", "recommendation"]
    outcome: Literal["true", "false", "unknown"]
    fired: bool
    file: str = Field(description="The knowledge-base file that holds the rule.")
    line: int = Field(description="The line of the rule in that file (from 1).")


class EvaluationLink(Protocol):
    """What answers the questions an evaluation does not hold as data: the explainer of the
    knowledge base that produced it, with the engine facts the rules saw."""

    def why_not(self, intervention: str) -> WhyNot: ...

    def undetermined(self) -> list[UndeterminedFinding]: ...

    def engine_facts(self) -> list[EngineFactRecord]: ...

    def trace(self) -> list[RuleOutcome]: ...


_FACT_RECORDS: TypeAdapter[list[EngineFactRecord]] = TypeAdapter(list[EngineFactRecord])
_UNDETERMINED: TypeAdapter[list[UndeterminedFinding]] = TypeAdapter(list[UndeterminedFinding])


class Evaluation(_Result):
    """The explained result of evaluating one patient."""

    patient_id: str | None = None
    recommendations: list[Recommendation]
    findings: list[Finding]
    knowledge: KnowledgeInfo
    data_notes: list[DataNote] = Field(
        default_factory=list,
        description="Disagreements within the facts (e.g. a kind contradicted by the weeks).",
    )
    fired_rules: list[str] = Field(description="Every rule that fired, in firing order.")
    condition_trace: str | None = Field(
        default=None,
        description=(
            "The outcome of every condition node of the knowledge base, in its trace order: "
            "one letter each, t true, f false, u unknown, p or a unknown counted as present "
            "or absent. Recorded by the engine at every evaluation and checked against what "
            "fired; explanations, why_not and trace() read it. None: not produced by an "
            "engine."
        ),
    )

    relink: ClassVar[Callable[[Evaluation], EvaluationLink] | None] = None
    """Set by :mod:`rsa_rules.engine.explain`: the link of a rebuilt evaluation, from its data."""

    _link: EvaluationLink | None = PrivateAttr(default=None)
    _stored_facts: list[EngineFactRecord] | None = PrivateAttr(default=None)
    _stored_undetermined: list[UndeterminedFinding] | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _read_computed(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        """Read back what ``to_dict()`` writes besides the fields (a rebuilt evaluation)."""
        if not (
            isinstance(data, Mapping)
            and ("engine_facts" in data or "undetermined_findings" in data)
        ):
            return handler(data)
        rest = dict(data)
        facts = rest.pop("engine_facts", None)
        undetermined = rest.pop("undetermined_findings", None)
        evaluation = handler(rest)
        if facts is not None:
            evaluation._stored_facts = _FACT_RECORDS.validate_python(facts)
        if undetermined is not None:
            evaluation._stored_undetermined = _UNDETERMINED.validate_python(undetermined)
        return evaluation

    def _linked(self) -> EvaluationLink:
        if self._link is None:
            if self._stored_facts is None or Evaluation.relink is None:
                raise EngineError(
                    "this evaluation carries no engine facts (it was not produced by an "
                    "engine, nor rebuilt from an evaluation's JSON): evaluate the facts again"
                )
            self._link = Evaluation.relink(self)
        return self._link

    @computed_field  # type: ignore[prop-decorator]
    @cached_property
    def undetermined_findings(self) -> list[UndeterminedFinding]:
        """Findings left open because data is missing: unknown is not negative.

        Built when first read, then kept.
        """
        if self._stored_undetermined is not None:
            return self._stored_undetermined
        if self._link is None and self._stored_facts is None:
            return []
        return self._linked().undetermined()

    @computed_field  # type: ignore[prop-decorator]
    @cached_property
    def engine_facts(self) -> list[EngineFactRecord]:
        """The engine facts the rules read, by name, each with its value, input paths and
        sentence: what ``why_not`` and ``trace`` answer from.

        Built when first read, then kept.
        """
        if self._stored_facts is not None:
            return self._stored_facts
        return [] if self._link is None else self._link.engine_facts()

    def why_not(self, intervention: str) -> WhyNot:
        """Which rules could produce ``intervention``, and what failed or was unknown."""
        return self._linked().why_not(intervention)

    def trace(self) -> list[RuleOutcome]:
        """Every finding and recommendation rule, in the knowledge base's order (cautions
        are attached to recommendations, not run): the three-valued outcome of its
        condition read from the engine facts, and whether durable_rules fired it (the two
        always agree: a disagreement raises :class:`~rsa_rules.EngineError`)."""
        return self._linked().trace()

    def finding(self, finding_id: str) -> Finding | None:
        """The finding with this id, if it was established."""
        return next((f for f in self.findings if f.id == finding_id), None)

    @property
    def alerts(self) -> list[Recommendation]:
        return [r for r in self.recommendations if r.alert]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return self.model_dump(mode="json")

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def to_text(self) -> str:
        """A readable rendering for clinicians."""
        return terminal_safe(str(_renderer("text")(self)))

    def __str__(self) -> str:
        return self.to_text()

    def to_cds_cards(self, **options: Any) -> list[dict[str, Any]]:
        """CDS Hooks 2.0 cards for the recommendations worth one (see rsa_rules.adapters)."""
        cards: list[dict[str, Any]] = _renderer("cds cards")(self, **options)
        return cards

    def to_frame(self) -> Any:
        """One row per recommendation (pandas DataFrame; needs rsa-rules[cohort])."""
        return _renderer("frame")(self)

    def _repr_html_(self) -> str:
        """The evaluation as HTML, for notebooks: recommendations, explanations, sources."""
        return str(_renderer("html")(self))
