"""Checks on how the rules of a loaded knowledge base refer to each other: nothing in force
reads a draft rule (which never fires), and no finding or definition refers to itself
through others."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..errors import KnowledgeProblem
from .conditions import All, Any_, Condition, FindingRef, Not, Ref, references

if TYPE_CHECKING:
    from .loader import KnowledgeBase, Rule

__all__ = ["circular_references", "drafts_in_force"]


def drafts_in_force(kb: KnowledgeBase) -> list[KnowledgeProblem]:
    """A draft rule never fires, so nothing in force may read its finding or indication."""
    problems: list[KnowledgeProblem] = []
    if not kb.drafts:
        return problems
    draft_findings = {rule.spec.finding: rule.id for rule in kb.drafts if rule.spec.finding}
    draft_ids = {rule.id for rule in kb.drafts}

    def drafts_in(node: Condition) -> Iterator[str]:
        for ref in references(node):
            if isinstance(ref, FindingRef) and ref.finding in draft_findings:
                yield f"finding {ref.finding} (of draft rule {draft_findings[ref.finding]})"
            elif isinstance(ref, Ref) and ref.kind == "indication" and ref.name in draft_ids:
                yield f"the indication of draft rule {ref.name}"

    def conditions(rule: Rule) -> Iterator[Condition]:
        yield rule.condition
        yield from rule.blockers
        if rule.alert_unless is not None:
            yield rule.alert_unless
        for condition, _ in (*rule.notes_when, *rule.emphasis):
            yield condition

    for rule in kb.rules:
        used = dict.fromkeys(name for node in conditions(rule) for name in drafts_in(node))
        for name in used:
            problems.append(
                KnowledgeProblem(
                    rule.file,
                    f"reads {name}; a draft rule never fires: make it active or remove the "
                    "reference",
                    rule_id=rule.id,
                    field="when",
                    line=rule.line,
                )
            )
    for name, node in kb.definitions.items():
        for used_name in dict.fromkeys(drafts_in(node)):
            problems.append(
                KnowledgeProblem(
                    "definitions.yaml",
                    f"definition {name} reads {used_name}; a draft rule never fires",
                    field="when",
                )
            )
    return problems


def circular_references(kb: KnowledgeBase) -> list[KnowledgeProblem]:
    """Findings and definitions may refer to each other, but never in a circle."""
    problems: list[KnowledgeProblem] = []
    state: dict[int, int] = {}

    def visit(node: Condition, trail: tuple[str, ...]) -> None:
        if isinstance(node, All | Any_):
            for item in node.items:
                visit(item, trail)
        elif isinstance(node, Not):
            visit(node.item, trail)
        elif isinstance(node, FindingRef | Ref):
            label = node.finding if isinstance(node, FindingRef) else f"{node.kind}:{node.name}"
            if label in trail:
                rule = kb.finding_rules.get(trail[0]) if trail else None
                problems.append(
                    KnowledgeProblem(
                        rule.file if rule else "definitions.yaml",
                        "circular reference: " + " -> ".join((*trail, label)),
                        rule_id=rule.id if rule else None,
                        field="when",
                        line=rule.line if rule else None,
                    )
                )
                return
            target = kb.resolve(node)
            if state.get(id(target)) == 2:
                return
            visit(target, (*trail, label))
            state[id(target)] = 2

    for rule in kb.rules:
        visit(rule.condition, (rule.spec.finding or rule.id,))
    return problems
