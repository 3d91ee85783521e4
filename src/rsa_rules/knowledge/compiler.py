"""Compile a knowledge base into durable_rules JSON rulesets: a pure function, golden-tested.

The plan
========

Rules are **stratified** by what they refer to. A rule that reads only engine facts is in
stratum 1; a rule that refers to a finding (or to another rule's indication) sits one
stratum above the rule that derives it. During an evaluation each stratum is one patient
fact asserted into the same durable_rules session: the rules of stratum *k* match only the
fact marked ``rsa_fact = "s<k>"``, and that fact carries the engine facts plus the outcome of
every finding and indication derived below it (``"yes"`` or ``"no"``). So findings chain into
recommendations through durable_rules itself, without negation depending on the order in
which facts arrive, and each compiled rule stays small (durable_rules allows at most 31
``$and``/``$or`` slots per rule).

Unknown values
==============

durable_rules never matches a comparison on a missing key, not even ``$neq``. Instead of
spelling every "not true, or unknown" as ``$or`` of ``$nex`` and a negated comparison, every
catalogued fact is always present: an unknown text or yes/no fact holds ``"unknown"``, an
unknown number holds ``-1`` (every numeric fact is non-negative). Yes/no facts travel as the
strings ``"yes"``/``"no"``, which also avoids durable_rules treating ``1``, ``1.0`` and ``true``
as equal. Each condition node is compiled in four modes: matching exactly when it is TRUE, or
FALSE, or not TRUE, or not FALSE; NOT is pushed to the leaves.

Other rules of the ruleset
==========================

* ``rsa-session`` matches every stratum-1 fact: it makes the first assertion of a session
  "handled", which the engine needs before the session can be deleted.
* ``RULE#alert:INTERVENTION`` fires beside ``RULE`` when the rule advises against an
  intervention that is already proposed, ordered or active (the vocabulary's alert).
* ``RULE#indicated`` fires when a rule's indication holds even if an ``unless`` blocks it;
  other rules refer to it with ``indicated: RULE``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .conditions import (
    NOT_MODE,
    OPERATORS,
    OPPOSITE_MODE,
    All,
    Any_,
    Compare,
    Condition,
    FindingRef,
    Known,
    Not,
    Ref,
    conjunctive,
    mode_of,
)
from .loader import KnowledgeBase, Rule, reason_fact, treatment_fact

__all__ = [
    "FACT_MARKER",
    "SESSION_RULE",
    "UNKNOWN_NUMBER",
    "UNKNOWN_TEXT",
    "CompiledKnowledge",
    "Stratum",
    "alert_condition",
    "alert_interventions",
    "alert_rule_name",
    "compile_knowledge",
    "encode_record",
    "finding_fact",
    "indication_fact",
    "reason_fact",
    "treatment_fact",
]

FACT_MARKER = "rsa_fact"
SESSION_RULE = "rsa-session"
ALERT_SUFFIX = "#alert:"
INDICATION_SUFFIX = "#indicated"
UNKNOWN_TEXT = "unknown"
UNKNOWN_NUMBER = -1
YES, NO = "yes", "no"
INLINE_SLOTS = 8
"""A finding whose compiled condition needs at most this many slots is inlined."""


def finding_fact(finding: str) -> str:
    """The stratum fact carrying whether a finding was established (``"yes"``/``"no"``)."""
    return "finding_" + finding.replace("-", "_")


def indication_fact(rule_id: str) -> str:
    """The stratum fact carrying whether a rule's indication held (``"yes"``/``"no"``)."""
    return "indicated_" + rule_id.lower().replace("-", "_")


def alert_interventions(kb: KnowledgeBase, rule: Rule) -> list[str]:
    """Interventions a rule advises against (an action whose stance is ``against``): each is
    an alert when it is already under way."""
    return [out.intervention for out in rule.spec.then if kb.against(out.action)]


def alert_condition(rule: Rule, intervention: str) -> Condition:
    """When an ``avoid`` of ``rule`` is an alert: the rule holds, the intervention is under
    way, and the rule's ``alert_unless`` (if any) does not hold (unknown does not hold)."""
    current = Compare(treatment_fact(intervention), "eq", True)
    if rule.alert_unless is None:
        return All((rule.condition, current))
    return All((rule.condition, current, Not(rule.alert_unless, if_unknown=True)))


def alert_rule_name(rule_id: str, intervention: str) -> str:
    return f"{rule_id}{ALERT_SUFFIX}{intervention}"


@dataclass(frozen=True)
class Stratum:
    """One stratum: its marker, and which fired rule sets which derived fact."""

    level: int
    marker: str
    rules: tuple[str, ...]
    outputs: Mapping[str, str] = field(default_factory=dict)  # durable rule name -> fact
    reads: tuple[str, ...] = ()  # the facts its rules compare (only these are asserted)
    # For each rule, (fact, value) pairs of which at least one must hold for it to fire; a
    # stratum none of whose rules can fire is not asserted at all. None: no such guard.
    guards: tuple[tuple[tuple[str, Any], ...] | None, ...] = ()


@dataclass(frozen=True)
class CompiledKnowledge:
    """The compiled ruleset and the plan to run it."""

    name: str
    ruleset: Mapping[str, Mapping[str, Any]]
    strata: tuple[Stratum, ...]

    def to_json_ready(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "strata": [
                {
                    "level": s.level,
                    "marker": s.marker,
                    "rules": list(s.rules),
                    "outputs": dict(sorted(s.outputs.items())),
                    "reads": list(s.reads),
                    "guards": [sorted(g) if g is not None else None for g in s.guards],
                }
                for s in self.strata
            ],
            "ruleset": {name: self.ruleset[name] for name in sorted(self.ruleset)},
        }


def compile_knowledge(kb: KnowledgeBase) -> CompiledKnowledge:
    """Compile ``kb`` into one durable_rules ruleset and its stratified plan."""
    compiler = _Compiler(kb)
    return compiler.run()


def encode_record(kb: KnowledgeBase, values: Mapping[str, Any]) -> dict[str, Any]:
    """The engine facts as durable_rules sees them: every catalogued fact present."""
    record: dict[str, Any] = {}
    get = values.get
    for name, kind in kb.fact_kinds:
        value = get(name)
        if value is None:
            record[name] = UNKNOWN_NUMBER if kind == "n" else UNKNOWN_TEXT
        elif kind == "b":
            record[name] = YES if value else NO
        else:
            record[name] = value
    return record


def _encode_value(kind: str, value: Any) -> Any:
    if kind == "boolean":
        return YES if value else NO
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class _Compiler:
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.levels: dict[str, int] = {}
        self.indications: set[str] = set()  # rules another rule refers to with indicated
        self.inlined: dict[str, bool] = {}

    # -- strata ---------------------------------------------------------------------------
    def level(self, rule: Rule) -> int:
        if rule.id in self.levels:
            return self.levels[rule.id]
        self.levels[rule.id] = 0  # cycles were rejected by the loader
        deps = [0, *self.level_of_refs(rule.condition)]
        if rule.alert_unless is not None:
            deps.extend(self.level_of_refs(rule.alert_unless))
        self.levels[rule.id] = max(deps) + 1
        return self.levels[rule.id]

    def inline(self, finding: str) -> bool:
        """Whether a finding is cheap enough to compile into the rules that use it.

        An inlined finding costs no stratum: rules that refer to it need not wait for the
        stratum in which it is derived (it is still derived and reported on its own).
        """
        if finding not in self.inlined:
            condition = self.kb.finding_rules[finding].condition
            cost = max(expression_slots(self.compile(condition, mode)) for mode in ("T", "NT"))
            self.inlined[finding] = cost <= INLINE_SLOTS
        return self.inlined[finding]

    def level_of_refs(self, node: Condition) -> list[int]:
        out: list[int] = []
        if isinstance(node, All | Any_):
            for item in node.items:
                out.extend(self.level_of_refs(item))
        elif isinstance(node, Not):
            out.extend(self.level_of_refs(node.item))
        elif isinstance(node, FindingRef):
            finding = self.kb.finding_rules[node.finding]
            if self.inline(node.finding):
                out.extend(self.level_of_refs(finding.condition))
            else:
                out.append(self.level(finding))
        elif isinstance(node, Ref):
            if node.kind == "indication":
                target = self.kb.rules_by_id[node.name]
                self.indications.add(target.id)
                out.append(self.level(target))
            else:
                out.extend(self.level_of_refs(self.kb.definitions[node.name]))
        return out

    def run(self) -> CompiledKnowledge:
        kb = self.kb
        active = [rule for rule in kb.rules if rule.kind != "caution"]
        for rule in active:
            self.level(rule)
        top = max((self.levels[r.id] for r in active), default=1)
        name = f"rsa_{kb.name.replace('-', '_')}_{kb.digest[:12]}"
        ruleset: dict[str, dict[str, Any]] = {
            SESSION_RULE: {"all": [{"m": {FACT_MARKER: "s1"}}], "run": SESSION_RULE}
        }
        strata: list[Stratum] = []
        for level in range(1, top + 1):
            marker = f"s{level}"
            names: list[str] = []
            outputs: dict[str, str] = {}
            for rule in active:
                if self.levels[rule.id] != level:
                    continue
                ruleset[rule.id] = self.rule(rule.id, rule.condition, marker)
                names.append(rule.id)
                if rule.spec.finding:
                    outputs[rule.id] = finding_fact(rule.spec.finding)
                if rule.id in self.indications and rule.blockers:
                    indication = rule.id + INDICATION_SUFFIX
                    ruleset[indication] = self.rule(indication, rule.indication, marker)
                    names.append(indication)
                    outputs[indication] = indication_fact(rule.id)
                elif rule.id in self.indications:
                    outputs[rule.id] = indication_fact(rule.id)
                for intervention in alert_interventions(self.kb, rule):
                    alert = alert_rule_name(rule.id, intervention)
                    ruleset[alert] = self.rule(alert, alert_condition(rule, intervention), marker)
                    names.append(alert)
            reads = sorted({key for rule_name in names for key in _keys(ruleset[rule_name])})
            reads = [key for key in reads if key != FACT_MARKER]
            guards = tuple(_guard(ruleset[rule_name]["all"][0]["m"]) for rule_name in names)
            strata.append(Stratum(level, marker, tuple(names), outputs, tuple(reads), guards))
        return CompiledKnowledge(name, ruleset, tuple(strata))

    def rule(self, name: str, condition: Condition, marker: str) -> dict[str, Any]:
        expression = self.compile(condition, "T")
        parts = expression["$and"] if set(expression) == {"$and"} else [expression]
        return {"all": [{"m": {"$and": [{FACT_MARKER: marker}, *parts]}}], "run": name}

    # -- conditions ------------------------------------------------------------------------
    def compile(self, node: Condition, mode: str) -> dict[str, Any]:
        mode = mode_of(node, mode)
        if isinstance(node, Compare):
            return self.compare(node, mode)
        if isinstance(node, Known):
            unknown = self.unknown_of(node.fact)
            holds = (mode in ("T", "NF")) == node.known
            return {"$neq": {node.fact: unknown}} if holds else {node.fact: unknown}
        if isinstance(node, All | Any_):
            if conjunctive(node, mode):
                return _join("$and", [self.compile(i, mode) for i in node.items])
            return self.exclusive_or(node.items, mode)
        if isinstance(node, Not):
            return self.compile(node.item, NOT_MODE[mode])
        if isinstance(node, FindingRef):
            if self.inline(node.finding):
                return self.compile(self.kb.finding_rules[node.finding].condition, mode)
            return self.derived(finding_fact(node.finding), mode)
        if isinstance(node, Ref):
            if node.kind == "indication":
                return self.derived(indication_fact(node.name), mode)
            return self.compile(self.kb.definitions[node.name], mode)
        raise TypeError(f"not a condition node: {node!r}")  # pragma: no cover - closed set

    def exclusive_or(self, items: tuple[Condition, ...], mode: str) -> dict[str, Any]:
        """A disjunction whose branches never hold together.

        durable_rules fires a rule once for every branch of an ``$or`` that matches, so
        branch k also requires that no earlier branch matched: exactly one branch matches.
        """
        opposite = OPPOSITE_MODE[mode]
        branches: list[dict[str, Any]] = []
        earlier: list[dict[str, Any]] = []
        for item in items:
            branches.append(_join("$and", [*earlier, self.compile(item, mode)]))
            earlier.append(self.compile(item, opposite))
        return _join("$or", branches)

    @staticmethod
    def derived(fact: str, mode: str) -> dict[str, Any]:
        # Derived facts are always "yes" or "no": never unknown.
        return {fact: YES} if mode in ("T", "NF") else {fact: NO}

    def unknown_of(self, fact: str) -> Any:
        kind = self.kb.facts[fact].type
        return UNKNOWN_NUMBER if kind in ("integer", "number") else UNKNOWN_TEXT

    def compare(self, node: Compare, mode: str) -> dict[str, Any]:
        kind = self.kb.facts[node.fact].type
        unknown = self.unknown_of(node.fact)
        fact = node.fact
        numeric = kind in ("integer", "number")
        negated = OPERATORS[node.op].negated
        op = node.op if mode in ("T", "NT") else negated
        # Values matching op, as a durable expression, and whether that set includes unknown.
        matching, has_unknown = self.matching(fact, op, node.value, kind, unknown, numeric)
        if mode in ("T", "F"):
            if has_unknown:
                return _join("$and", [matching, {"$neq": {fact: unknown}}])
            return matching
        # NT: FALSE or UNKNOWN = values matching the negated op, plus unknown;
        # NF: TRUE or UNKNOWN = values matching op, plus unknown.
        other, other_has_unknown = self.matching(
            fact, negated if mode == "NT" else node.op, node.value, kind, unknown, numeric
        )
        if other_has_unknown:
            return other
        return _join("$or", [other, {fact: unknown}])

    @staticmethod
    def matching(
        fact: str, op: str, value: Any, kind: str, unknown: Any, numeric: bool
    ) -> tuple[dict[str, Any], bool]:
        """An expression for the values satisfying ``fact op value``, and whether it also
        matches the unknown sentinel."""
        if op in ("in", "not_in"):
            values = [_encode_value(kind, v) for v in value]
            if op == "in":
                return _join("$or", [{fact: v} for v in values]), False
            return _join("$and", [{"$neq": {fact: v}} for v in values]), True
        encoded = _encode_value(kind, value)
        if op == "eq":
            return {fact: encoded}, False
        if op == "ne":
            return {"$neq": {fact: encoded}}, True
        durable = OPERATORS[op].durable
        # Numbers are non-negative and unknown is -1: it satisfies lt/lte, never gt/gte.
        return {durable: {fact: encoded}}, op in ("lt", "lte")


def _join(op: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    flat: list[dict[str, Any]] = []
    for part in parts:
        if set(part) == {op}:
            flat.extend(part[op])
        else:
            flat.append(part)
    if len(flat) == 1:
        return flat[0]
    return {op: flat}


def _guard(expression: dict[str, Any]) -> tuple[tuple[str, Any], ...] | None:
    """Equalities of which at least one must hold for ``expression`` to match, if any.

    A conjunction needs what any one of its parts needs (the smallest such set is kept);
    a disjunction needs one of what its branches need (only when every branch has a guard).
    """
    found = _necessary(expression)
    return tuple(sorted(found, key=repr)) if found is not None else None


def _necessary(expression: dict[str, Any]) -> set[tuple[str, Any]] | None:
    if len(expression) != 1:  # pragma: no cover - the compiler writes one key per mapping
        return None
    ((key, value),) = expression.items()
    if key == "$and":
        options = [n for n in (_necessary(part) for part in value) if n is not None]
        # The most selective: fewest alternatives, and "yes" rather than "no" or "unknown".
        return min(options, key=_looseness) if options else None
    if key == "$or":
        union: set[tuple[str, Any]] = set()
        for part in value:
            need = _necessary(part)
            if need is None:
                return None
            union |= need
        return union
    if key.startswith("$") or key == FACT_MARKER or isinstance(value, dict | list):
        return None
    return {(key, value)}


def _looseness(need: set[tuple[str, Any]]) -> tuple[int, int]:
    return (sum(1 for _, v in need if v in (NO, UNKNOWN_TEXT)), len(need))


def _keys(expression: Any) -> set[str]:
    """The fact names a durable_rules expression compares."""
    out: set[str] = set()
    if isinstance(expression, dict):
        for key, value in expression.items():
            if key.startswith("$"):
                out |= _keys(value)
            elif key not in ("all", "m", "run"):
                out.add(key)
            else:
                out |= _keys(value)
    elif isinstance(expression, list):
        for item in expression:
            out |= _keys(item)
    return out


def expression_slots(expression: Any) -> int:
    """durable_rules' count for one rule: two slots per ``$and``/``$or`` (it allows 31)."""
    if isinstance(expression, dict):
        here = sum(2 for key in expression if key in ("$and", "$or"))
        return here + sum(expression_slots(v) for v in expression.values())
    if isinstance(expression, list):
        return sum(expression_slots(v) for v in expression)
    return 0
