"""Cohorts: many patients evaluated in parallel processes, audited, on Dask.

* :func:`evaluate_many` (also ``rsa_rules.evaluate_many``): a cohort evaluated in input
  order, streaming, on worker processes; one :class:`CohortResult` per record, an error
  result naming the field for invalid facts.
* :func:`audit_jsonl` (``rsa-rules audit``): JSON Lines in, Parquet audit rows (one per
  patient per recommendation; :data:`ROW_COLUMNS`) and an :class:`AdherenceSummary` out.
* :mod:`rsa_rules.cohort.frames`: pandas DataFrames of an evaluation, a cohort, an audit.
* :mod:`rsa_rules.cohort.notebook`: HTML for notebooks, bar charts of alerts and rules.
* :mod:`rsa_rules.cohort.on_dask`: the same audit on a Dask cluster.

pandas, pyarrow, tqdm, matplotlib and Dask come with ``pip install 'rsa-rules[cohort]'``;
they are imported only by the functions that use them.
"""

from __future__ import annotations

from typing import Any

from ..models.results import Evaluation, register_renderer
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


def _frame(evaluation: Evaluation) -> Any:
    # Imported when first used: pandas comes with the cohort extra.
    from .frames import evaluation_frame

    return evaluation_frame(evaluation)


def _html(evaluation: Evaluation) -> str:
    from .notebook import evaluation_html

    return evaluation_html(evaluation)


register_renderer("frame", _frame)
register_renderer("html", _html)

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
