"""pandas DataFrames: one evaluation, a cohort, a Parquet audit (needs rsa-rules[cohort]).

* :func:`evaluation_frame` (``Evaluation.to_frame()``): one row per recommendation of one
  patient, with its explanation and sources as text.
* :func:`cohort_frame`: the audit rows of cohort results (``evaluate_many``), the same rows
  ``rsa-rules audit`` writes, with pandas nullable dtypes (:data:`DTYPES`).
* :func:`read_audit`: a Parquet audit read back with the same dtypes.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .records import ROW_COLUMNS, CohortResult, rows_to_columns

if TYPE_CHECKING:
    from ..models.results import Evaluation, Reason

__all__ = [
    "DTYPES",
    "EVALUATION_COLUMNS",
    "cohort_frame",
    "empty_audit_frame",
    "evaluation_frame",
    "read_audit",
]

DTYPES: dict[str, str] = {
    "source": "string",
    "line": "Int64",
    "patient_id": "string",
    "status": "string",
    "rank": "Int64",
    "rule_id": "string",
    "rule_version": "Int64",
    "action": "string",
    "intervention": "string",
    "alert": "boolean",
    "alert_certainty": "string",
    "summary": "string",
    "error_field": "string",
    "error": "string",
}
"""The pandas dtype of each audit column (nullable: a missing value is ``pd.NA``)."""

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


def cohort_frame(results: Iterable[CohortResult]) -> Any:
    """The audit rows of cohort results, one per patient per recommendation (pandas)."""
    import pandas as pd

    return pd.DataFrame(rows_to_columns(results), columns=list(ROW_COLUMNS)).astype(DTYPES)


def empty_audit_frame() -> Any:
    """An audit frame with no rows and the audit dtypes (e.g. Dask's ``meta``)."""
    return cohort_frame(())


def read_audit(path: str | Path) -> Any:
    """A Parquet audit (``rsa-rules audit --out``) as a DataFrame with :data:`DTYPES`."""
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pandas().astype(DTYPES)
