"""Lint a knowledge base: load it, compile it, and prove it never contradicts itself.

Beyond what loading checks (schema, references, vocabulary, citations), the linter

* checks the compiled ruleset against durable_rules' limits (31 expression slots a rule),
* checks that every parameter the fact derivation needs exists,
* checks numeric comparisons (unknown numbers are -1 in the engine, so thresholds are >= 0),
* warns about definitions and parameters nothing uses, and
* proves that no patient can be given opposite actions for one intervention (``recommend``
  or ``consider`` against ``avoid``): for every such pair of rules it searches the whole
  discretised fact space, every fact the two rules read taking each value of its type that
  matters (each threshold, values just either side of it and between thresholds, and
  unknown), pruning branches in which either rule can no longer hold. Finding none is the
  proof; finding one gives the patient.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._compat import Traversable
from ..errors import KnowledgeError, KnowledgeProblem
from .compiler import compile_knowledge, expression_slots
from .conditions import (
    MISSING,
    NOT_MODE,
    All,
    Any_,
    Compare,
    Condition,
    FindingRef,
    Known,
    Not,
    Ref,
    conjunctive,
    holds_in_mode,
    leaf_value,
    mode_of,
)
from .loader import KnowledgeBase, Rule, load_knowledge

__all__ = ["LintReport", "lint_knowledge", "opposite_action_witness"]

DURABLE_SLOT_LIMIT = 31
REQUIRED_PARAMETERS = (
    "counted_loss_kinds",
    "uncounted_loss_kinds",
    "fetal_death_weeks",
    "fetal_death_kinds",
    "miscarriage_weeks",
    "second_trimester_weeks",
    "apl_persistence_days",
    "apl_titre_threshold",
    "apl_titre_units",
    "apl_titre_tests",
)
_ABSENT = object()  # a fact left unknown


@dataclass
class LintReport:
    """What the linter found. ``ok`` is False when there is any error."""

    knowledge: KnowledgeBase | None
    errors: list[KnowledgeProblem] = field(default_factory=list)
    warnings: list[KnowledgeProblem] = field(default_factory=list)
    checked_pairs: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def lint_knowledge(path: str | Path | Traversable | None = None) -> LintReport:
    """Lint the knowledge base at ``path`` (the default one when None)."""
    try:
        kb = load_knowledge(path)
    except KnowledgeError as error:
        return LintReport(None, errors=list(error.problems))
    report = LintReport(kb)
    for name in REQUIRED_PARAMETERS:
        if name not in kb.parameters:
            report.errors.append(
                KnowledgeProblem(
                    "parameters.yaml", f"parameter {name!r} is required by the fact derivation"
                )
            )
    for fact in kb.facts.values():
        if fact.values and "unknown" in fact.values:
            report.errors.append(
                KnowledgeProblem(
                    "facts.yaml", "'unknown' is reserved for unknown values", field=fact.name
                )
            )
    compiled = compile_knowledge(kb)
    for name, compiled_rule in compiled.ruleset.items():
        slots = expression_slots(compiled_rule["all"])
        if slots > DURABLE_SLOT_LIMIT:
            base = name.split("#", 1)[0]
            source = kb.rules_by_id.get(base)
            report.errors.append(
                KnowledgeProblem(
                    source.file if source else "?",
                    f"compiled rule {name} needs {slots} expression slots; durable_rules allows "
                    f"{DURABLE_SLOT_LIMIT}: move part of the condition into a finding",
                    rule_id=base,
                    field="when",
                )
            )
    for rule in kb.rules:
        for node in _walk(rule.condition, kb):
            if isinstance(node, Compare) and kb.facts[node.fact].type in ("integer", "number"):
                values = node.value if isinstance(node.value, tuple) else (node.value,)
                if any(v < 0 for v in values):
                    report.errors.append(
                        KnowledgeProblem(
                            rule.file,
                            "numeric thresholds must be 0 or more",
                            rule_id=rule.id,
                            field="when",
                        )
                    )
    _unused(kb, report)
    if report.ok:
        for first, second, intervention in _opposite_pairs(kb):
            report.checked_pairs += 1
            witness = opposite_action_witness(kb, first, second)
            if witness is not None:
                shown = ", ".join(
                    f"{k}={'unknown' if v is _ABSENT else v}" for k, v in sorted(witness.items())
                )
                report.errors.append(
                    KnowledgeProblem(
                        first.file,
                        f"{first.id} and {second.id} give opposite actions for {intervention} "
                        f"to one patient: {shown}",
                        rule_id=first.id,
                        field="when",
                    )
                )
    return report


def _opposite_pairs(kb: KnowledgeBase) -> Iterator[tuple[Rule, Rule, str]]:
    by_intervention: dict[str, tuple[set[str], set[str]]] = {}
    for rule in kb.rules:
        for output in rule.spec.then:
            positive, negative = by_intervention.setdefault(output.intervention, (set(), set()))
            stance = kb.actions[output.action].stance
            if stance == "for":
                positive.add(rule.id)
            elif stance == "against":
                negative.add(rule.id)
    for intervention, (positive, negative) in sorted(by_intervention.items()):
        for p, n in itertools.product(sorted(positive), sorted(negative)):
            if p != n:
                yield kb.rules_by_id[p], kb.rules_by_id[n], intervention


def _walk(node: Condition, kb: KnowledgeBase) -> Iterator[Condition]:
    stack = [node]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, All | Any_):
            stack.extend(current.items)
        elif isinstance(current, Not):
            stack.append(current.item)
        elif isinstance(current, FindingRef | Ref):
            stack.append(kb.resolve(current))


def _unused(kb: KnowledgeBase, report: LintReport) -> None:
    used_defs: set[str] = set()
    used_params: set[str] = set(REQUIRED_PARAMETERS)
    for rule in kb.rules:
        conditions = [
            rule.condition,
            *(c for c, _ in rule.notes_when),
            *(c for c, _ in rule.emphasis),
        ]
        for cond in conditions:
            for node in _walk(cond, kb):
                if isinstance(node, Ref) and node.kind == "definition":
                    used_defs.add(node.name)
                if isinstance(node, Compare) and node.param:
                    used_params.add(node.param)
    for name in kb.definitions:
        if name not in used_defs:
            report.warnings.append(
                KnowledgeProblem("definitions.yaml", f"definition {name!r} is not used")
            )
    for name in kb.parameters:
        if name not in used_params:
            report.warnings.append(
                KnowledgeProblem("parameters.yaml", f"parameter {name!r} is not used")
            )


# -- the proof of non-contradiction ------------------------------------------------------------
#
# Every fact takes values from a finite, discretised domain: unknown, and for a number each
# threshold the rules compare it with and one either side; for a yes/no or text fact, all its
# values. The set of patients for whom a condition is TRUE is computed exactly as a union of
# boxes (a box allows, for each fact it names, a subset of that fact's domain), in the four
# modes the compiler uses (TRUE, FALSE, not TRUE, not FALSE), NOT being pushed to the leaves.
# Two rules contradict each other exactly when their TRUE regions intersect.

Box = dict[str, frozenset[Any]]
Region = list[Box]


def opposite_action_witness(kb: KnowledgeBase, first: Rule, second: Rule) -> dict[str, Any] | None:
    """A patient (engine facts) for whom both rules fire, or None when there is none."""
    regions = _Regions(kb)
    both = _product(regions.of(first.condition, "T"), regions.of(second.condition, "T"))
    if not both:
        return None
    box = both[0]
    return {name: sorted(values, key=repr)[0] for name, values in sorted(box.items())}


class _Regions:
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.memo: dict[tuple[int, str], Region] = {}
        self.domains: dict[str, frozenset[Any]] = {}

    def domain(self, name: str) -> frozenset[Any]:
        if name not in self.domains:
            self.domains[name] = frozenset(_domain(self.kb, name))
        return self.domains[name]

    def of(self, node: Condition, mode: str) -> Region:
        key = (id(node), mode)
        if key not in self.memo:
            self.memo[key] = self._of(node, mode)
        return self.memo[key]

    def _of(self, node: Condition, mode: str) -> Region:
        mode = mode_of(node, mode)
        if isinstance(node, Compare | Known):
            return self.leaf(node, mode)
        if isinstance(node, All | Any_):
            parts = [self.of(item, mode) for item in node.items]
            if conjunctive(node, mode):
                region: Region = [{}]
                for part in parts:
                    region = _product(region, part)
                    if not region:
                        break
                return region
            return _dedupe([box for part in parts for box in part])
        if isinstance(node, Not):
            return self.of(node.item, NOT_MODE[mode])
        if isinstance(node, FindingRef | Ref):
            return self.of(self.kb.resolve(node), mode)
        raise TypeError(f"not a condition node: {node!r}")  # pragma: no cover - closed set

    def leaf(self, node: Compare | Known, mode: str) -> Region:
        chosen = frozenset(
            v
            for v in self.domain(node.fact)
            if holds_in_mode(leaf_value(node, MISSING if v is _ABSENT else v), mode)
        )
        return [{node.fact: chosen}] if chosen else []


def _product(left: Region, right: Region) -> Region:
    out: Region = []
    for a in left:
        for b in right:
            merged = dict(a)
            empty = False
            for name, values in b.items():
                if name in merged:
                    values = merged[name] & values
                    if not values:
                        empty = True
                        break
                merged[name] = values
            if not empty:
                out.append(merged)
    return _dedupe(out)


def _dedupe(region: Region) -> Region:
    seen: set[frozenset[tuple[str, frozenset[Any]]]] = set()
    out: Region = []
    for box in region:
        key = frozenset(box.items())
        if key not in seen:
            seen.add(key)
            out.append(box)
    return out


def _domain(kb: KnowledgeBase, name: str) -> list[Any]:
    spec = kb.facts[name]
    values: list[Any] = [_ABSENT]
    if spec.type == "boolean":
        return [*values, True, False]
    if spec.values:
        return [*values, *spec.values]
    if spec.type in ("integer", "number"):
        thresholds: set[float] = set()
        for rule in kb.rules:
            for node in _walk(rule.condition, kb):
                if isinstance(node, Compare) and node.fact == name:
                    value = node.value
                    thresholds.update(value if isinstance(value, tuple) else (value,))
        points = _sample_points(thresholds, integer=spec.type == "integer")
        return [*values, *sorted(v for v in points if v >= 0)]
    return [*values, "2026-01-01"]


def _sample_points(thresholds: Iterable[float], *, integer: bool) -> set[float]:
    """Numbers that meet every comparison with these thresholds in every way it can be met.

    Comparisons (``lt``, ``lte``, ``eq``, ``gte``, ``gt``, ``ne``, ``in``, ``not_in``) against
    thresholds t1 < ... < tn split the number line into the thresholds themselves and the open
    intervals between and beyond them, and every number of one piece meets every comparison
    alike; so one number a piece is a complete sample. Sampled: each threshold, the midpoint
    of each gap, a value just either side of each threshold (a quarter of the gap, at most 1,
    away) and one beyond each end, so thresholds less than 1 apart leave no piece unchecked.
    An integer fact's pieces hold integers only: each threshold's floor and its neighbours
    sample every piece that holds one (a piece with none in it is no patient). Zero is always
    sampled; unknown numbers are -1 in the engine, so no fact is negative.
    """
    ordered = sorted(set(thresholds))
    points: set[float] = {0}
    if integer:
        for t in ordered:
            floor = math.floor(t)
            points.update({floor - 1, floor, floor + 1})
        return points
    points.update(ordered)
    for index, t in enumerate(ordered):
        below = ordered[index - 1] if index > 0 else t - 2
        above = ordered[index + 1] if index + 1 < len(ordered) else t + 2
        points.update({(below + t) / 2, (t + above) / 2})
        points.update({t - min(1, (t - below) / 4), t + min(1, (above - t) / 4)})
    return points


def format_report(report: LintReport, location: str) -> Iterable[str]:
    """Lines for the command line."""
    for problem in report.errors:
        yield f"error: {problem}"
    for problem in report.warnings:
        yield f"warning: {problem}"
    if report.ok and report.knowledge is not None:
        kb = report.knowledge
        yield (
            f"ok: {location}: {kb.name} {kb.version}, {len(kb.rules)} rules; no patient gets "
            f"opposite actions for one intervention ({report.checked_pairs} rule pairs proved)"
        )
        for rule in kb.drafts:
            yield f"ok: draft, checked but not compiled: {rule.id} ({rule.file}:{rule.line})"
        for retired in kb.retired:
            yield f"ok: retired in {retired.retired_in}: {retired.id} ({retired.reason})"
