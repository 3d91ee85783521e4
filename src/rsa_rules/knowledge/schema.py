"""Pydantic models of the knowledge-base files in ``rules/`` (the format is in rules/README.md).

Conditions are kept here as plain mappings; :mod:`rsa_rules.knowledge.loader` parses them into
condition trees, checking every fact, finding, definition and parameter they name.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "ActionItem",
    "BibliographyFile",
    "CitationSpec",
    "FactSpec",
    "FactsFile",
    "PackFile",
    "ParameterSpec",
    "ParametersFile",
    "RuleFile",
    "RuleSpec",
    "StatusItem",
    "VocabularyFile",
]

RULE_ID = re.compile(r"^RSA-[A-Z0-9]+(-[A-Z0-9]+)+$")
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
FACT_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
SUMMARY_LIMIT = 139  # CDS Hooks: a card summary is "<140 characters"


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class PackFile(_Spec):
    """``pack.yaml``: the knowledge base's identity."""

    name: str = Field(pattern=SLUG.pattern)
    title: str
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    description: str
    rule_files: tuple[str, ...] = Field(strict=False, min_length=1)


class SourceSpec(_Spec):
    id: str = Field(pattern=SLUG.pattern)
    title: str
    authors: str | None = None
    publisher: str | None = None
    year: int | None = Field(default=None, ge=1900, le=2100, description="None when undated.")
    kind: Literal["guideline", "trial", "review", "regulator", "consumer-page", "claim", "criteria"]
    doi: str | None = None
    url: str | None = None
    document: str | None = Field(
        default=None, description="The stored copy of a seed document the project was built from."
    )
    note: str | None = None
    verified: bool = True
    checked: str | None = Field(
        default=None,
        min_length=1,
        description="Where and when the DOI or URL was checked against a stored copy.",
    )

    @model_validator(mode="after")
    def _checked_means_verified(self) -> SourceSpec:
        if self.checked is not None:
            if not self.verified:
                raise ValueError("a source with 'checked' (its identifier was checked) is verified")
            if not (self.doi or self.url):
                raise ValueError("'checked' says where a DOI or URL was checked: give one")
        return self


class BibliographyFile(_Spec):
    sources: tuple[SourceSpec, ...] = Field(strict=False, min_length=1)


class VocabularyItem(_Spec):
    id: str = Field(pattern=SLUG.pattern)
    label: str
    description: str
    other_indications: bool = Field(
        default=True,
        description=(
            "Interventions only: whether it is given for indications outside this engine (then "
            "a stated reason `other` removes the engine's advice against it). False only with "
            "a source (other_indications_source)."
        ),
    )
    other_indications_source: str | None = None
    inferred_prefix: str | None = Field(
        default=None,
        description=(
            "Interventions only: the conditional wording of an inferred alert on it, when the "
            "scope's default does not fit (e.g. a test is not given to prevent miscarriage)."
        ),
    )
    synonyms: tuple[str, ...] = Field(
        default=(),
        strict=False,
        description="Other names clinicians use for it (scenarios and text matching).",
    )


class ScopeSpec(_Spec):
    """How the engine words advice on treatments that may be given for other indications."""

    inferred_prefix: str = Field(
        description="Put before an alert inferred (no reason stated) on such a treatment."
    )
    outside: str = Field(
        description="Why the engine says nothing when the stated reason is another indication."
    )


class InterventionGroup(_Spec):
    """Interventions read together: ``current_<id>`` and ``reason_<id>`` facts for the group."""

    id: str = Field(pattern=SLUG.pattern)
    label: str
    interventions: tuple[str, ...] = Field(strict=False, min_length=2)


class ActionItem(_Spec):
    """An action of recommendations: its rank among them and what the engine does with it."""

    id: str = Field(pattern=SLUG.pattern)
    label: str
    description: str
    rank: int = Field(ge=1, description="Order among recommendations: lowest first, after alerts.")
    stance: Literal["for", "against", "neutral"] = Field(
        description=(
            "for: offers the intervention; against: advises against it (an alert when it is "
            "already under way; never together with a for action on one patient, proved by "
            "the lint); neutral: neither."
        )
    )


class StatusItem(_Spec):
    """A treatment status of the facts format, and whether it is under way."""

    id: str = Field(pattern=SLUG.pattern)
    label: str
    description: str
    under_way: bool = Field(
        description="Proposed, ordered or being given: advice against it is then an alert."
    )


class VocabularyFile(_Spec):
    scope: ScopeSpec
    intervention_groups: tuple[InterventionGroup, ...] = Field(default=(), strict=False)
    actions: tuple[ActionItem, ...] = Field(strict=False)
    statuses: tuple[StatusItem, ...] = Field(strict=False, min_length=1)
    loss_kinds: tuple[VocabularyItem, ...] = Field(strict=False, min_length=1)
    interventions: tuple[VocabularyItem, ...] = Field(strict=False)
    findings: tuple[VocabularyItem, ...] = Field(strict=False)


class ParameterSpec(_Spec):
    id: str = Field(pattern=FACT_NAME.pattern)
    value: int | float | Annotated[tuple[str, ...], Field(strict=False)]
    unit: str
    description: str
    sources: tuple[str, ...] = Field(strict=False, min_length=1)
    alternatives: tuple[dict[str, Any], ...] = Field(default=(), strict=False)


class ParametersFile(_Spec):
    parameters: tuple[ParameterSpec, ...] = Field(strict=False)


class FactSpec(_Spec):
    name: str = Field(pattern=FACT_NAME.pattern)
    type: Literal["boolean", "integer", "number", "text", "date"]
    values: tuple[str, ...] | None = Field(default=None, strict=False)
    label: str
    description: str
    unit: str | None = None


class FactsFile(_Spec):
    facts: tuple[FactSpec, ...] = Field(strict=False)


class CitationSpec(_Spec):
    source: str
    note: str = Field(description="What the source says that supports the rule (quote or finding).")


class ConflictSpec(_Spec):
    source: str
    finding: str


class ClaimSpec(_Spec):
    source: str
    claim: str
    contradicted_by: tuple[str, ...] = Field(strict=False, min_length=1)


class EvidenceSpec(_Spec):
    grade: str
    notes: tuple[str, ...] = Field(default=(), strict=False)
    conflicts: tuple[ConflictSpec, ...] = Field(default=(), strict=False)
    contradicted_claims: tuple[ClaimSpec, ...] = Field(default=(), strict=False)


class OutputSpec(_Spec):
    action: str = Field(pattern=SLUG.pattern)
    intervention: str
    summary: str = Field(max_length=SUMMARY_LIMIT)
    detail: str | None = None


class ConditionalText(_Spec):
    when: dict[str, Any] = Field(strict=False)
    text: str


class ListUnknownSpec(_Spec):
    label: str
    facts: tuple[str, ...] = Field(strict=False, min_length=1)
    optional_label: str | None = None
    optional_facts: tuple[str, ...] = Field(default=(), strict=False)


class AppliesToSpec(_Spec):
    interventions: tuple[str, ...] = Field(strict=False, min_length=1)
    actions: tuple[str, ...] = Field(strict=False, min_length=1)


class RuleSpec(_Spec):
    id: str = Field(pattern=RULE_ID.pattern)
    kind: Literal["finding", "recommendation", "caution"]
    version: int = Field(ge=1)
    status: Literal["active", "draft"] = "active"
    title: str
    condition_text: str = Field(description="The condition in plain language.")
    when: dict[str, Any] | None = Field(default=None, strict=False)
    unless: tuple[dict[str, Any], ...] = Field(default=(), strict=False)
    # finding rules
    finding: str | None = None
    value_fact: str | None = None
    summary: str | None = Field(default=None, max_length=SUMMARY_LIMIT)
    # recommendation rules
    then: tuple[OutputSpec, ...] = Field(default=(), strict=False)
    notes_when: tuple[ConditionalText, ...] = Field(default=(), strict=False)
    alert_unless: dict[str, Any] | None = Field(default=None, strict=False)
    due_fact: str | None = None
    list_unknown: ListUnknownSpec | None = None
    blocks: tuple[str, ...] = Field(default=(), strict=False)
    # caution rules
    applies_to: AppliesToSpec | None = None
    emphasis: tuple[ConditionalText, ...] = Field(default=(), strict=False)
    # all kinds
    citations: tuple[CitationSpec, ...] = Field(strict=False, min_length=1)
    evidence: EvidenceSpec
    cautions: tuple[str, ...] = Field(default=(), strict=False)
    notes: tuple[str, ...] = Field(default=(), strict=False)

    @field_validator("id")
    @classmethod
    def _id_form(cls, value: str) -> str:
        if not RULE_ID.match(value):  # pragma: no cover - the pattern already checks
            raise ValueError("rule ids have the form RSA-TOPIC-NAME")
        return value


class RuleFile(_Spec):
    topic: str = Field(pattern=SLUG.pattern)
    title: str
    rules: tuple[RuleSpec, ...] = Field(strict=False, min_length=1)


class DefinitionSpec(_Spec):
    name: str = Field(pattern=SLUG.pattern)
    text: str
    when: dict[str, Any] = Field(strict=False)


class DefinitionsFile(_Spec):
    definitions: tuple[DefinitionSpec, ...] = Field(strict=False)


class RetiredSpec(_Spec):
    id: str = Field(pattern=RULE_ID.pattern)
    retired_in: str
    reason: str


class RetiredFile(_Spec):
    retired: tuple[RetiredSpec, ...] = Field(default=(), strict=False)
