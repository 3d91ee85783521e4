"""Rule conditions: a small three-valued language, and the one definition of its meaning.

A condition is a tree. Leaves read one engine fact (see ``rules/facts.yaml``); inner nodes
combine them. Every node evaluates to TRUE, FALSE or UNKNOWN (Kleene logic): a comparison
on a fact that is not known is UNKNOWN, never FALSE. A rule fires only when its condition
is TRUE. ``if_unknown`` on a node maps UNKNOWN to TRUE or FALSE where a rule says so
("thrombosis history not recorded counts as absent"), and explanations say it was applied.

This module holds the semantics once, and every reading of a condition takes it from here:

* :data:`OPERATORS`: each comparison's test, its negation and its durable_rules operator;
* :func:`mode_of`, :data:`NOT_MODE` and :func:`conjunctive`: how a node reads in the four
  *modes* (exactly TRUE, exactly FALSE, not TRUE, not FALSE) used by readings that push NOT
  to the leaves: the durable_rules compiler (:mod:`rsa_rules.knowledge.compiler`) and the
  knowledge-base lint's proof (:mod:`rsa_rules.knowledge.lint`);
* :class:`TracePlan`: every node of a set of conditions, numbered, and one function that
  evaluates all of them at once for a patient: the *trace*, one letter per node
  (:data:`TRACE_LETTERS`). The engine records it on every evaluation and checks it against
  what durable_rules fired; explanations and ``why_not`` read it.

:func:`evaluate` is the same semantics as a plain interpreter, one node at a time; the test
suite holds the trace and the interpreter equal on generated patients.
"""

from __future__ import annotations

import enum
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = [
    "MISSING",
    "All",
    "Any_",
    "Compare",
    "Condition",
    "FindingRef",
    "Known",
    "Not",
    "Operator",
    "Outcome",
    "Ref",
    "TracePlan",
    "Tri",
    "conjunctive",
    "evaluate",
    "facts_read",
    "holds_in_mode",
    "leaf_value",
    "mode_of",
    "references",
]


MISSING: Final = object()
"""The value of a fact that is not known."""


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


@dataclass(frozen=True)
class Operator:
    """A comparison: how it tests a known value, how it reads in generated Python, its
    negation (the comparison TRUE exactly where this one is FALSE, for known values) and
    its durable_rules operator ("" where the compiler spells it otherwise)."""

    name: str
    test: Callable[[Any, Any], bool]
    python: str
    negated: str
    durable: str


def _contains(a: Any, b: Any) -> bool:
    return a in b


def _lacks(a: Any, b: Any) -> bool:
    return a not in b


OPERATORS: Final[Mapping[str, Operator]] = {
    op.name: op
    for op in (
        Operator("eq", operator.eq, "==", "ne", ""),
        Operator("ne", operator.ne, "!=", "eq", "$neq"),
        Operator("lt", operator.lt, "<", "gte", "$lt"),
        Operator("lte", operator.le, "<=", "gt", "$lte"),
        Operator("gt", operator.gt, ">", "lte", "$gt"),
        Operator("gte", operator.ge, ">=", "lt", "$gte"),
        Operator("in", _contains, "in", "not_in", ""),
        Operator("not_in", _lacks, "not in", "in", ""),
    )
}

# -- modes ------------------------------------------------------------------------------------
# A reading that pushes NOT to the leaves asks of each node one of four questions: is it
# exactly TRUE ("T"), exactly FALSE ("F"), not TRUE ("NT": FALSE or UNKNOWN) or not FALSE
# ("NF": TRUE or UNKNOWN)?
MODES: Final = ("T", "F", "NT", "NF")
NOT_MODE: Final[Mapping[str, str]] = {"T": "F", "F": "T", "NT": "NF", "NF": "NT"}
"""The question a NOT node asks of its child."""
OPPOSITE_MODE: Final[Mapping[str, str]] = {"T": "NT", "NT": "T", "F": "NF", "NF": "F"}
"""The question answered exactly where the given one is not."""
_IF_UNKNOWN_MODE: Final[Mapping[bool, Mapping[str, str]]] = {
    # UNKNOWN counts as TRUE: the node is TRUE where the raw node is not FALSE ...
    True: {"T": "NF", "F": "F", "NT": "F", "NF": "NF"},
    # ... and UNKNOWN counts as FALSE: FALSE where the raw node is not TRUE.
    False: {"T": "T", "F": "NT", "NT": "NT", "NF": "T"},
}


def mode_of(node: Condition, mode: str) -> str:
    """The question to ask of a node's raw value (before ``if_unknown``) for ``mode``."""
    if node.if_unknown is None:
        return mode
    return _IF_UNKNOWN_MODE[node.if_unknown][mode]


def conjunctive(node: All | Any_, mode: str) -> bool:
    """Whether ``mode`` of an ALL/ANY node needs every child (else: any one child).

    ALL is TRUE (and not FALSE) when every child is; ANY is FALSE (and not TRUE) when
    every child is."""
    return isinstance(node, All) == (mode in ("T", "NF"))


def holds_in_mode(value: Tri, mode: str) -> bool:
    """Whether a three-valued value answers ``mode``'s question with yes."""
    if mode == "T":
        return value is Tri.TRUE
    if mode == "F":
        return value is Tri.FALSE
    if mode == "NT":
        return value is not Tri.TRUE
    return value is not Tri.FALSE


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


def leaf_value(node: Compare | Known, value: Any) -> Tri:
    """A leaf's value for its fact's value, or for :data:`MISSING` when the fact is not
    known: a comparison on an unknown fact is UNKNOWN; whether a fact is known never is."""
    if isinstance(node, Known):
        return Tri.TRUE if (value is not MISSING) == node.known else Tri.FALSE
    if value is MISSING:
        return Tri.UNKNOWN
    return Tri.TRUE if OPERATORS[node.op].test(value, node.value) else Tri.FALSE


def _evaluate(
    node: Condition,
    facts: Mapping[str, Any],
    resolve: Resolver,
    memo: dict[Condition, Outcome] | None,
) -> Outcome:
    if isinstance(node, Compare | Known):
        value = leaf_value(node, facts.get(node.fact, MISSING))
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


# -- the trace ---------------------------------------------------------------------------------

TRACE_LETTERS: Final[Mapping[str, tuple[Tri, Tri]]] = {
    "t": (Tri.TRUE, Tri.TRUE),
    "f": (Tri.FALSE, Tri.FALSE),
    "u": (Tri.UNKNOWN, Tri.UNKNOWN),
    "p": (Tri.TRUE, Tri.UNKNOWN),  # unknown, counted as present (if_unknown: true)
    "a": (Tri.FALSE, Tri.UNKNOWN),  # unknown, counted as absent (if_unknown: false)
}
"""A trace letter: (the node's value, its value before ``if_unknown``)."""


class TracePlan:
    """Every node of a set of conditions, numbered children first, and one generated
    function that evaluates them all for a patient's engine facts.

    ``plan.run(facts)`` returns the trace: a string with one letter of
    :data:`TRACE_LETTERS` per node, in ``plan.nodes`` order. A node shared by several
    conditions (a definition, a finding) is one node, evaluated once. ``plan.outcome``
    reads a node's :class:`Outcome` tree back from a trace, for explanations.

    The generated function is straight-line Python written from the nodes (fact names and
    operators of a validated knowledge base; values are passed as constants, never as
    text), so tracing a patient costs one pass over the nodes with no interpretation.
    """

    def __init__(self, roots: Sequence[Condition], resolve: Resolver) -> None:
        self.nodes: list[Condition] = []
        self.children: list[tuple[int, ...]] = []
        self.index: dict[Condition, int] = {}
        self._resolve = resolve
        for root in roots:
            self._add(root)
        self.run: Callable[[Mapping[str, Any]], str] = self._generate()

    def _kids(self, node: Condition) -> tuple[Condition, ...]:
        if isinstance(node, All | Any_):
            return node.items
        if isinstance(node, Not):
            return (node.item,)
        if isinstance(node, FindingRef | Ref):
            return (self._resolve(node),)
        return ()

    def _add(self, root: Condition) -> None:
        # Post-order without recursion: a node is numbered after all its children.
        stack: list[tuple[Condition, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if node in self.index:
                continue
            kids = self._kids(node)
            if expanded:
                self.index[node] = len(self.nodes)
                self.nodes.append(node)
                self.children.append(tuple(self.index[kid] for kid in kids))
                continue
            stack.append((node, True))
            stack.extend((kid, False) for kid in reversed(kids) if kid not in self.index)

    def _generate(self) -> Callable[[Mapping[str, Any]], str]:
        # Each node's value is held as its trace letter ("t", "f" or "u"), so the trace is
        # the join of the values; a node with if_unknown also keeps its raw value, for its
        # letter ("p"/"a" where UNKNOWN was counted), and a finding or named condition with
        # no if_unknown is the very value of what it stands for. The letters are the
        # function's own locals (T, F, U, P, A) and every value is one of them, so values are
        # compared by identity.
        namespace: dict[str, Any] = {"MISSING": MISSING}
        lines = [
            "def trace(f, T='t', F='f', U='u', P='p', A='a', M=MISSING):",
            " g = f.get",
        ]
        names: list[str] = []  # the variable holding each node's value
        letters: list[str] = []
        read: dict[str, str] = {}  # each fact compared is read once, into its own variable
        for node in self.nodes:
            if isinstance(node, Compare) and node.fact not in read:
                read[node.fact] = f"x{len(read)}"
                lines.append(f" {read[node.fact]} = g({node.fact!r}, M)")
        for i, node in enumerate(self.nodes):
            kids = [names[j] for j in self.children[i]]
            if isinstance(node, FindingRef | Ref) and node.if_unknown is None:
                names.append(kids[0])
                letters.append(kids[0])
                continue
            raw = f"r{i}" if node.if_unknown is not None else f"v{i}"
            if isinstance(node, Compare):
                namespace[f"c{i}"] = node.value
                python = OPERATORS[node.op].python
                x = read[node.fact]
                lines.append(f" {raw} = U if {x} is M else (T if {x} {python} c{i} else F)")
            elif isinstance(node, Known):
                test = "in" if node.known else "not in"
                lines.append(f" {raw} = T if {node.fact!r} {test} f else F")
            elif isinstance(node, All | Any_):
                stop, go = ("F", "T") if isinstance(node, All) else ("T", "F")
                stops = " or ".join(f"{k} is {stop}" for k in kids)
                unknowns = " or ".join(f"{k} is U" for k in kids)
                lines.append(f" {raw} = {stop} if ({stops}) else (U if ({unknowns}) else {go})")
            elif isinstance(node, Not):
                k = kids[0]
                lines.append(f" {raw} = U if {k} is U else (F if {k} is T else T)")
            else:  # a finding or a named condition with if_unknown
                lines.append(f" {raw} = {kids[0]}")
            names.append(f"v{i}")
            if node.if_unknown is None:
                letters.append(f"v{i}")
            else:
                counted, value = ("P", "T") if node.if_unknown else ("A", "F")
                lines.append(f" v{i} = {value} if r{i} is U else r{i}")
                letters.append(f"({counted} if r{i} is U else r{i})")
        lines.append(f" return ''.join(({', '.join(letters)},))")
        code = compile("\n".join(lines), "<rsa_rules condition trace>", "exec")
        exec(code, namespace)  # noqa: S102 - code written above from validated condition nodes
        function: Callable[[Mapping[str, Any]], str] = namespace["trace"]
        return function

    def value(self, node: Condition, trace: str) -> Tri:
        """A node's value in a trace."""
        return TRACE_LETTERS[trace[self.index[node]]][0]

    def outcome(self, node: Condition, trace: str, memo: dict[Condition, Outcome]) -> Outcome:
        """A node's outcome tree, read from a trace (shared subtrees are read once)."""
        hit = memo.get(node)
        if hit is not None:
            return hit
        i = self.index[node]
        value, raw = TRACE_LETTERS[trace[i]]
        children = [self.outcome(self.nodes[j], trace, memo) for j in self.children[i]]
        outcome = Outcome(node, value, raw, children)
        memo[node] = outcome
        return outcome
