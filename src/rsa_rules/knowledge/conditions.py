"""Rule conditions: a small three-valued language, its evaluator and its compiler.

A condition is a tree. Leaves read one engine fact (see ``rules/facts.yaml``); inner nodes
combine them. Every node evaluates to TRUE, FALSE or UNKNOWN (Kleene logic): a comparison
on a fact that is not known is UNKNOWN, never FALSE. A rule fires only when its condition
is TRUE. ``if_unknown`` on a node maps UNKNOWN to TRUE or FALSE where a rule says so
("thrombosis history not recorded counts as absent"), and explanations say it was applied.

The same tree is

* evaluated here, in Python, to explain a result ("because ...", "why not ..."), and
* compiled by :mod:`rsa_rules.knowledge.compiler` into durable_rules JSON, which decides
  what fires.

Both must agree; the test suite checks that they do on every golden case and on generated
patients.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "All",
    "Any_",
    "Compare",
    "Condition",
    "FindingRef",
    "Known",
    "Not",
    "Outcome",
    "Ref",
    "Tri",
    "evaluate",
    "facts_read",
    "references",
]


class Tri(enum.Enum):
    """A three-valued truth value."""

    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"

    def __invert__(self) -> Tri:
        if self is Tri.TRUE:
            return Tri.FALSE
        if self is Tri.FALSE:
            return Tri.TRUE
        return Tri.UNKNOWN


# Comparison operators: name -> (python test, durable operator, negated operator name).
_OPS: dict[str, tuple[Callable[[Any, Any], bool], str, str]] = {
    "eq": (lambda a, b: a == b, "", "ne"),
    "ne": (lambda a, b: a != b, "$neq", "eq"),
    "lt": (lambda a, b: a < b, "$lt", "gte"),
    "lte": (lambda a, b: a <= b, "$lte", "gt"),
    "gt": (lambda a, b: a > b, "$gt", "lte"),
    "gte": (lambda a, b: a >= b, "$gte", "lt"),
    "in": (lambda a, b: a in b, "", "not_in"),
    "not_in": (lambda a, b: a not in b, "", "in"),
}
OPERATORS = tuple(_OPS)


@dataclass(frozen=True, eq=False)
class Condition:
    """Base of condition nodes. ``if_unknown`` maps UNKNOWN to TRUE/FALSE at this node."""

    if_unknown: bool | None = field(default=None, kw_only=True)


@dataclass(frozen=True, eq=False)
class Compare(Condition):
    """``fact <op> value``; UNKNOWN when the fact is not known."""

    fact: str
    op: str
    value: Any  # a scalar, or a tuple of scalars for in / not_in
    param: str | None = None  # the knowledge-base parameter the value came from, if any


@dataclass(frozen=True, eq=False)
class Known(Condition):
    """Whether a fact is known (``known: true``) or not (``known: false``). Never UNKNOWN."""

    fact: str
    known: bool


@dataclass(frozen=True, eq=False)
class All(Condition):
    items: tuple[Condition, ...]


@dataclass(frozen=True, eq=False)
class Any_(Condition):
    items: tuple[Condition, ...]


@dataclass(frozen=True, eq=False)
class Not(Condition):
    item: Condition


@dataclass(frozen=True, eq=False)
class FindingRef(Condition):
    """A derived finding: the condition of the rule that defines it."""

    finding: str


@dataclass(frozen=True, eq=False)
class Ref(Condition):
    """A named condition (``definitions``), or a rule's indication (``indicated: RULE``)."""

    name: str
    kind: str = "definition"  # "definition" or "indication"


Resolver = Callable[[Condition], Condition]
"""Turns a FindingRef or Ref into the condition it stands for."""


@dataclass
class Outcome:
    """The evaluated value of one node, with its children, for explanations."""

    node: Condition
    value: Tri
    raw: Tri  # the value before if_unknown was applied
    children: list[Outcome] = field(default_factory=list)

    @property
    def defaulted(self) -> bool:
        """True when if_unknown turned an UNKNOWN into this node's value."""
        return self.raw is Tri.UNKNOWN and self.value is not Tri.UNKNOWN

    def walk(self) -> Iterator[Outcome]:
        yield self
        for child in self.children:
            yield from child.walk()


def evaluate(
    node: Condition,
    facts: Mapping[str, Any],
    resolve: Resolver,
    memo: dict[Condition, Outcome] | None = None,
) -> Outcome:
    """Evaluate a condition against engine facts (a missing key is an unknown fact)."""
    if memo is not None:
        hit = memo.get(node)
        if hit is not None:
            return hit
    outcome = _evaluate(node, facts, resolve, memo)
    if node.if_unknown is not None and outcome.raw is Tri.UNKNOWN:
        outcome.value = Tri.TRUE if node.if_unknown else Tri.FALSE
    if memo is not None:
        memo[node] = outcome
    return outcome


def _evaluate(
    node: Condition,
    facts: Mapping[str, Any],
    resolve: Resolver,
    memo: dict[Condition, Outcome] | None,
) -> Outcome:
    if isinstance(node, Compare):
        if node.fact not in facts:
            return Outcome(node, Tri.UNKNOWN, Tri.UNKNOWN)
        test = _OPS[node.op][0]
        value = Tri.TRUE if test(facts[node.fact], node.value) else Tri.FALSE
        return Outcome(node, value, value)
    if isinstance(node, Known):
        value = Tri.TRUE if (node.fact in facts) == node.known else Tri.FALSE
        return Outcome(node, value, value)
    if isinstance(node, All | Any_):
        children = [evaluate(item, facts, resolve, memo) for item in node.items]
        values = {child.value for child in children}
        stop, go = (Tri.FALSE, Tri.TRUE) if isinstance(node, All) else (Tri.TRUE, Tri.FALSE)
        if stop in values:
            value = stop
        elif Tri.UNKNOWN in values:
            value = Tri.UNKNOWN
        else:
            value = go
        return Outcome(node, value, value, children)
    if isinstance(node, Not):
        child = evaluate(node.item, facts, resolve, memo)
        return Outcome(node, ~child.value, ~child.value, [child])
    if isinstance(node, FindingRef | Ref):
        child = evaluate(resolve(node), facts, resolve, memo)
        return Outcome(node, child.value, child.value, [child])
    raise TypeError(f"not a condition node: {node!r}")  # pragma: no cover - closed set


def references(node: Condition) -> Iterator[FindingRef | Ref]:
    """The findings, definitions and indications a condition names itself (not followed)."""
    if isinstance(node, All | Any_):
        for item in node.items:
            yield from references(item)
    elif isinstance(node, Not):
        yield from references(node.item)
    elif isinstance(node, FindingRef | Ref):
        yield node


def facts_read(node: Condition, resolve: Resolver) -> set[str]:
    """Every engine fact a condition reads, through findings and definitions."""
    out: set[str] = set()
    stack = [node]
    seen: set[Condition] = set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        if isinstance(current, Compare | Known):
            out.add(current.fact)
        elif isinstance(current, All | Any_):
            stack.extend(current.items)
        elif isinstance(current, Not):
            stack.append(current.item)
        elif isinstance(current, FindingRef | Ref):
            stack.append(resolve(current))
    return out
