"""The trace of a knowledge base: every condition it evaluates, numbered once.

An evaluation records the three-valued outcome of every condition node of every rule (its
``condition_trace``, see :class:`~rsa_rules.knowledge.conditions.TracePlan`), computed
from the same engine facts durable_rules receives. durable_rules decides what fires;
:meth:`KnowledgeTrace.check` holds the fired set against the trace at every evaluation,
and explanations, ``why_not`` and ``trace()`` read the trace, never evaluate again.

The roots, in order: for each rule in force (cautions included), its condition, its
indication, its blockers, its alert conditions and the conditions of its extra notes and
emphasised cautions; then the scope guards (an ordered treatment's stated other reason).
The node numbering depends only on the knowledge base, so a trace is read back with the
knowledge base its digest names.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from ..errors import EngineError
from .compiler import ALERT_SUFFIX, INDICATION_SUFFIX, alert_condition, alert_interventions
from .conditions import Compare, Condition, TracePlan, Tri
from .loader import REASON_OTHER, KnowledgeBase, Rule, reason_fact

__all__ = ["KnowledgeTrace"]

_HOLDS = frozenset("tp")


class KnowledgeTrace:
    """The trace plan of a knowledge base, and which compiled rule each node decides."""

    def __init__(self, kb: KnowledgeBase, compiled_names: Iterable[str] = ()) -> None:
        """``compiled_names``: the rules of the compiled ruleset, for :meth:`check` (an
        explainer that only reads traces needs none: the numbering is the same)."""
        self.kb = kb
        self.alerts: dict[tuple[str, str], Condition] = {}
        self.outside_scope: dict[str, Condition] = {
            item.id: Compare(reason_fact(item.id), "eq", REASON_OTHER)
            for item in kb.interventions.values()
            if item.other_indications
        }
        roots: list[Condition] = []
        for rule in kb.rules:
            roots.extend(self._roots(rule))
        roots.extend(self.outside_scope.values())
        self.plan = TracePlan(roots, kb.resolve)
        fires: list[tuple[str, int]] = []
        for name in compiled_names:
            node = self._decides(name)
            if node is not None:
                fires.append((name, self.plan.index[node]))
        self.fires: tuple[tuple[str, int], ...] = tuple(fires)

    def _roots(self, rule: Rule) -> Sequence[Condition]:
        roots = [rule.condition, rule.indication, *rule.blockers]
        if rule.kind != "caution":
            for intervention in alert_interventions(self.kb, rule):
                node = alert_condition(rule, intervention)
                self.alerts[(rule.id, intervention)] = node
                roots.append(node)
        roots.extend(cond for cond, _ in rule.notes_when)
        roots.extend(cond for cond, _ in rule.emphasis)
        return roots

    def _decides(self, name: str) -> Condition | None:
        """The node whose truth makes durable_rules fire the compiled rule ``name``."""
        if ALERT_SUFFIX in name:
            rule_id, intervention = name.split(ALERT_SUFFIX, 1)
            return self.alerts[(rule_id, intervention)]
        if name.endswith(INDICATION_SUFFIX):
            return self.kb.rules_by_id[name.removesuffix(INDICATION_SUFFIX)].indication
        rule = self.kb.rules_by_id.get(name)
        return None if rule is None else rule.condition

    def check(self, trace: str, fired: Sequence[str]) -> None:
        """Raise :class:`~rsa_rules.EngineError` unless durable_rules fired exactly the
        compiled rules whose deciding node is true in the trace, each once."""
        expected = {name for name, index in self.fires if trace[index] in _HOLDS}
        if len(fired) == len(expected) and expected.issuperset(fired):
            return
        twice = sorted(name for name, count in Counter(fired).items() if count > 1)
        extra = sorted(set(fired) - expected)
        missing = sorted(expected - set(fired))
        parts = [
            *(f"{name} fired but its condition is {self._value(name, trace)}" for name in extra),
            *(f"{name} did not fire but its condition is true" for name in missing),
            *(f"{name} fired more than once" for name in twice),
        ]
        raise EngineError(
            "durable_rules and the condition trace disagree (an engine defect; nothing is "
            "reported for this patient): " + "; ".join(parts)
        )

    def _value(self, name: str, trace: str) -> str:
        node = self._decides(name)
        return "not in the knowledge base" if node is None else self.plan.value(node, trace).value

    def holds(self, node: Condition, trace: str) -> bool:
        return self.plan.value(node, trace) is Tri.TRUE
