"""An evaluation as a pandas DataFrame (``Evaluation.to_frame()``; needs rsa-rules[cohort]):
one row per recommendation, with its explanation and sources as text."""

from __future__ import annotations

from typing import Any

from ..models.results import Evaluation, Reason

__all__ = ["EVALUATION_COLUMNS", "evaluation_frame"]

EVALUATION_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "rank",
    "rule_id",
    "rule_version",
    "action",
    "intervention",
    "intervention_label",
    "alert",
    "alert_certainty",
    "summary",
    "evidence",
    "because",
    "cautions",
    "citations",
)


def evaluation_frame(evaluation: Evaluation) -> Any:
    """One row per recommendation, alerts first (``Evaluation.to_frame()``).

    ``because`` is the explanation as one line per reason (``; ``-separated, nested reasons
    in brackets), ``cautions`` the cautions joined, ``citations`` the source ids joined.
    """
    import pandas as pd

    rows = [
        (
            evaluation.patient_id,
            rank,
            rec.rule_id,
            rec.rule_version,
            rec.action,
            rec.intervention,
            rec.intervention_label,
            rec.alert,
            rec.alert_certainty,
            rec.summary,
            rec.evidence.grade,
            "; ".join(_reason_text(r) for r in rec.because),
            " | ".join(rec.cautions),
            ", ".join(c.id for c in rec.citations),
        )
        for rank, rec in enumerate(evaluation.recommendations, 1)
    ]
    frame = pd.DataFrame(rows, columns=list(EVALUATION_COLUMNS))
    return frame.astype(
        {
            "patient_id": "string",
            "rank": "Int64",
            "rule_version": "Int64",
            "alert": "boolean",
            **{
                c: "string"
                for c in EVALUATION_COLUMNS
                if c not in ("patient_id", "rank", "rule_version", "alert")
            },
        }
    )


def _reason_text(reason: Reason) -> str:
    if not reason.because:
        return reason.text
    return f"{reason.text} [{'; '.join(_reason_text(r) for r in reason.because)}]"
