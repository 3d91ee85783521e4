"""The exceptions rsa-rules raises, one small tree.

::

    RsaRulesError                      base of everything raised on purpose by rsa-rules
    ├── FactsError (ValueError)        patient facts are invalid; names every field path
    ├── KnowledgeError (ValueError)    a knowledge base (rules/) is invalid; names file, rule, field
    ├── UnknownInterventionError (ValueError)
    │                                  an intervention id outside the vocabulary (e.g. in why_not)
    ├── FhirError (ValueError)         not readable as FHIR, or whose patient it is is unclear
    ├── JsonTextError (ValueError)     text that is not one strict JSON document; names the path
    └── EngineError (RuntimeError)     the rules engine failed while evaluating valid facts

Bad input never becomes a silent default: it raises ``FactsError`` (a ``ValueError``) whose
``problems`` list holds one ``(path, message)`` pair per offending field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .limits import MAX_PROBLEMS

__all__ = [
    "EngineError",
    "FactsError",
    "FhirError",
    "JsonTextError",
    "KnowledgeError",
    "KnowledgeProblem",
    "RsaRulesError",
    "UnknownInterventionError",
]


class RsaRulesError(Exception):
    """Base class of every error rsa-rules raises on purpose."""


class FactsError(RsaRulesError, ValueError):
    """Patient facts failed validation.

    ``problems`` holds ``(path, message)`` pairs; a path is dotted, list items by index
    (``pregnancy_history.losses.2.gestational_weeks``). At most
    :data:`~rsa_rules.limits.MAX_PROBLEMS` are kept; ``more`` says how many more there were.
    """

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        listed = list(problems)
        # At most MAX_PROBLEMS are kept and shown; ``more`` counts the rest.
        self.problems: list[tuple[str, str]] = listed[:MAX_PROBLEMS]
        self.more: int = len(listed) - len(self.problems)
        lines = [f"{path or '(document)'}: {message}" for path, message in self.problems]
        if self.more:
            lines.append(f"... and {self.more:,} more (only the first {MAX_PROBLEMS} are listed)")
        count = len(listed)
        head = f"invalid patient facts ({count:,} problem{'s' if count != 1 else ''})"
        super().__init__(head + ":\n  " + "\n  ".join(lines))


@dataclass(frozen=True)
class KnowledgeProblem:
    """One problem found in a knowledge base: where it is and what is wrong."""

    file: str
    message: str
    rule_id: str | None = None
    field: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        parts = [where]
        if self.rule_id:
            parts.append(f"rule {self.rule_id}")
        if self.field:
            parts.append(f"field {self.field}")
        return ", ".join(parts) + f": {self.message}"


class KnowledgeError(RsaRulesError, ValueError):
    """A knowledge base is invalid. ``problems`` lists each one with file, rule id and field."""

    def __init__(self, problems: Sequence[KnowledgeProblem]) -> None:
        self.problems: list[KnowledgeProblem] = list(problems)
        count = len(self.problems)
        head = f"invalid knowledge base ({count} problem{'s' if count != 1 else ''})"
        super().__init__(head + ":\n  " + "\n  ".join(str(p) for p in self.problems))


class UnknownInterventionError(RsaRulesError, ValueError):
    """An intervention id that is not in the knowledge base's vocabulary."""

    def __init__(
        self,
        intervention: str,
        known: Sequence[str],
        *,
        spellings: Sequence[str] = (),
        knowledge: str | None = None,
    ) -> None:
        self.intervention = intervention
        self.known = list(known)
        hint = _closest(intervention, [*known, *spellings])
        message = f"unknown intervention {intervention!r}"
        if knowledge:
            message += f" in knowledge base {knowledge}"
        if hint:
            message += f"; did you mean {hint!r}?"
        message += f" (known: {', '.join(known)})"
        super().__init__(message)


class EngineError(RsaRulesError, RuntimeError):
    """The rules engine failed while evaluating valid facts (a bug, never bad input)."""


def _closest(word: str, choices: Sequence[str]) -> str | None:
    import difflib

    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


class FhirError(RsaRulesError, ValueError):
    """Input that cannot be read as FHIR at all (not a resource, a Bundle or a list of them),
    or that is ambiguous about whose data it is (two patients and none chosen)."""


class JsonTextError(RsaRulesError, ValueError):
    """JSON text that cannot be read as one strict JSON document; the message says why.

    ``path`` names the offending field (dotted, list items by index) when there is one,
    else it is empty (the document as a whole).
    """

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.path = path
