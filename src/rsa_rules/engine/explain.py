"""From fired rules to explanations: why each recommendation was made, and why others were not.

durable_rules decides what fires. Every evaluation also records its condition trace (the
outcome of every condition node, :mod:`rsa_rules.knowledge.trace`), checked against the
fired set by the engine. This module reads the trace to say *why*: the facts with their
values and input paths, the findings they made, down to the inputs. It never evaluates a
condition again, so a rebuilt evaluation explains itself exactly as the live one did.

``why_not`` answers from the same trace: every rule that could produce an intervention,
with the conditions that failed or were unknown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any

from ..errors import EngineError
from ..knowledge.compiler import ALERT_SUFFIX, INDICATION_SUFFIX
from ..knowledge.conditions import (
    All,
    Any_,
    Compare,
    Condition,
    FindingRef,
    Known,
    Not,
    Outcome,
    Ref,
    Tri,
)
from ..knowledge.loader import (
    REASON_STATED,
    KnowledgeBase,
    Rule,
    load_knowledge,
    reason_fact,
)
from ..knowledge.schema import EvidenceSpec
from ..knowledge.trace import KnowledgeTrace
from ..models.results import (
    BlockedRecommendation,
    Citation,
    ConflictingEvidence,
    ContradictedClaim,
    DataNote,
    EngineFactRecord,
    Evaluation,
    Evidence,
    Finding,
    KnowledgeInfo,
    Reason,
    ReasonKind,
    ReasonStatus,
    Recommendation,
    RuleCheck,
    RuleOutcome,
    UndeterminedFinding,
    WhyNot,
)
from .facts import EngineFact, show_value

__all__ = ["Explainer", "knowledge_of"]

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


@dataclass
class _Context:
    """One evaluation: its engine facts, its condition trace and the outcomes read so far."""

    facts: Mapping[str, EngineFact]
    values: Mapping[str, Any]
    trace: str
    memo: dict[Condition, Outcome]
    reasons: dict[tuple[int, bool | None], list[Reason]] = field(default_factory=dict)
    keep: list[Outcome] = field(default_factory=list)


class _Link:
    """An evaluation's explainer and engine facts: answers ``why_not``, ``trace`` and the
    undetermined findings, for a live evaluation and for a rebuilt one alike."""

    __slots__ = ("ctx", "evaluation", "explainer", "fired")

    def __init__(
        self, explainer: Explainer, ctx: _Context, evaluation: Evaluation, fired: set[str]
    ) -> None:
        self.explainer = explainer
        self.ctx = ctx
        self.evaluation = evaluation
        self.fired = fired

    def why_not(self, intervention: str) -> WhyNot:
        return self.explainer.why_not(intervention, self.ctx, self.evaluation)

    def undetermined(self) -> list[UndeterminedFinding]:
        return self.explainer.undetermined(self.ctx, self.fired)

    def engine_facts(self) -> list[EngineFactRecord]:
        facts = self.ctx.facts
        return [  # by name: the facts are a set, whatever order the input gave them
            EngineFactRecord(name=name, value=fact.value, paths=list(fact.paths), text=fact.text)
            for name, fact in sorted(facts.items())
        ]

    def trace(self) -> list[RuleOutcome]:
        explainer, ctx = self.explainer, self.ctx
        out: list[RuleOutcome] = []
        for rule in explainer.kb.rules:
            if rule.kind == "caution":
                continue  # attached to recommendations, never run as a rule
            outcome = explainer.trace.plan.value(rule.condition, ctx.trace)
            fired = rule.id in self.fired
            if fired != (outcome is Tri.TRUE):
                raise EngineError(
                    f"rule {rule.id}: durable_rules {'fired' if fired else 'did not fire'} "
                    f"but its condition here is {outcome.value}: the engine and its "
                    "explanation disagree"
                )
            out.append(
                RuleOutcome(
                    rule_id=rule.id,
                    kind=rule.kind,  # type: ignore[arg-type]
                    outcome=outcome.value,
                    fired=fired,
                    file=rule.file,
                    line=rule.line,
                )
            )
        return out


_EXPLAINERS: dict[str, Explainer] = {}
"""Explainers by knowledge-base digest, for evaluations rebuilt from their data."""
_BUNDLED_READ: list[bool] = []
"""Whether the bundled knowledge base was read for a rebuilt evaluation (it is, at most once)."""


def _explainer_of(info: KnowledgeInfo) -> Explainer | None:
    """The explainer of the knowledge base ``info`` names by its digest: one loaded in this
    process, or the bundled one (read at most once); None when neither is it."""
    if info.digest not in _EXPLAINERS and not _BUNDLED_READ:
        _BUNDLED_READ.append(True)
        kb = load_knowledge()
        Explainer(kb, KnowledgeTrace(kb))  # it registers itself; it reads traces, runs nothing
    return _EXPLAINERS.get(info.digest)


def knowledge_of(evaluation: Evaluation) -> KnowledgeBase | None:
    """The knowledge base that produced ``evaluation`` (by its digest), if this process has
    it: for renderers that need its labels, without building an engine."""
    explainer = _explainer_of(evaluation.knowledge)
    return None if explainer is None else explainer.kb


def _relink(evaluation: Evaluation) -> _Link:
    """The link of an evaluation rebuilt from its data: the explainer of the knowledge base
    its digest names (one loaded in this process, or the bundled one), over its engine facts
    and its condition trace."""
    info = evaluation.knowledge
    trace = evaluation.condition_trace
    if trace is None:
        raise EngineError(
            "this evaluation carries no condition trace (it was not produced by an engine, "
            "nor rebuilt from an evaluation's JSON): evaluate the facts again"
        )
    explainer = _explainer_of(info)
    if explainer is None:
        raise EngineError(
            f"this evaluation was produced with knowledge base {info.name} {info.version} "
            f"({info.digest[:12]}), which is not loaded in this process: create "
            "rsa_rules.Engine(path) for it first"
        )
    facts = {
        record.name: EngineFact(record.name, record.value, tuple(record.paths), record.text)
        for record in evaluation.engine_facts
    }
    if len(trace) != len(explainer.trace.plan.nodes):
        raise EngineError(
            f"this evaluation's condition trace has {len(trace)} outcomes where knowledge base "
            f"{info.name} {info.version} has {len(explainer.trace.plan.nodes)} conditions: "
            "it was not produced by that knowledge base"
        )
    ctx = _Context(facts, {name: fact.value for name, fact in facts.items()}, trace, {})
    return _Link(explainer, ctx, evaluation, set(evaluation.fired_rules))


Evaluation.relink = _relink


class Explainer:
    """Builds explained results for one knowledge base (built once per engine)."""

    def __init__(self, kb: KnowledgeBase, trace: KnowledgeTrace) -> None:
        _EXPLAINERS.setdefault(kb.digest, self)
        self.kb = kb
        self.trace = trace
        self.info = KnowledgeInfo(
            name=kb.name, title=kb.title, version=kb.version, digest=kb.digest
        )
        self.citations: dict[str, list[Citation]] = {}
        self.evidence: dict[str, Evidence] = {}
        for rule in kb.rules:
            self.citations[rule.id] = [self.citation(c.source, c.note) for c in rule.spec.citations]
            self.evidence[rule.id] = self.make_evidence(rule.spec.evidence)
        self.cautions: dict[tuple[str, str], list[Rule]] = {}
        for rule in kb.rules:
            applies = rule.spec.applies_to
            if rule.kind == "caution" and applies is not None:
                for intervention in applies.interventions:
                    for action in applies.actions:
                        self.cautions.setdefault((intervention, action), []).append(rule)
        self.templates = {
            (rule.id, index): _Template.of(self.template(rule, index))
            for rule in kb.rules
            for index in range(len(rule.spec.then))
        }
        self.finding_templates = {
            rule.id: _Template.of(
                Finding(
                    id=rule.spec.finding,
                    rule_id=rule.id,
                    label=kb.finding_labels[rule.spec.finding].label,
                    value=True,
                    summary=rule.spec.summary or "",
                    citations=self.citations[rule.id],
                    evidence=self.evidence[rule.id],
                )
            )
            for rule in kb.rules
            if rule.spec.finding
        }
        # Interventions read together (heparin, aspirin, both): "why not heparin?" also shows
        # what was said about the others.
        self.related: dict[str, frozenset[str]] = {}
        for group in kb.intervention_groups:
            for member in group.interventions:
                others = frozenset(group.interventions) - {member}
                self.related[member] = self.related.get(member, frozenset()) | others
        self.producers: dict[str, list[Rule]] = {}
        for rule in kb.rules:
            for output in rule.spec.then:
                self.producers.setdefault(output.intervention, []).append(rule)
        # Scope (clinical specification 5.1): advice against a treatment that has other
        # indications is withheld when the order states another reason.
        self.outside_scope: dict[str, Condition] = trace.outside_scope

    # -- static pieces -----------------------------------------------------------------
    def citation(self, source_id: str, note: str) -> Citation:
        source = self.kb.sources[source_id]
        return Citation(
            id=source.id,
            title=source.title,
            year=source.year,
            authors=source.authors,
            publisher=source.publisher,
            doi=source.doi,
            url=source.url,
            document=source.document,
            note=note,
            verified=source.verified,
        )

    def make_evidence(self, spec: EvidenceSpec) -> Evidence:
        return Evidence(
            grade=spec.grade,
            notes=list(spec.notes),
            conflicts=[
                ConflictingEvidence(citation=self.citation(c.source, c.finding), finding=c.finding)
                for c in spec.conflicts
            ],
            contradicted_claims=[
                ContradictedClaim(
                    citation=self.citation(c.source, f"Claim: {c.claim}"),
                    claim=c.claim,
                    contradicted_by=[
                        self.citation(s, f"Contradicts: {c.claim}") for s in c.contradicted_by
                    ],
                )
                for c in spec.contradicted_claims
            ],
        )

    # -- one evaluation ----------------------------------------------------------------
    def build(
        self,
        patient_id: str | None,
        facts: Mapping[str, EngineFact],
        fired: list[str],
        values: Mapping[str, Any],
        trace: str,
        data_notes: list[DataNote] | None = None,
    ) -> Evaluation:
        """The evaluation of what durable_rules fired, explained from the condition trace
        (which the engine has checked against the fired set)."""
        ctx = _Context(facts, values, trace, {})
        fired_rules: list[str] = []
        alerts: set[tuple[str, str]] = set()
        for name in fired:
            if ALERT_SUFFIX in name:
                rule_id, intervention = name.split(ALERT_SUFFIX, 1)
                alerts.add((rule_id, intervention))
            elif not name.endswith(INDICATION_SUFFIX):
                fired_rules.append(name)
        findings: list[Finding] = []
        recommendations: list[Recommendation] = []
        for rule_id in fired_rules:
            rule = self.kb.rules_by_id[rule_id]
            if rule.kind == "finding":
                findings.append(self.finding(rule, ctx))
            else:
                recommendations.extend(self.recommendations(rule, ctx, alerts))
        for rule_id, intervention in alerts:
            if rule_id not in fired_rules:  # pragma: no cover - an alert rule implies its rule
                raise EngineError(f"alert {rule_id}/{intervention} fired without its rule")
        recommendations.sort(
            key=lambda r: (
                not r.alert,
                self.kb.action_ranks[r.action],
                self.kb.rules_by_id[r.rule_id].order,
                r.intervention,
            )
        )
        findings.sort(key=lambda f: self.kb.rules_by_id[f.rule_id].order)
        # Every part was validated as a template when the engine was built.
        evaluation = Evaluation.model_construct(
            patient_id=patient_id,
            recommendations=recommendations,
            findings=findings,
            knowledge=self.info,
            data_notes=data_notes or [],
            fired_rules=list(fired),
            condition_trace=trace,
        )
        evaluation._link = _Link(self, ctx, evaluation, set(fired_rules))
        return evaluation

    def outcome(self, node: Condition, ctx: _Context) -> Outcome:
        """A condition's outcome tree, read from the evaluation's trace."""
        return self.trace.plan.outcome(node, ctx.trace, ctx.memo)

    def fired_outcome(self, rule: Rule, ctx: _Context) -> Outcome:
        """The condition of a rule durable_rules fired; it must hold here too."""
        outcome = self.outcome(rule.condition, ctx)
        if outcome.value is not Tri.TRUE:
            raise EngineError(
                f"rule {rule.id} fired in durable_rules but its condition is "
                f"{outcome.value.value} here: the engine and its explanation disagree"
            )
        return outcome

    def explain_fired(self, rule: Rule, ctx: _Context) -> list[Reason]:
        self.fired_outcome(rule, ctx)
        return self.support(self.outcome(rule.indication, ctx), ctx)

    def finding(self, rule: Rule, ctx: _Context) -> Finding:
        spec = rule.spec
        update: dict[str, Any] = {}
        if spec.value_fact:
            update["value"] = ctx.values.get(spec.value_fact)
        if spec.summary and "{" in spec.summary:
            update["summary"] = self.fill(spec.summary, ctx)
        finding: Finding = self.finding_templates[rule.id].instance(
            update, partial(self.explain_fired, rule, ctx)
        )
        return finding

    def template(self, rule: Rule, index: int) -> Recommendation:
        """What a recommendation of ``rule`` says whatever the patient (built once)."""
        spec = rule.spec
        output = spec.then[index]
        cautions: list[str] = []
        caution_rules: list[str] = []
        citations = list(self.citations[rule.id])
        for caution in self.cautions.get((output.intervention, output.action), ()):
            caution_rules.append(caution.id)
            cautions.extend(caution.spec.cautions)
            seen = {c.id for c in citations}
            citations.extend(c for c in self.citations[caution.id] if c.id not in seen)
        return Recommendation(
            rule_id=rule.id,
            rule_version=spec.version,
            title=spec.title,
            intervention=output.intervention,
            intervention_label=self.kb.interventions[output.intervention].label,
            action=output.action,
            alert=False,
            summary=output.summary,
            detail=output.detail,
            citations=citations,
            cautions=cautions,
            caution_rules=caution_rules,
            evidence=self.evidence[rule.id],
            notes=list(spec.notes),
            condition_text=spec.condition_text,
        )

    def recommendations(
        self, rule: Rule, ctx: _Context, alerts: set[tuple[str, str]]
    ) -> list[Recommendation]:
        spec = rule.spec
        # Only what depends on this patient is computed; the rest is the rule's template.
        common: dict[str, Any] = {}
        if rule.notes_when:
            extra = [text for cond, text in rule.notes_when if self.holds(cond, ctx)]
            if extra:
                common["notes"] = [*spec.notes, *extra]
        due = None
        if spec.due_fact and spec.due_fact in ctx.values:
            due = date.fromisoformat(str(ctx.values[spec.due_fact]))
            common["due"] = due
        listed: list[str] = []
        if spec.list_unknown is not None:
            lu = spec.list_unknown
            missing = [self.kb.facts[n].label for n in lu.facts if n not in ctx.values]
            optional = [self.kb.facts[n].label for n in lu.optional_facts if n not in ctx.values]
            common["not_yet_done"] = missing
            common["optional_not_yet_done"] = optional
            if missing:
                listed.append(f"{lu.label}: {', '.join(missing)}.")
            if optional:
                listed.append(f"{lu.optional_label or 'Optional'}: {', '.join(optional)}.")
        if due is not None:
            listed.append(f"Due on or after {due.isoformat()}.")
        if spec.blocks:
            common["blocked"] = [
                BlockedRecommendation(
                    rule_id=target.id,
                    action=out.action,
                    intervention=out.intervention,
                    summary=out.summary,
                )
                for target in (self.kb.rules_by_id[b] for b in spec.blocks)
                if self.holds(target.indication, ctx)
                for out in target.spec.then
            ]
        result: list[Recommendation] = []
        for index, output in enumerate(spec.then):
            if self.out_of_scope(output.action, output.intervention, ctx):
                continue
            template = self.templates[(rule.id, index)]
            update = dict(common)
            summary = self.fill(output.summary, ctx) if "{" in output.summary else None
            if (rule.id, output.intervention) in alerts:
                update["alert"] = True
                stated = ctx.values.get(reason_fact(output.intervention)) == REASON_STATED
                update["alert_certainty"] = "stated" if stated else "inferred"
                if not stated and output.intervention in self.outside_scope:
                    summary = self.inferred_prefix(output.intervention) + (
                        summary or output.summary
                    )
            if summary is not None:
                update["summary"] = summary
            if listed or (output.detail and "{" in output.detail):
                detail = self.fill(output.detail, ctx) if output.detail else None
                update["detail"] = " ".join(filter(None, [detail, *listed]))
            emphasis = [
                text
                for caution in self.cautions.get((output.intervention, output.action), ())
                for cond, text in caution.emphasis
                if self.holds(cond, ctx)
            ]
            if emphasis:
                update["cautions"] = [*template.values["cautions"], *emphasis]
            result.append(template.instance(update, partial(self.explain_fired, rule, ctx)))
        return result

    def inferred_prefix(self, intervention: str) -> str:
        """How an inferred alert on this intervention is worded conditionally."""
        own = self.kb.interventions[intervention].inferred_prefix
        return own if own is not None else self.kb.scope.inferred_prefix

    def out_of_scope(self, action: str, intervention: str, ctx: _Context) -> bool:
        """An ``avoid`` of a treatment ordered for another stated indication is not given."""
        guard = self.outside_scope.get(intervention)
        return self.kb.against(action) and guard is not None and self.holds(guard, ctx)

    def holds(self, node: Condition, ctx: _Context) -> bool:
        return self.trace.holds(node, ctx.trace)

    def fill(self, template: str, ctx: _Context) -> str:
        def one(match: re.Match[str]) -> str:
            value = ctx.values.get(match.group(1))
            return "unknown" if value is None else show_value(value)

        return _PLACEHOLDER.sub(one, template)

    # -- reasons -----------------------------------------------------------------------
    # ``support(o, failing=False)``: why node ``o`` has the value it has (each leaf "met",
    # or "counted as absent/present" where if_unknown applied). With ``failing=True`` the same
    # leaves explain why a rule did NOT get what it needed ("not met", with what was needed).
    # ``unknown(o)``: the leaves that were not recorded. Results are shared between rules.
    def support(self, outcome: Outcome, ctx: _Context, failing: bool = False) -> list[Reason]:
        key = (id(outcome), failing)
        hit = ctx.reasons.get(key)
        if hit is not None:
            return hit
        result = self._support(outcome, ctx, failing)
        ctx.reasons[key] = result
        ctx.keep.append(outcome)  # keeps id() stable for the memo's lifetime
        return result

    def _support(self, outcome: Outcome, ctx: _Context, failing: bool) -> list[Reason]:
        node = outcome.node
        value = outcome.value
        if outcome.defaulted:
            status: ReasonStatus = (
                "counted as present" if value is Tri.TRUE else "counted as absent"
            )
            if isinstance(node, Compare | Known):
                return [self.fact_reason(node, status, ctx, failing)]
            if isinstance(node, FindingRef | Ref):
                missing = self.unknown(outcome.children[0], ctx)
                return [self.ref_reason(node, value, ctx, missing, True)]
            return [_restate(r, status) for r in self.unknown(_raw(outcome), ctx)]
        if isinstance(node, Compare | Known):
            return [self.fact_reason(node, "not met" if failing else "met", ctx, failing, value)]
        if isinstance(node, All | Any_):
            # The children that carry the node's value; for a disjunction that holds (or a
            # conjunction that fails) one carrying child is enough.
            carriers = [c for c in outcome.children if c.value is value]
            one = (isinstance(node, Any_) and value is Tri.TRUE) or (
                isinstance(node, All) and value is Tri.FALSE
            )
            if one:
                carriers = carriers[:1]
            return _distinct([r for c in carriers for r in self.support(c, ctx, failing)])
        if isinstance(node, Not):
            return self.support(outcome.children[0], ctx, failing)
        child = outcome.children[0]
        because = (
            self.support(child, ctx, failing)
            if child.value is not Tri.UNKNOWN
            else self.unknown(child, ctx)
        )
        return [self.ref_reason(node, value, ctx, because, False)]

    def unknown(self, outcome: Outcome, ctx: _Context) -> list[Reason]:
        key = (id(outcome), None)
        hit = ctx.reasons.get(key)
        if hit is not None:
            return hit
        node = outcome.node
        result: list[Reason]
        if isinstance(node, Compare | Known):
            result = [self.fact_reason(node, "unknown", ctx, False)]
        elif isinstance(node, All | Any_):
            result = [
                r for c in outcome.children if c.raw is Tri.UNKNOWN for r in self.unknown(c, ctx)
            ]
        elif isinstance(node, Not):
            result = self.unknown(outcome.children[0], ctx)
        else:
            child = outcome.children[0]
            result = [self.ref_reason(node, Tri.UNKNOWN, ctx, self.unknown(child, ctx), True)]
        ctx.reasons[key] = result
        ctx.keep.append(outcome)
        return result

    def why_not_reasons(self, outcome: Outcome, ctx: _Context) -> list[Reason]:
        """For a rule that did not fire: what failed, and what was unknown."""
        if outcome.value is Tri.UNKNOWN:
            return self.unknown(outcome, ctx)
        return self.support(outcome, ctx, failing=True)

    def fact_reason(
        self,
        node: Compare | Known,
        status: ReasonStatus,
        ctx: _Context,
        failing: bool,
        value: Tri | None = None,
    ) -> Reason:
        name = node.fact
        spec = self.kb.facts[name]
        fact = ctx.facts.get(name)
        if fact is None:
            suffix = {
                "counted as absent": "not recorded (counted as absent)",
                "counted as present": "not recorded (counted as present)",
            }.get(status, "not recorded")
            return Reason.model_construct(
                kind="fact",
                id=name,
                label=spec.label,
                status=status,
                value=None,
                paths=[],
                text=f"{spec.label}: {suffix}",
                because=[],
            )
        text = fact.text
        if not failing and isinstance(node, Compare) and node.op in ("lt", "lte", "gt", "gte"):
            text += f" (threshold: {_describe(node, '').strip()})"
        if failing and isinstance(node, Compare):
            text += f" (needed: {_describe(node, spec.label, negate=value is not Tri.FALSE)})"
        return Reason.model_construct(
            kind="fact",
            id=name,
            label=spec.label,
            status=status,
            value=fact.value,
            paths=list(fact.paths),
            text=text,
            because=[],
        )

    def ref_reason(
        self, node: Condition, value: Tri, ctx: _Context, because: list[Reason], missing: bool
    ) -> Reason:
        statuses: dict[Tri, ReasonStatus] = {
            Tri.TRUE: "met",
            Tri.FALSE: "not met",
            Tri.UNKNOWN: "unknown",
        }
        status = statuses[value]
        if isinstance(node, FindingRef):
            label = self.kb.finding_labels[node.finding].label
            if value is Tri.TRUE:
                verdict = "established"
            elif missing or value is Tri.UNKNOWN:
                verdict = "not established (data missing)"
            else:
                verdict = "not established"
            return _ref("finding", node.finding, label, status, f"{label}: {verdict}", because)
        ref = node if isinstance(node, Ref) else None
        name = ref.name if ref is not None else ""
        if ref is not None and ref.kind == "indication":
            rule = self.kb.rules_by_id[name]
            label = f"{rule.spec.title} ({rule.id})"
            verdict = "indicated" if value is Tri.TRUE else "not indicated"
            return _ref("indication", rule.id, label, status, f"{label}: {verdict}", because)
        text = self.kb.definition_texts.get(name, name)
        verdict = {Tri.TRUE: "", Tri.FALSE: "not so: ", Tri.UNKNOWN: "not known: "}[value]
        return _ref("condition", name, text, status, f"{verdict}{text}", because)

    def undetermined(self, ctx: _Context, fired: set[str]) -> list[UndeterminedFinding]:
        """Finding rules whose condition is neither true nor false for lack of data."""
        out: list[UndeterminedFinding] = []
        for finding_id, rule in self.kb.finding_rules.items():
            if rule.id in fired:
                continue
            outcome = self.outcome(rule.condition, ctx)
            if outcome.value is Tri.UNKNOWN:
                out.append(
                    UndeterminedFinding(
                        id=finding_id,
                        rule_id=rule.id,
                        label=self.kb.finding_labels[finding_id].label,
                        missing=self.unknown(outcome, ctx),
                    )
                )
        return out

    # -- why not -----------------------------------------------------------------------
    def why_not(self, name: str, ctx: _Context, evaluation: Evaluation) -> WhyNot:
        intervention = self.kb.intervention_named(name)
        checks: list[RuleCheck] = []
        for rule in self.producers.get(intervention, []):
            fired = rule.id in evaluation.fired_rules
            condition = self.outcome(rule.condition, ctx)
            indication = self.outcome(rule.indication, ctx)
            if condition.value is Tri.TRUE:
                status, reasons = "fired", self.support(indication, ctx)
            elif indication.value is Tri.TRUE:
                blockers = [self.outcome(b, ctx) for b in rule.blockers]
                reasons = [r for b in blockers if b.value is Tri.TRUE for r in self.support(b, ctx)]
                status = "blocked"
            else:
                status = "unknown" if indication.value is Tri.UNKNOWN else "not met"
                reasons = self.why_not_reasons(indication, ctx)
            if fired != (status == "fired"):
                raise EngineError(
                    f"rule {rule.id}: durable_rules {'fired' if fired else 'did not fire'} but "
                    f"its condition here says {status}"
                )
            for output in rule.spec.then:
                if output.intervention == intervention:
                    check_status, check_reasons, note = status, reasons, None
                    if status == "fired" and self.out_of_scope(output.action, intervention, ctx):
                        guard = self.outcome(self.outside_scope[intervention], ctx)
                        check_status, check_reasons = "blocked", self.support(guard, ctx)
                        note = self.kb.scope.outside
                    checks.append(
                        RuleCheck(
                            rule_id=rule.id,
                            title=rule.spec.title,
                            action=output.action,
                            intervention=intervention,
                            status=check_status,  # type: ignore[arg-type]
                            condition_text=rule.spec.condition_text,
                            reasons=check_reasons,
                            note=note,
                        )
                    )
        produced = [r for r in evaluation.recommendations if r.intervention == intervention]
        kin = self.related.get(intervention, frozenset())
        related = [r for r in evaluation.recommendations if r.intervention in kin]
        return WhyNot(intervention=intervention, produced=produced, rules=checks, related=related)


@dataclass(frozen=True)
class _Template:
    """A validated result model and its field values, copied for each evaluation."""

    model: Recommendation | Finding
    values: dict[str, Any]
    fields_set: frozenset[str]

    @classmethod
    def of(cls, model: Recommendation | Finding) -> _Template:
        values = {k: v for k, v in model.__dict__.items() if k != "because"}
        return cls(model, values, frozenset(model.__pydantic_fields_set__))

    def instance(self, update: dict[str, Any], explain: Callable[[], list[Reason]]) -> Any:
        """A copy with some fields replaced and its own explanation.

        This is what ``model_copy(update=...)`` does, without its generic overhead: the
        template was validated when the engine was built, and ``update`` holds values of
        the fields' own types (the tests compare such copies with freshly validated models).
        """
        cls = type(self.model)
        obj = cls.__new__(cls)
        values = dict(self.values)
        if update:
            values.update(update)
        object.__setattr__(obj, "__dict__", values)
        object.__setattr__(obj, "__pydantic_fields_set__", set(self.fields_set))
        object.__setattr__(obj, "__pydantic_extra__", None)
        object.__setattr__(obj, "__pydantic_private__", {"_explain": explain, "_because": None})
        return obj


def _ref(
    kind: ReasonKind, ident: str, label: str, status: ReasonStatus, text: str, because: list[Reason]
) -> Reason:
    """A finding, indication or named-condition reason (no value, no input paths itself)."""
    return Reason.model_construct(
        kind=kind,
        id=ident,
        label=label,
        status=status,
        value=None,
        paths=[],
        text=text,
        because=because,
    )


def _distinct(reasons: list[Reason]) -> list[Reason]:
    """Each reason once (two conditions may rest on the same fact)."""
    seen: set[tuple[str, str, str]] = set()
    out: list[Reason] = []
    for reason in reasons:
        key = (reason.kind, reason.id, reason.text)
        if key not in seen:
            seen.add(key)
            out.append(reason)
    return out


def _raw(outcome: Outcome) -> Outcome:
    return Outcome(outcome.node, outcome.raw, outcome.raw, outcome.children)


def _restate(reason: Reason, status: ReasonStatus) -> Reason:
    """A not-recorded fact, restated as counted absent or present by ``if_unknown``."""
    if reason.kind != "fact":
        return reason
    return reason.model_copy(
        update={"status": status, "text": f"{reason.label}: not recorded ({status})"}
    )


def _describe(node: Compare, label: str, negate: bool = False) -> str:
    """A comparison as a clinician reads it: "at least 2", "not thrombosis history"; never
    a parameter name (the threshold's source is in the rule's citations)."""
    if isinstance(node.value, bool) and node.op in ("eq", "ne"):
        wanted = node.value == (node.op == "eq")
        return label if wanted != negate else f"not {label}"
    words = {
        "eq": "",
        "ne": "not ",
        "lt": "below ",
        "lte": "at most ",
        "gt": "above ",
        "gte": "at least ",
        "in": "one of ",
        "not_in": "none of ",
    }
    value = node.value
    shown = (
        ", ".join(show_value(v) for v in value) if isinstance(value, tuple) else show_value(value)
    )
    text = f"{label} {words[node.op]}{shown}".strip()
    return f"not {text}" if negate else text
