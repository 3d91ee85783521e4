"""The engine: validated facts in, explained recommendations out.

``Engine`` loads and compiles a knowledge base once, registers it on this process's private
durable_rules host, and evaluates patients. It is safe to share between threads (evaluations
are serialised inside the durable_rules adapter); to use more cores, use processes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .._compat import Traversable
from ..errors import FactsError
from ..explain import Explainer
from ..knowledge.compiler import (
    FACT_MARKER,
    SESSION_RULE,
    CompiledKnowledge,
    compile_knowledge,
    encode_record,
)
from ..knowledge.loader import KnowledgeBase, load_knowledge
from ..models.facts import PatientFacts
from ..models.results import Evaluation
from ._durable import Dispatch, DurableRuleset
from .facts import EngineFact, FactDeriver

__all__ = ["Engine", "validate_facts"]


class Engine:
    """A knowledge base, compiled and ready: ``Engine().evaluate(facts)``."""

    def __init__(self, knowledge: KnowledgeBase | str | Path | Traversable | None = None) -> None:
        self.knowledge: KnowledgeBase = (
            knowledge if isinstance(knowledge, KnowledgeBase) else load_knowledge(knowledge)
        )
        self.compiled: CompiledKnowledge = compile_knowledge(self.knowledge)
        self._deriver = FactDeriver(self.knowledge)
        self._explainer = Explainer(self.knowledge)
        self._ruleset = DurableRuleset(
            self.compiled.name,
            self.compiled.ruleset,
            [(s.marker, s.outputs, s.reads, s.guards) for s in self.compiled.strata],
            SESSION_RULE,
            FACT_MARKER,
        )

    def evaluate(self, facts: Mapping[str, Any] | PatientFacts) -> Evaluation:
        """Evaluate one patient. Invalid facts raise :class:`~rsa_rules.FactsError`."""
        patient = validate_facts(facts)
        derived = self._deriver.derive(patient)
        values = {name: fact.value for name, fact in derived.items()}
        fired = self._ruleset.run(encode_record(self.knowledge, values))
        return self._explainer.build(patient.id, derived, fired, values)

    def derive(self, patient: PatientFacts) -> dict[str, EngineFact]:
        """The engine facts the rules read, each with its input paths."""
        return self._deriver.derive(patient)

    def run_rules(
        self,
        derived: Mapping[str, EngineFact],
        *,
        dispatch: Dispatch = "direct",
        on_fire: Callable[[str], None] | None = None,
    ) -> list[str]:
        """Run durable_rules on derived facts; the names of the rules that fired, in order."""
        record = encode_record(self.knowledge, {k: f.value for k, f in derived.items()})
        return self._ruleset.run(record, dispatch=dispatch, on_fire=on_fire)

    @cached_property
    def interventions(self) -> tuple[str, ...]:
        return tuple(self.knowledge.interventions)


def validate_facts(facts: Mapping[str, Any] | PatientFacts) -> PatientFacts:
    """Validate a facts document; every problem is named by its field path."""
    if isinstance(facts, PatientFacts):
        return facts
    if not isinstance(facts, Mapping):
        raise FactsError([("", f"facts must be a JSON object, not {type(facts).__name__}")])
    try:
        return PatientFacts.model_validate(dict(facts))
    except ValidationError as error:
        raise FactsError(
            [(_path(item["loc"]), _message(item["msg"])) for item in error.errors()]
        ) from None


def _path(loc: tuple[int | str, ...]) -> str:
    # Drop pydantic's union branch labels (e.g. "function-before[...]") from paths.
    return ".".join(str(p) for p in loc if not (isinstance(p, str) and "[" in p))


def _message(msg: str) -> str:
    msg = msg.removeprefix("Value error, ")
    return msg.replace("a valid tuple", "a list").replace(
        "Extra inputs are not permitted", "unknown field (not in the facts format)"
    )
