"""What the FHIR reader gives: the facts, where each came from, and what was not used.

:class:`FhirFacts` holds the :class:`~rsa_rules.PatientFacts` read from FHIR with the
references of the resources behind every input path, the resources not used and why
(:class:`UnusedResource`), and how things were read (:class:`AdapterNote`). It rewrites an
evaluation's explanation paths into those references (``antiphospholipid.results.1`` ->
``Observation/la-2``) and evaluates the facts. The reading itself is
:func:`rsa_rules.adapters.fhir.facts_from_bundle`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..engine import default_engine
from ..models.facts import PatientFacts
from ..models.results import Reason

if TYPE_CHECKING:
    from ..engine import Engine
    from ..models.results import Evaluation

__all__ = ["AdapterNote", "FhirFacts", "NoteKind", "UnusedResource", "UnusedStatus"]

UnusedStatus = Literal["unrecognised", "invalid", "not-used"]


@dataclass(frozen=True)
class UnusedResource:
    """A resource the adapter did not turn into facts, and why.

    ``status`` is ``unrecognised`` (no code list names it, or a resource type the adapter does
    not read), ``invalid`` (not valid FHIR R4), or ``not-used`` (recognised as ``concept`` but
    not usable: its status, its value, another patient, a conflict).
    """

    reference: str
    resource_type: str
    status: UnusedStatus
    reason: str
    concept: str | None = None

    def to_dict(self) -> dict[str, str]:
        out = {
            "reference": self.reference,
            "resource_type": self.resource_type,
            "status": self.status,
            "reason": self.reason,
        }
        if self.concept:
            out["concept"] = self.concept
        return out


NoteKind = Literal["text-match", "assumption", "conflict", "merged", "count"]


@dataclass(frozen=True)
class AdapterNote:
    """How something was read: a reading from text, an assumption, a merge or a conflict.

    ``paths`` are the facts input paths it concerns (empty when it concerns none).
    """

    kind: NoteKind
    text: str
    references: tuple[str, ...]
    paths: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "text": self.text,
            "references": list(self.references),
        }
        if self.paths:
            out["paths"] = list(self.paths)
        return out


@dataclass(frozen=True)
class FhirFacts:
    """Patient facts read from FHIR, with where every fact came from and what was not used."""

    facts: PatientFacts
    sources: Mapping[str, tuple[str, ...]]
    unused: tuple[UnusedResource, ...]
    notes: tuple[AdapterNote, ...]
    patient: str | None = None
    read: tuple[str, ...] = field(default=())
    gender: str | None = None
    deceased: str | None = None
    withheld: str | None = None
    """Why no advice is given for this patient (deceased; recorded male with no pregnancy
    in the record), or None. The CDS Hooks service gives no cards then; the report says why."""

    def references(self, path: str) -> tuple[str, ...]:
        """The resources an input path (as explanations show it) came from.

        An exact path first (``antiphospholipid.results.1``); else every resource under it
        (``treatments``); else the nearest enclosing path that came from FHIR.
        """
        if path in self.sources:
            return self.sources[path]
        prefix = path + "."
        under = [
            ref for key, refs in self.sources.items() if key.startswith(prefix) for ref in refs
        ]
        if under:
            return tuple(dict.fromkeys(under))
        parts = path.split(".")
        while len(parts) > 1:
            parts.pop()
            parent = ".".join(parts)
            if parent in self.sources:
                return self.sources[parent]
        return ()

    def cite_paths(self, paths: Iterable[str]) -> list[str]:
        """Input paths rewritten into resource references; a path not from FHIR is kept."""
        out: list[str] = []
        for path in paths:
            out.extend(self.references(path) or (path,))
        return list(dict.fromkeys(out))

    def cite(self, reasons: Sequence[Reason]) -> list[Reason]:
        """Explanation reasons with their input paths rewritten into resource references."""
        return [
            reason.model_copy(
                update={
                    "paths": self.cite_paths(reason.paths),
                    "because": self.cite(reason.because),
                }
            )
            for reason in reasons
        ]

    def notes_for(self, paths: Iterable[str]) -> list[AdapterNote]:
        """The notes about any of these input paths."""
        wanted = set(paths)
        return [note for note in self.notes if wanted.intersection(note.paths)]

    def evaluate(self, engine: Engine | None = None) -> Evaluation:
        """Evaluate these facts (with the default engine unless one is given)."""
        return (engine or default_engine()).evaluate(self.facts)

    def report(self) -> dict[str, Any]:
        """What was read from where, what was not used and why: JSON-ready."""
        return {
            "patient": self.patient,
            "gender": self.gender,
            "deceased": self.deceased,
            "withheld": self.withheld,
            "read": list(self.read),
            "sources": {path: list(refs) for path, refs in self.sources.items()},
            "unused": [item.to_dict() for item in self.unused],
            "notes": [note.to_dict() for note in self.notes],
        }

    def annotate(self, evaluation: Evaluation) -> dict[str, Any]:
        """``evaluation.to_dict()`` with every explanation path rewritten into resource
        references, and the adapter's report under ``"fhir"``."""
        document: dict[str, Any] = _rewrite_paths(evaluation.to_dict(), self)
        document["fhir"] = self.report()
        if self.withheld is not None:
            document["recommendations"] = []
            document["withheld"] = self.withheld
        return document


def _rewrite_paths(node: Any, read: FhirFacts) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                read.cite_paths(value)
                if key == "paths" and isinstance(value, list)
                else _rewrite_paths(value, read)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_paths(item, read) for item in node]
    return node
