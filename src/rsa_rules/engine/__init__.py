"""The engine: validated facts in, explained recommendations out.

``Engine`` loads and compiles a knowledge base once, registers it on this process's private
durable_rules host, and evaluates patients. It is safe to share between threads (evaluations
are serialised inside the durable_rules adapter); to use more cores, use processes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .._compat import Traversable
from ..errors import FactsError, UnknownInterventionError
from ..knowledge.compiler import (
    FACT_MARKER,
    SESSION_RULE,
    CompiledKnowledge,
    compile_knowledge,
    encode_record,
)
from ..knowledge.loader import KnowledgeBase, load_knowledge
from ..knowledge.names import normalise
from ..knowledge.trace import KnowledgeTrace
from ..limits import oversize
from ..models.facts import PatientFacts
from ..models.results import DataNote, Evaluation
from ._durable import Dispatch, DurableRuleset
from .explain import Explainer
from .facts import EngineFact, FactDeriver

__all__ = [
    "Engine",
    "default_engine",
    "facts_json_schema",
    "future_dates",
    "loss_count_below_listed",
    "unknown_vocabulary",
    "validate_facts",
]


class Engine:
    """A knowledge base, compiled and ready: ``Engine().evaluate(facts)``."""

    def __init__(self, knowledge: KnowledgeBase | str | Path | Traversable | None = None) -> None:
        self.knowledge: KnowledgeBase = (
            knowledge if isinstance(knowledge, KnowledgeBase) else load_knowledge(knowledge)
        )
        self.compiled: CompiledKnowledge = compile_knowledge(self.knowledge)
        self._deriver = FactDeriver(self.knowledge)
        self.trace_plan = KnowledgeTrace(self.knowledge, self.compiled.ruleset)
        self._trace = self.trace_plan.plan.run
        self._explainer = Explainer(self.knowledge, self.trace_plan)
        self._ruleset = DurableRuleset(
            self.compiled.name,
            self.compiled.ruleset,
            [(s.marker, s.outputs, s.reads, s.guards) for s in self.compiled.strata],
            SESSION_RULE,
            FACT_MARKER,
        )

    def evaluate(
        self, facts: Mapping[str, Any] | PatientFacts, as_of: date | None = None
    ) -> Evaluation:
        """Evaluate one patient. Invalid facts raise :class:`~rsa_rules.FactsError`.

        ``as_of`` is the evaluation date (default: today); a result or loss dated after it is
        invalid.

        durable_rules decides what fires; the outcome of every condition node is recorded
        as the evaluation's ``condition_trace`` from the same engine facts, and the two are
        compared here: a disagreement raises :class:`~rsa_rules.EngineError` (an engine
        defect), never a result.
        """
        patient = validate_facts(facts, as_of, self.knowledge)
        derived = self._deriver.derive(patient)
        values = {name: fact.value for name, fact in derived.items()}
        trace = self._trace(values)
        fired = self._ruleset.run(encode_record(self.knowledge, values))
        self.trace_plan.check(trace, fired)
        notes = [DataNote(path=path, note=note) for path, note in self._deriver.notes(patient)]
        return self._explainer.build(patient.id, derived, fired, values, trace, notes)

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


@lru_cache(maxsize=1)
def default_engine() -> Engine:
    """The engine of the default knowledge base, built once per process."""
    return Engine()


def validate_facts(
    facts: Mapping[str, Any] | PatientFacts,
    as_of: date | None = None,
    knowledge: KnowledgeBase | None = None,
) -> PatientFacts:
    """Validate a facts document; every problem is named by its field path.

    ``as_of`` (default: today) is the evaluation date: a date after it is an error.
    ``knowledge`` (default: the bundled knowledge base) names the interventions a treatment
    may be: an id outside its vocabulary is an error.
    """
    if as_of is not None and (isinstance(as_of, datetime) or not isinstance(as_of, date)):
        raise TypeError(f"as_of must be a datetime.date, not {type(as_of).__name__}")
    if isinstance(facts, PatientFacts):
        patient = facts
    elif not isinstance(facts, Mapping):
        raise FactsError([("", f"facts must be a JSON object, not {type(facts).__name__}")])
    else:
        too_big = oversize(facts)  # refused before validation: bounded time and memory
        if too_big is not None:
            raise FactsError([too_big])
        try:
            patient = PatientFacts.model_validate(dict(facts))
        except ValidationError as error:
            problems = [(_path(item["loc"]), _message(item["msg"])) for item in error.errors()]
            # Every problem at once: the vocabulary's too, read from the document as given.
            seen = {path for path, _ in problems}
            kb = knowledge or default_engine().knowledge
            problems.extend(
                problem
                for problem in _vocabulary_problems(_vocabulary_words(facts), kb)
                if problem[0] not in seen
            )
            raise FactsError(problems) from None
    kb = knowledge or default_engine().knowledge
    problems = loss_count_below_listed(patient, kb)
    problems.extend(unknown_vocabulary(patient, kb))
    problems.extend(future_dates(patient, as_of or date.today()))
    if problems:
        raise FactsError(problems)
    return patient


def loss_count_below_listed(patient: PatientFacts, kb: KnowledgeBase) -> list[tuple[str, str]]:
    """``loss_count`` smaller than the losses listed that count (every kind but the knowledge
    base's ``uncounted_loss_kinds``): the two disagree, and neither is taken."""
    history = patient.pregnancy_history
    if history is None or history.loss_count is None or not history.losses:
        return []
    uncounted = kb.parameter("uncounted_loss_kinds")
    listed = sum(1 for loss in history.losses if loss.kind not in uncounted)
    if history.loss_count >= listed:
        return []
    return [
        (
            "pregnancy_history.loss_count",
            f"loss_count is {history.loss_count} but {listed} counted losses are listed in "
            f"losses ({', '.join(uncounted)} excluded); loss_count may not be smaller",
        )
    ]


_Word = tuple[str, str, str]  # (input path, which vocabulary, the word given)


def _vocabulary_words(facts: Mapping[str, Any] | PatientFacts) -> list[_Word]:
    """Every word of the facts that names a vocabulary entry: the kind of each listed loss,
    the intervention and status of each treatment. Read from the model, or from a document
    as given (then only what is text is read: the model reports the rest)."""
    if isinstance(facts, PatientFacts):
        history = facts.pregnancy_history
        found: list[_Word] = [
            (f"pregnancy_history.losses.{index}.kind", "kind", loss.kind)
            for index, loss in enumerate((history.losses or ()) if history else ())
            if loss.kind is not None
        ]
        for index, treatment in enumerate(facts.treatments or ()):
            found.append(
                (f"treatments.{index}.intervention", "intervention", treatment.intervention)
            )
            found.append((f"treatments.{index}.status", "status", treatment.status))
        return found
    history_doc = facts.get("pregnancy_history")
    losses = history_doc.get("losses") if isinstance(history_doc, Mapping) else None
    treatments = facts.get("treatments")
    words: list[_Word] = []
    for name, items, fields in (
        ("pregnancy_history.losses", losses, ("kind",)),
        ("treatments", treatments, ("intervention", "status")),
    ):
        if not isinstance(items, list | tuple):
            continue
        for index, item in enumerate(items):
            if not isinstance(item, Mapping):
                continue
            for field in fields:
                value = item.get(field)
                if isinstance(value, str):
                    words.append((f"{name}.{index}.{field}", field, value))
    return words


def _vocabulary_problems(words: Sequence[_Word], kb: KnowledgeBase) -> list[tuple[str, str]]:
    """The words that are not in the knowledge base's vocabulary, each with its path."""
    where = f"{kb.name} {kb.version}"
    problems: list[tuple[str, str]] = []
    for path, field, word in words:
        if field == "intervention" and word not in kb.interventions:
            named = kb.intervention_names.get(normalise(word))
            problems.append(
                (
                    path,
                    f"{word!r} is a name of the intervention {named!r}, not its id: the facts "
                    f"take the id (knowledge base {where})"
                    if named is not None
                    else UnknownInterventionError(
                        word, list(kb.interventions), knowledge=where
                    ).args[0],
                )
            )
        elif field == "status" and word not in kb.statuses:
            known = ", ".join(kb.statuses)
            problems.append(
                (path, f"unknown status {word!r} in knowledge base {where} (known: {known})")
            )
        elif field == "kind" and word not in kb.loss_kinds:
            known = ", ".join(kb.loss_kinds)
            problems.append(
                (
                    path,
                    f"unknown kind of loss {word!r} in knowledge base {where} (known: {known})",
                )
            )
    return problems


def unknown_vocabulary(patient: PatientFacts, kb: KnowledgeBase) -> list[tuple[str, str]]:
    """Every kind of loss, intervention and treatment status of the facts that is not in the
    knowledge base's vocabulary, by path. A known name of an intervention that is not its id
    ("aspirin") is named with its id: the facts take ids only."""
    return _vocabulary_problems(_vocabulary_words(patient), kb)


def facts_json_schema(kb: KnowledgeBase | None = None) -> dict[str, Any]:
    """The JSON Schema of the facts format, with the intervention ids and the treatment
    statuses of ``kb`` (default: the bundled knowledge base) as their ``enum``."""
    knowledge = kb or default_engine().knowledge
    schema = PatientFacts.model_json_schema()
    treatment = schema["$defs"]["Treatment"]["properties"]
    treatment["intervention"]["enum"] = list(knowledge.interventions)
    treatment["status"]["enum"] = list(knowledge.statuses)
    kind = schema["$defs"]["PregnancyLoss"]["properties"]["kind"]["anyOf"][0]
    kind["enum"] = list(knowledge.loss_kinds)
    return schema


def future_dates(patient: PatientFacts, as_of: date) -> list[tuple[str, str]]:
    """Every date of the facts that lies after ``as_of``, by field path."""
    dated: list[tuple[str, date | None]] = []
    history = patient.pregnancy_history
    if history is not None and history.losses is not None:
        dated.extend(
            (f"pregnancy_history.losses.{i}.date", loss.date)
            for i, loss in enumerate(history.losses)
        )
    apl = patient.antiphospholipid
    if apl is not None and apl.results is not None:
        dated.extend(
            (f"antiphospholipid.results.{i}.date", result.date)
            for i, result in enumerate(apl.results)
        )
    return [
        (path, f"{day.isoformat()} is after the evaluation date {as_of.isoformat()}")
        for path, day in dated
        if day is not None and day > as_of
    ]


def _path(loc: tuple[int | str, ...]) -> str:
    # Drop pydantic's union branch labels (e.g. "function-before[...]") from paths.
    return ".".join(str(p) for p in loc if not (isinstance(p, str) and "[" in p))


def _message(msg: str) -> str:
    msg = msg.removeprefix("Value error, ")
    return msg.replace("a valid tuple", "a list").replace(
        "Extra inputs are not permitted", "unknown field (not in the facts format)"
    )
