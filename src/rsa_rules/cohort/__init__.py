"""Cohorts: many patients evaluated in parallel processes, audited, on Dask.

* :func:`evaluate_many` (also ``rsa_rules.evaluate_many``): a cohort evaluated in input
  order, streaming, on worker processes; one :class:`CohortResult` per record, an error
  result naming the field for invalid facts.
* :func:`audit_jsonl` (``rsa-rules audit``): JSON Lines in, Parquet audit rows (one per
  patient per recommendation; :data:`ROW_COLUMNS`) and an :class:`AdherenceSummary` out.
* :mod:`rsa_rules.cohort.frames`: pandas DataFrames of a cohort and of an audit.
* :mod:`rsa_rules.cohort.notebook`: bar charts of alerts and rules (an evaluation's own HTML
  and frame are in :mod:`rsa_rules.rendering`).
* :mod:`rsa_rules.cohort.on_dask`: the same audit on a Dask cluster.

pandas, pyarrow, tqdm, matplotlib and Dask come with ``pip install 'rsa-rules[cohort]'``;
they are imported only by the functions that use them.
"""

from __future__ import annotations

from .audit import audit_jsonl
from .parallel import evaluate_many
from .records import (
    ROW_COLUMNS,
    AdherenceSummary,
    CohortResult,
    FindingRow,
    RecommendationRow,
    Record,
)

__all__ = [
    "ROW_COLUMNS",
    "AdherenceSummary",
    "CohortResult",
    "FindingRow",
    "RecommendationRow",
    "Record",
    "audit_jsonl",
    "evaluate_many",
]
