"""pandas DataFrames: one evaluation, a cohort, a Parquet audit (needs rsa-rules[cohort]).

One evaluation's frame is :func:`rsa_rules.rendering.frames.evaluation_frame`.

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
    pass

__all__ = [
    "DTYPES",
    "cohort_frame",
    "empty_audit_frame",
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
