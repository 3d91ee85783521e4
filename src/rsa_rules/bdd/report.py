"""What a failed scenario check says: what was expected, what the engine answered (every
recommendation with its rule and action, every finding) and the engine's own reasons, in
words a clinician can read."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..models.results import Evaluation, Reason, Recommendation
from .vocabulary import ScenarioError

__all__ = [
    "GuidanceMismatch",
    "describe_evaluation",
    "describe_recommendation",
    "indent",
    "reason_lines",
]


class GuidanceMismatch(ScenarioError):
    """The engine's answer is not what the scenario expects.

    ``expected`` says what the step asked for, ``answered`` what the engine gave (every
    recommendation with its rule and action), ``explanation`` the engine's own reasons.
    """

    def __init__(self, expected: str, answered: str, explanation: str = "") -> None:
        self.expected = expected
        self.answered = answered
        self.explanation = explanation
        parts = [f"Expected: {expected}", "The engine answered:", indent(answered)]
        if explanation:
            parts += ["Explanation:", indent(explanation)]
        super().__init__("\n".join(parts))


def indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line if line else line for line in text.rstrip().splitlines())


def describe_evaluation(evaluation: Evaluation) -> str:
    """Every recommendation (alerts first, with rule and action) and every finding."""
    lines: list[str] = []
    if not evaluation.recommendations:
        lines.append("no recommendations")
    for number, rec in enumerate(evaluation.recommendations, 1):
        flag = "ALERT: " if rec.alert else ""
        lines.append(
            f"{number}. {flag}{rec.summary} [{rec.rule_id}; {rec.action}: {rec.intervention_label}]"
        )
    found = ", ".join(_finding_text(f.id, f.value) for f in evaluation.findings)
    lines.append(f"findings: {found or 'none'}")
    return "\n".join(lines)


def _finding_text(finding_id: str, value: Any) -> str:
    return finding_id if value in (None, True) else f"{finding_id} ({value})"


def describe_recommendation(rec: Recommendation) -> str:
    """One recommendation with its rule, reasons (down to the input paths) and sources."""
    flag = "ALERT: " if rec.alert else ""
    lines = [
        f"{flag}{rec.summary}",
        f"{rec.action}: {rec.intervention_label}; rule {rec.rule_id} v{rec.rule_version}; "
        f"evidence: {rec.evidence.grade}",
    ]
    if rec.detail:
        lines.append(rec.detail)
    if rec.because:
        lines.append("because:")
        lines.extend(reason_lines(rec.because, 1))
    lines.extend(f"note: {note}" for note in [*rec.notes, *rec.evidence.notes])
    lines.extend(
        f"conflicting evidence [{c.citation.id}]: {c.finding}" for c in rec.evidence.conflicts
    )
    for claim in rec.evidence.contradicted_claims:
        by = ", ".join(c.id for c in claim.contradicted_by)
        lines.append(
            f'contradicted claim [{claim.citation.id}]: "{claim.claim}" (contradicted by {by})'
        )
    lines.extend(f"caution: {caution}" for caution in rec.cautions)
    lines.append("sources: " + ", ".join(c.id for c in rec.citations))
    return "\n".join(lines)


def reason_lines(reasons: Iterable[Reason], depth: int) -> list[str]:
    lines: list[str] = []
    for reason in reasons:
        paths = f"  [{', '.join(reason.paths)}]" if reason.paths else ""
        lines.append("    " * depth + f"- {reason.text}{paths}")
        lines.extend(reason_lines(reason.because, depth + 1))
    return lines
