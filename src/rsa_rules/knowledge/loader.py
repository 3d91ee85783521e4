"""Read a knowledge base (``rules/``), validate it, and resolve every reference.

Every problem is collected with its file, line, rule id and field before one
:class:`~rsa_rules.errors.KnowledgeError` is raised, so a knowledge engineer sees them all
at once. The default knowledge base ships inside the package (``rsa_rules.rules``) and is
found with :mod:`importlib.resources`.

Its helpers, one job each: :mod:`.yaml_lines` (a YAML file with the line of every node),
:mod:`.condition_reader` (a condition read and its names checked) and :mod:`.references`
(no rule in force reads a draft, no reference goes in a circle).
"""

from __future__ import annotations

import hashlib
import importlib.resources
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .._compat import Traversable
from ..errors import KnowledgeError, KnowledgeProblem, UnknownInterventionError
from . import schema
from .condition_reader import ConditionReader, Where, hint
from .conditions import (
    All,
    Any_,
    Condition,
    FindingRef,
    Not,
    Ref,
)
from .names import aliases, normalise
from .references import circular_references, drafts_in_force
from .yaml_lines import YamlDocument

__all__ = [
    "REASONS_BY_CONTEXT",
    "KnowledgeBase",
    "Rule",
    "default_knowledge_path",
    "load_knowledge",
    "reason_fact",
    "treatment_fact",
]

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
M = TypeVar("M", bound=BaseModel)


_LOSS_KIND_PARAMETERS = frozenset(
    {"counted_loss_kinds", "uncounted_loss_kinds", "fetal_death_kinds"}
)
"""Parameters whose values are kinds of loss of the vocabulary."""

REASON_STATED, REASON_NOT_STATED, REASON_OTHER = "recurrent-pregnancy-loss", "not-stated", "other"
REASONS_BY_CONTEXT = (REASON_STATED, REASON_NOT_STATED, REASON_OTHER)
"""The values of a ``reason_*`` engine fact, from most to least in the engine's context."""


def treatment_fact(intervention: str) -> str:
    """The engine fact that says an intervention is proposed, ordered or active."""
    return "current_" + intervention.replace("-", "_")


def reason_fact(intervention: str) -> str:
    """The engine fact that says why a proposed, ordered or active intervention is given."""
    return "reason_" + intervention.replace("-", "_")


def _treatment_facts(
    item: schema.VocabularyItem | schema.InterventionGroup,
) -> tuple[schema.FactSpec, schema.FactSpec]:
    """The two engine facts every intervention (or group) of the vocabulary has (generated)."""
    what = (
        f"any of {', '.join(item.interventions)}"
        if isinstance(item, schema.InterventionGroup)
        else item.id
    )
    return (
        schema.FactSpec(
            name=treatment_fact(item.id),
            type="boolean",
            label=f"{item.label} proposed, ordered or active",
            description=(
                f"treatments: {what}. True when listed with status proposed, ordered or "
                "active; false when the treatments list is given without it; unknown when no "
                "treatments list is given."
            ),
        ),
        schema.FactSpec(
            name=reason_fact(item.id),
            type="text",
            values=REASONS_BY_CONTEXT,
            label=f"stated reason for {item.label}",
            description=(
                f"treatments[].reason of {what} while proposed, ordered or active: "
                "recurrent-pregnancy-loss, other, or not-stated; when several entries differ, "
                "the one most in this engine's context. Unknown when none is under way."
            ),
        ),
    )


@dataclass(frozen=True, eq=False)
class Rule:
    """A validated rule with its conditions parsed and its references resolved."""

    spec: schema.RuleSpec
    topic: str
    file: str
    line: int
    order: int
    indication: Condition  # ``when`` alone
    condition: Condition  # ``when`` and not any ``unless``: the rule fires when TRUE
    blockers: tuple[Condition, ...]
    alert_unless: Condition | None
    notes_when: tuple[tuple[Condition, str], ...]
    emphasis: tuple[tuple[Condition, str], ...]

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def kind(self) -> str:
        return self.spec.kind


@dataclass(frozen=True, eq=False)
class KnowledgeBase:
    """A loaded knowledge base: rules, findings, vocabulary, parameters and sources."""

    name: str
    title: str
    version: str
    digest: str
    location: str
    sources: Mapping[str, schema.SourceSpec]
    actions: Mapping[str, schema.ActionItem]
    statuses: Mapping[str, schema.StatusItem]
    loss_kinds: Mapping[str, schema.VocabularyItem]
    interventions: Mapping[str, schema.VocabularyItem]
    finding_labels: Mapping[str, schema.VocabularyItem]
    parameters: Mapping[str, schema.ParameterSpec]
    facts: Mapping[str, schema.FactSpec]
    definitions: Mapping[str, Condition]
    definition_texts: Mapping[str, str]
    scope: schema.ScopeSpec
    intervention_groups: tuple[schema.InterventionGroup, ...]
    rules: tuple[Rule, ...]
    retired: tuple[schema.RetiredSpec, ...] = field(default=())
    drafts: tuple[Rule, ...] = field(default=())
    """Rules with ``status: draft``: validated like the others, never compiled, never fired."""

    @cached_property
    def intervention_names(self) -> dict[str, str]:
        """Every name of every intervention (id, label, abbreviation, synonyms), normalised
        (:func:`~rsa_rules.knowledge.names.normalise`), to its id."""
        names: dict[str, str] = {}
        for key, spelling in _spellings(self.interventions.values()):
            names.setdefault(normalise(spelling), key)
        return names

    def intervention_spellings(self) -> Iterator[str]:
        """The names of the interventions as written in the vocabulary."""
        return (spelling for _, spelling in _spellings(self.interventions.values()))

    def intervention_named(self, word: str) -> str:
        """The id of the intervention ``word`` names (its id, label, abbreviation or a
        synonym, in any case); :class:`~rsa_rules.UnknownInterventionError` otherwise,
        with the nearest name and the valid ids."""
        if word in self.interventions:
            return word
        key = self.intervention_names.get(normalise(word))
        if key is None:
            raise UnknownInterventionError(
                word, list(self.interventions), spellings=list(self.intervention_spellings())
            )
        return key

    def against(self, action: str) -> bool:
        """Whether an action advises against its intervention (an alert when under way)."""
        return self.actions[action].stance == "against"

    @cached_property
    def under_way(self) -> frozenset[str]:
        """The treatment statuses under way (proposed, ordered, active in the bundled one)."""
        return frozenset(key for key, item in self.statuses.items() if item.under_way)

    @cached_property
    def action_ranks(self) -> dict[str, int]:
        """Each action's rank among recommendations (lowest first, after alerts)."""
        return {key: item.rank for key, item in self.actions.items()}

    @cached_property
    def rules_by_id(self) -> dict[str, Rule]:
        return {rule.id: rule for rule in self.rules}

    @cached_property
    def finding_rules(self) -> dict[str, Rule]:
        return {rule.spec.finding: rule for rule in self.rules if rule.spec.finding}

    @cached_property
    def fact_kinds(self) -> tuple[tuple[str, str], ...]:
        """(name, "b" | "n" | "t") for every catalogued fact: yes/no, number or text."""
        short = {"boolean": "b", "integer": "n", "number": "n", "text": "t", "date": "t"}
        return tuple((name, short[spec.type]) for name, spec in self.facts.items())

    def parameter(self, name: str) -> Any:
        return self.parameters[name].value

    def resolve(self, node: Condition) -> Condition:
        """The condition a finding, definition or indication reference stands for."""
        if isinstance(node, FindingRef):
            return self.finding_rules[node.finding].condition
        if isinstance(node, Ref):
            if node.kind == "indication":
                return self.rules_by_id[node.name].indication
            return self.definitions[node.name]
        raise TypeError(f"not a reference: {node!r}")


def default_knowledge_path() -> Traversable:
    """The default knowledge base, shipped inside the package."""
    return importlib.resources.files("rsa_rules.rules")


def load_knowledge(path: str | Path | Traversable | None = None) -> KnowledgeBase:
    """Load and validate a knowledge base directory (the default one when ``path`` is None)."""
    root: Traversable = default_knowledge_path() if path is None else _as_traversable(path)
    return _Reader(root).read()


def _as_traversable(path: str | Path | Traversable) -> Traversable:
    if isinstance(path, str):
        return Path(path)
    return path


class _Reader:
    def __init__(self, root: Traversable) -> None:
        self.root = root
        self.problems: list[KnowledgeProblem] = []
        self.hasher = hashlib.sha256()

    # -- small helpers ----------------------------------------------------------------
    def problem(
        self,
        doc: YamlDocument | str,
        message: str,
        *,
        rule_id: str | None = None,
        path: Sequence[Any] = (),
        field_name: str | None = None,
    ) -> None:
        name = doc if isinstance(doc, str) else doc.name
        line = None if isinstance(doc, str) else doc.line(path)
        self.problems.append(
            KnowledgeProblem(name, message, rule_id=rule_id, field=field_name, line=line)
        )

    def document(self, name: str) -> YamlDocument | None:
        node = self.root
        for part in name.split("/"):
            node = node / part
        if not node.is_file():
            self.problem(name, "file not found")
            return None
        try:
            text = node.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            self.problem(name, f"not UTF-8 text (byte {error.start} cannot be read)")
            return None
        self.hasher.update(name.encode() + b"\0" + text.encode() + b"\0")
        try:
            doc = YamlDocument(name, text)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            self.problems.append(KnowledgeProblem(name, f"not valid YAML: {error}", line=line))
            return None
        for path, key, line in doc.repeated_keys:
            rule_id: str | None = None
            if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
                rules = _rules_of(doc)
                found = rules[path[1]].get("id") if path[1] < len(rules) else None
                rule_id = str(found) if found else None
            inside = path[2:] if rule_id else path
            self.problems.append(
                KnowledgeProblem(
                    name,
                    f"key {key!r} is given twice in one mapping (the first value would be lost)",
                    rule_id=rule_id,
                    field=".".join(str(p) for p in (*inside, key)),
                    line=line,
                )
            )
        return doc

    def model(self, doc: YamlDocument | None, model: type[M]) -> M | None:
        if doc is None:
            return None
        try:
            return model.model_validate(doc.data)
        except ValidationError as error:
            for item in error.errors():
                loc = item["loc"]
                rule_id = None
                if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
                    rules = doc.data.get("rules") if isinstance(doc.data, dict) else None
                    if isinstance(rules, list) and loc[1] < len(rules):
                        entry = rules[loc[1]]
                        rule_id = entry.get("id") if isinstance(entry, dict) else None
                        loc = loc[2:] if rule_id else loc
                self.problem(
                    doc,
                    item["msg"],
                    rule_id=rule_id,
                    path=item["loc"],
                    field_name=".".join(str(p) for p in loc) or None,
                )
            return None

    # -- the whole knowledge base -------------------------------------------------------
    def read(self) -> KnowledgeBase:
        pack = self.model(self.document("pack.yaml"), schema.PackFile)
        bibliography = self.model(self.document("bibliography.yaml"), schema.BibliographyFile)
        vocabulary = self.model(self.document("vocabulary.yaml"), schema.VocabularyFile)
        parameters = self.model(self.document("parameters.yaml"), schema.ParametersFile)
        facts_doc = self.document("facts.yaml")
        facts = self.model(facts_doc, schema.FactsFile)
        definitions_doc = self.document("definitions.yaml")
        definitions = self.model(definitions_doc, schema.DefinitionsFile)
        retired_doc = self.document("retired.yaml")
        retired = self.model(retired_doc, schema.RetiredFile)
        if (
            pack is None
            or bibliography is None
            or vocabulary is None
            or parameters is None
            or facts is None
            or definitions is None
            or retired is None
        ):
            raise KnowledgeError(self.problems)

        rule_docs: list[tuple[YamlDocument, schema.RuleFile]] = []
        raw_rules: list[dict[str, Any]] = []
        for name in pack.rule_files:
            doc = self.document(name)
            if doc is not None:
                raw_rules.extend(_rules_of(doc))
            parsed = self.model(doc, schema.RuleFile)
            if doc is not None and parsed is not None:
                rule_docs.append((doc, parsed))

        ctx = _Context(
            reader=self,
            sources={s.id: s for s in bibliography.sources},
            vocabulary=vocabulary,
            parameters={p.id: p for p in parameters.parameters},
            facts={f.name: f for f in facts.facts},
        )
        ctx.check_unique("bibliography.yaml", [s.id for s in bibliography.sources])
        ctx.check_unique("facts.yaml", [f.name for f in facts.facts])
        kinds = [k.id for k in vocabulary.loss_kinds]
        for parameter in parameters.parameters:
            if parameter.id in _LOSS_KIND_PARAMETERS and isinstance(parameter.value, tuple):
                for value in parameter.value:
                    if value not in kinds:
                        self.problem(
                            "parameters.yaml",
                            f"parameter {parameter.id}: {value!r} is not a kind of loss of the "
                            f"vocabulary ({', '.join(kinds)}){hint(value, kinds)}",
                        )
        intervention_ids = {i.id for i in vocabulary.interventions}
        named: dict[str, set[str]] = {}
        for key, spelling in _spellings(vocabulary.interventions):
            named.setdefault(normalise(spelling), set()).add(key)
        for name, ids in named.items():
            if len(ids) > 1:
                self.problem(
                    "vocabulary.yaml",
                    f"the name {name!r} names {len(ids)} interventions ({', '.join(sorted(ids))}): "
                    "a name must say which one",
                    field_name="interventions",
                )
        for number, group in enumerate(vocabulary.intervention_groups):
            for member in group.interventions:
                if member not in intervention_ids or group.id in intervention_ids:
                    self.problem(
                        "vocabulary.yaml",
                        f"intervention group {group.id!r}: {member!r} is not an intervention "
                        "of the vocabulary (and a group id may not be one)"
                        f"{hint(member, intervention_ids)}",
                        field_name=f"intervention_groups.{number}",
                    )
        entries: list[schema.VocabularyItem | schema.InterventionGroup] = [
            *vocabulary.interventions,
            *vocabulary.intervention_groups,
        ]
        for entry in entries:
            for generated in _treatment_facts(entry):
                if generated.name in ctx.facts:
                    self.problem(
                        facts_doc or "facts.yaml",
                        f"fact {generated.name!r} is generated from the vocabulary's "
                        f"intervention {entry.id!r}; remove it from facts.yaml",
                        field_name=generated.name,
                    )
                ctx.facts[generated.name] = generated
            if isinstance(entry, schema.VocabularyItem) and entry.other_indications_source:
                ctx.check_sources(
                    "vocabulary.yaml",
                    [entry.other_indications_source],
                    None,
                    f"interventions.{entry.id}.other_indications_source",
                )
        for parameter in ctx.parameters.values():
            ctx.check_sources("parameters.yaml", parameter.sources, None, f"{parameter.id}.sources")

        # Finding and rule ids are known before any condition is parsed, so references may go
        # forward; they are read from every rule file, even one that failed validation, so
        # that one mistake does not echo as many unknown references.
        all_specs = [
            (doc, spec, index) for doc, rf in rule_docs for index, spec in enumerate(rf.rules)
        ]
        ctx.finding_ids = {str(r["finding"]) for r in raw_rules if r.get("finding")}
        ctx.rule_ids = {str(r["id"]) for r in raw_rules if r.get("id")}
        ctx.definition_names = {d.name for d in definitions.definitions}

        parsed_definitions: dict[str, Condition] = {}
        texts: dict[str, str] = {}
        for index, definition in enumerate(definitions.definitions):
            where = Where(definitions_doc, None, ("definitions", index, "when"), "when")
            node = ctx.condition(definition.when, where)
            if node is not None:
                parsed_definitions[definition.name] = node
                texts[definition.name] = definition.text

        rules: list[Rule] = []
        drafts: list[Rule] = []
        seen_ids: dict[str, str] = {}
        for order, (doc, spec, index) in enumerate(all_specs):
            if spec.id in seen_ids:
                self.problem(
                    doc,
                    f"duplicate rule id (also in {seen_ids[spec.id]})",
                    rule_id=spec.id,
                    path=("rules", index, "id"),
                    field_name="id",
                )
                continue
            seen_ids[spec.id] = doc.name
            topic = next(rf.topic for d, rf in rule_docs if d is doc)
            rule = ctx.rule(doc, spec, index, order, topic)
            if rule is not None:
                (drafts if spec.status == "draft" else rules).append(rule)

        retired_ = retired
        for number, item in enumerate(retired_.retired):
            if item.id in seen_ids:
                self.problem(
                    retired_doc or "retired.yaml",
                    f"retired id {item.id} is used again in {seen_ids[item.id]}; "
                    "retired ids are never reused",
                    rule_id=item.id,
                    path=("retired", number, "id"),
                    field_name="id",
                )

        kb = KnowledgeBase(
            name=pack.name,
            title=pack.title,
            version=pack.version,
            digest=self.hasher.hexdigest(),
            location=str(self.root),
            sources=ctx.sources,
            actions={a.id: a for a in ctx.vocabulary.actions},
            statuses={s.id: s for s in ctx.vocabulary.statuses},
            loss_kinds={k.id: k for k in ctx.vocabulary.loss_kinds},
            interventions={i.id: i for i in ctx.vocabulary.interventions},
            finding_labels={f.id: f for f in ctx.vocabulary.findings},
            parameters=ctx.parameters,
            facts=ctx.facts,
            definitions=parsed_definitions,
            definition_texts=texts,
            scope=ctx.vocabulary.scope,
            intervention_groups=ctx.vocabulary.intervention_groups,
            rules=tuple(rules),
            retired=retired_.retired,
            drafts=tuple(drafts),
        )
        if not self.problems:
            self.problems.extend(drafts_in_force(kb))
        if not self.problems:
            self.problems.extend(circular_references(kb))
        if self.problems:
            raise KnowledgeError(self.problems)
        return kb


def _rules_of(doc: YamlDocument) -> list[dict[str, Any]]:
    rules = doc.data.get("rules", []) if isinstance(doc.data, dict) else []
    return [r if isinstance(r, dict) else {} for r in rules]


@dataclass(kw_only=True)
class _Context(ConditionReader):
    reader: _Reader
    sources: dict[str, schema.SourceSpec]
    vocabulary: schema.VocabularyFile

    def check_unique(self, file: str, ids: Iterable[str]) -> None:
        seen: set[str] = set()
        for item in ids:
            if item in seen:
                self.reader.problem(file, f"duplicate id {item!r}")
            seen.add(item)

    def check_sources(
        self, file: str, ids: Iterable[str], rule_id: str | None, field_name: str
    ) -> None:
        for source in ids:
            if source not in self.sources:
                self.reader.problem(
                    file,
                    f"unknown source {source!r}{hint(source, self.sources)} "
                    "(every citation must be in bibliography.yaml)",
                    rule_id=rule_id,
                    field_name=field_name,
                )

    # -- conditions ---------------------------------------------------------------------
    # -- rules --------------------------------------------------------------------------
    def rule(
        self, doc: YamlDocument, spec: schema.RuleSpec, index: int, order: int, topic: str
    ) -> Rule | None:
        base = ("rules", index)
        before = len(self.reader.problems)

        def where(*suffix: Any) -> Where:
            return Where(doc, spec.id, (*base, *suffix), ".".join(str(s) for s in suffix))

        def need(ok: bool, message: str, *suffix: Any) -> None:
            if not ok:
                self.fail(where(*suffix), message)

        kind = spec.kind
        need(spec.when is not None or kind == "caution", f"a {kind} rule needs when", "when")
        if kind == "finding":
            need(spec.finding is not None, "a finding rule names its finding", "finding")
            need(spec.summary is not None, "a finding rule has a summary", "summary")
            need(not spec.then, "a finding rule has no then (it is not a recommendation)", "then")
            if spec.finding is not None:
                need(
                    spec.finding in {f.id for f in self.vocabulary.findings},
                    f"finding {spec.finding!r} is not in the vocabulary",
                    "finding",
                )
        elif kind == "recommendation":
            need(bool(spec.then), "a recommendation rule has at least one then item", "then")
        else:
            need(spec.applies_to is not None, "a caution rule has applies_to", "applies_to")
            need(bool(spec.cautions), "a caution rule lists its cautions", "cautions")
        interventions = {i.id for i in self.vocabulary.interventions}
        actions = [a.id for a in self.vocabulary.actions]
        against = {a.id for a in self.vocabulary.actions if a.stance == "against"}
        for i, output in enumerate(spec.then):
            need(
                output.intervention in interventions,
                f"intervention {output.intervention!r} is not in the vocabulary"
                f"{hint(output.intervention, interventions)}",
                "then",
                i,
                "intervention",
            )
            need(
                output.action in actions,
                f"action {output.action!r} is not in the vocabulary ({', '.join(actions)})"
                f"{hint(output.action, actions)}",
                "then",
                i,
                "action",
            )
            for text, key in ((output.summary, "summary"), (output.detail or "", "detail")):
                self.check_placeholders(text, where("then", i, key))
            entry = next(
                (x for x in self.vocabulary.interventions if x.id == output.intervention), None
            )
            if output.action in against and entry is not None and entry.other_indications:
                prefix = entry.inferred_prefix or self.vocabulary.scope.inferred_prefix
                need(
                    len(prefix) + len(output.summary) <= schema.SUMMARY_LIMIT,
                    f"summary too long to be worded conditionally ({prefix!r} comes before it "
                    f"when the alert is inferred): at most "
                    f"{schema.SUMMARY_LIMIT - len(prefix)} characters",
                    "then",
                    i,
                    "summary",
                )
        if spec.applies_to is not None:
            for i, item in enumerate(spec.applies_to.interventions):
                need(
                    item in interventions,
                    f"intervention {item!r} is not in the vocabulary",
                    "applies_to",
                    "interventions",
                    i,
                )
            for i, action in enumerate(spec.applies_to.actions):
                need(
                    action in actions,
                    f"action {action!r} is not in the vocabulary ({', '.join(actions)})"
                    f"{hint(action, actions)}",
                    "applies_to",
                    "actions",
                    i,
                )
        if spec.summary:
            self.check_placeholders(spec.summary, where("summary"))
        for fact_field, value in (("value_fact", spec.value_fact), ("due_fact", spec.due_fact)):
            if value is not None:
                need(
                    value in self.facts,
                    f"unknown fact {value!r}{hint(value, self.facts)}",
                    fact_field,
                )
        if spec.list_unknown is not None:
            for i, name in enumerate((*spec.list_unknown.facts, *spec.list_unknown.optional_facts)):
                need(
                    name in self.facts,
                    f"unknown fact {name!r}{hint(name, self.facts)}",
                    "list_unknown",
                    i,
                )
        for i, blocked in enumerate(spec.blocks):
            need(
                blocked in self.rule_ids,
                f"unknown rule {blocked!r}{hint(blocked, self.rule_ids)}",
                "blocks",
                i,
            )
        for i, citation in enumerate(spec.citations):
            if citation.source not in self.sources:
                self.fail(
                    where("citations", i, "source"),
                    f"unknown source {citation.source!r}{hint(citation.source, self.sources)}",
                )
        for i, conflict in enumerate(spec.evidence.conflicts):
            if conflict.source not in self.sources:
                self.fail(
                    where("evidence", "conflicts", i, "source"),
                    f"unknown source {conflict.source!r}",
                )
        for i, claim in enumerate(spec.evidence.contradicted_claims):
            for j, source in enumerate((claim.source, *claim.contradicted_by)):
                if source not in self.sources:
                    self.fail(
                        where("evidence", "contradicted_claims", i, j), f"unknown source {source!r}"
                    )

        when = self.condition(spec.when, where("when")) if spec.when is not None else None
        blockers = [self.condition(item, where("unless", i)) for i, item in enumerate(spec.unless)]
        alert_unless = (
            self.condition(spec.alert_unless, where("alert_unless"))
            if spec.alert_unless is not None
            else None
        )
        notes = [
            (self.condition(n.when, where("notes_when", i, "when")), n.text)
            for i, n in enumerate(spec.notes_when)
        ]
        emphasis = [
            (self.condition(n.when, where("emphasis", i, "when")), n.text)
            for i, n in enumerate(spec.emphasis)
        ]
        if len(self.reader.problems) > before:
            return None
        indication: Condition = when if when is not None else All(())
        condition = indication
        blocking = tuple(b for b in blockers if b is not None)
        if blocking:
            # A blocking condition that is unknown does not block ("unknown is not met").
            any_blocker = Any_(blocking, if_unknown=False)
            condition = All((indication, Not(any_blocker)))
        return Rule(
            spec=spec,
            topic=topic,
            file=doc.name,
            line=doc.line(base) or 0,
            order=order,
            indication=indication,
            condition=condition,
            blockers=blocking,
            alert_unless=alert_unless,
            notes_when=tuple((c, t) for c, t in notes if c is not None),
            emphasis=tuple((c, t) for c, t in emphasis if c is not None),
        )

    def check_placeholders(self, text: str, where: Where) -> None:
        for name in _PLACEHOLDER.findall(text):
            if name not in self.facts:
                self.fail(where, f"placeholder {{{name}}} names no fact{hint(name, self.facts)}")


def _spellings(items: Iterable[schema.VocabularyItem]) -> Iterator[tuple[str, str]]:
    """(id, name) for every name of every item: id, label, abbreviation, synonyms."""
    for item in items:
        for spelling in (*aliases(item.id, item.label), *item.synonyms):
            yield item.id, spelling
